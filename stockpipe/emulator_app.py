"""The AWS emulator as a WSGI app for Hypercorn: moto's dispatcher for every service.

Served by Hypercorn rather than moto's Werkzeug server because the KCL daemon's Kinesis
client speaks HTTP/2 only (see docs/emulator.md).

Hypercorn's WSGI adapter (0.18) sends the response start with the first body chunk, so a
response with no chunk at all (every HEAD, and 204s) fails with a 500. The wrapper below
gives every response at least one, possibly empty, chunk.
"""

from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def never_empty(wsgi_app: WsgiApp) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = wsgi_app(environ, start_response)
        try:
            chunks = list(body)  # moto builds its responses in memory anyway
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return chunks or [b""]

    return app


app = never_empty(DomainDispatcherApplication(create_backend_app))
