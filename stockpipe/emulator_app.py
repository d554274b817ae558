"""The AWS emulator as an ASGI app for Hypercorn: moto's dispatcher for every service.

It answers only requests addressed to the loopback address and port it serves (Host
header), and without moto's global CORS: nothing authenticates callers here.

Served by Hypercorn rather than moto's Werkzeug server because the KCL daemon's Kinesis
client speaks HTTP/2 only (see docs/emulator.md). moto is a WSGI app; this module bridges it
itself instead of letting Hypercorn's WSGI adapter (0.18) do it, which
- passes no `RAW_URI`, so moto sees only the percent-decoded path and, with IAM enforced,
  computes S3 signatures over `dt=…` where the client signed `dt%3D…` (SignatureDoesNotMatch);
- sends the response start with the first body chunk, so a response with no chunk at all
  (every HEAD, and 204s) failed with a 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

# moto reads this once, when moto.settings is imported: no `Access-Control-Allow-Origin: *`
# on every answer, so a web page in the user's browser cannot read from the emulator
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    create_backend_app,
)

from stockpipe import emulator_resharding

log = logging.getLogger(__name__)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
REFUSED = b"refused: the Host header must name the loopback address and port served\n"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def wsgi_environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """PEP 3333 environ from an ASGI HTTP scope, plus the path exactly as the client sent it."""
    query = scope["query_string"].decode("latin1")
    raw_path = scope.get("raw_path") or scope["path"].encode()
    server_name, server_port = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode().decode("latin1"),
        "RAW_URI": raw_path.decode("latin1") + (f"?{query}" if query else ""),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        key = name if name in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{name}"
        value = raw_value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_wsgi(wsgi_app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[Any], bytes]:
    """Runs the app to completion (moto builds its responses in memory anyway)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [int(status.split(" ", 1)[0]), headers]
        return lambda _chunk: None

    result = wsgi_app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return status, [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers], body


def loopback_host(host: str, port: int) -> bool:
    """True for `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`, `<name>.localhost:PORT`.

    The emulator has no authentication; refusing every other Host header stops a web page
    from reaching it through DNS rebinding (a hostile name that resolves to 127.0.0.1).
    """
    name, _, given_port = host.lower().rpartition(":")
    if given_port != str(port):
        return False
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def scope_host(scope: dict[str, Any]) -> str:
    """The Host header (HTTP/2's :authority arrives as `host` too, Hypercorn maps it)."""
    return next((v.decode("latin1") for k, v in scope.get("headers", []) if k == b"host"), "")


class AsgiBridge:
    def __init__(self, wsgi_app: WsgiApp) -> None:
        self.wsgi_app = wsgi_app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop: acknowledge both
            while True:
                kind = (await receive())["type"]
                await send({"type": f"{kind}.complete"})
                if kind == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        _, port = scope.get("server") or ("", 0)
        host = scope_host(scope)
        if not loopback_host(host, port):
            log.warning("refused a request for Host %r (served: 127.0.0.1:%s)", host, port)
            await send({"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": REFUSED})
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        environ = wsgi_environ(scope, bytes(body))
        status, headers, content = await asyncio.to_thread(call_wsgi, self.wsgi_app, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


emulator_resharding.install()  # resharding as on Kinesis (the KCL needs it)
moto_wsgi = DomainDispatcherApplication(create_backend_app)
app = AsgiBridge(moto_wsgi)
