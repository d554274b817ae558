"""A one-event stand-in for the Lambda Runtime API (the HTTP interface a Lambda container's
runtime client polls): hands out one invocation, records the response or error, then holds
further `next` polls open until closed. AWS's runtime interface emulator is a download from
GitHub, which these machines cannot reach."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stockpipe-trend"


class RuntimeApi:
    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.done = threading.Event()
        self._closed = threading.Event()
        self._handed_out = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # quiet test output
                return

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404, {"errorMessage": self.path})
                if api._handed_out:
                    api._closed.wait()  # a real runtime API long-polls until work arrives
                    return self._reply(410, {"errorMessage": "closed"})
                api._handed_out = True
                body = json.dumps(api.event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
                self.send_header(
                    "Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)
                )
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                self.send_header(
                    "Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"
                )
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                if self.path == f"{PREFIX}/invocation/{REQUEST_ID}/response":
                    api.result = payload
                elif self.path.endswith("/error"):  # invocation or init error
                    api.error = payload
                else:
                    return self._reply(404, {"errorMessage": self.path})
                self._reply(202, {"status": "OK"})
                api.done.set()

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
