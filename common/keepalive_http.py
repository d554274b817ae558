"""HTTP/1.1 POSTs over kept-alive connections: the lean JSON clients' transport.

urllib3 spent ~0.2 ms of CPU per request on its general machinery (pool keys, retry and
timeout objects, a liveness poll before each reuse, header and response wrappers) and sent
the head and the body in two writes: with a BatchWriteItem of 25 items that was a third of
the call (docs/performance.md). Our clients only POST a body to one endpoint, so a request
here is one `sendall` of head and body on a pooled socket; the standard library's
`http.client.HTTPResponse` reads the answer (status line, headers, Content-Length or chunked
body). TLS is verified against botocore's CA bundle, as boto3 does by default.

A connection the server closed while idle shows up as a ConnectionError on its next use; the
request is then sent once more on a new connection. That resend is safe only for idempotent
calls (DynamoDB puts and conditional updates, GetRecords with the same iterator: all the lean
clients make). Failures raise botocore's exceptions, as a boto3 client would.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.httpsession import get_cert_path

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message  # case-insensitive `get`
    data: bytes


class ConnectionPool:
    """Kept-alive connections to one endpoint; thread-safe, up to `max_idle` kept between
    requests (more are opened when many threads post at once, and closed after)."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        connect_timeout_s: float = 5,
        read_timeout_s: float = 30,
        max_idle: int = 20,
        ca_bundle: str | None = None,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self.endpoint_url = endpoint_url
        self._address = (parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme])
        # the Host header and the host SigV4 signs: the port only when it is not the default
        self.host = (
            parts.hostname
            if parts.port in (None, _DEFAULT_PORTS[parts.scheme])
            else (f"{parts.hostname}:{parts.port}")
        )
        self.path = parts.path or "/"
        self._tls = (
            ssl.create_default_context(cafile=ca_bundle or get_cert_path(True))
            if parts.scheme == "https"
            else None
        )
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._max_idle = max_idle
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def post(self, headers: dict[str, str], body: bytes) -> Response:
        """One request; `headers` carry Host (`self.host`, as signed) but not Content-Length.
        The whole answer."""
        lines = [f"POST {self.path} HTTP/1.1", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        with self._lock:
            sock = self._idle.pop() if self._idle else None
        if sock is not None:
            try:
                return self._exchange(sock, request)
            except ConnectionError:
                pass  # closed by the server while idle: once more on a new connection
        try:
            return self._exchange(self._connect(), request)
        except ConnectionError as e:
            raise ConnectionClosedError(endpoint_url=self.endpoint_url, error=e) from e

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle wait on the tail
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except TimeoutError as e:
            raise ConnectTimeoutError(endpoint_url=self.endpoint_url, error=e) from e
        except ssl.SSLError as e:
            raise HTTPClientError(error=e) from e
        except OSError as e:
            raise EndpointConnectionError(endpoint_url=self.endpoint_url, error=e) from e
        sock.settimeout(self._read_timeout_s)
        return sock

    def _exchange(self, sock: socket.socket, request: bytes) -> Response:
        keep = False
        try:
            sock.sendall(request)
            response = http.client.HTTPResponse(sock, method="POST")
            response.begin()
            data = response.read()
            keep = not response.will_close
            return Response(response.status, response.headers, data)
        except ConnectionError:
            raise  # the caller tells a stale kept-alive connection from a new one
        except TimeoutError as e:
            raise ReadTimeoutError(endpoint_url=self.endpoint_url, error=e) from e
        except (OSError, http.client.HTTPException) as e:
            raise HTTPClientError(error=e) from e
        finally:
            self._release(sock, keep)

    def _release(self, sock: socket.socket, keep: bool) -> None:
        if keep:
            with self._lock:
                if len(self._idle) < self._max_idle:
                    self._idle.append(sock)
                    return
        sock.close()
