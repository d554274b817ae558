"""The lean clients' transport (common/keepalive_http.py) against local HTTP(S) servers:
connections kept and reused, a connection closed while idle replaced without losing the
request, and every failure raised as the botocore exception a boto3 client would raise."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from common.keepalive_http import ConnectionPool


class Echo(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; answers a POST with its body, and counts requests and connections.
    `close_silently`: drop the connection after answering without saying so."""

    protocol_version = "HTTP/1.1"
    requests: list[tuple[int, bytes]]  # (connection number, body)
    connections: list[int]
    close_silently = False
    chunked = False

    def setup(self) -> None:
        super().setup()
        self.connections.append(len(self.connections))
        self.number = self.connections[-1]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.number, body))
        self.send_response(200)
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:3], body[3:]):
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        if self.close_silently:
            self.close_connection = True

    def log_message(self, *_args: Any) -> None:
        pass


def serve(handler: type[Echo], tls: ssl.SSLContext | None = None) -> http.server.HTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def echo() -> Iterator[tuple[type[Echo], str]]:
    handler = type("Handler", (Echo,), {"requests": [], "connections": []})
    server = serve(handler)
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def post(pool: ConnectionPool, body: bytes) -> bytes:
    response = pool.post({"host": pool.host, "x-test": "1"}, body)
    assert response.status == 200
    return response.data


def test_requests_share_one_kept_alive_connection(echo: tuple[type[Echo], str]) -> None:
    handler, url = echo
    pool = ConnectionPool(url)
    assert [post(pool, b"r%d" % i) for i in range(5)] == [b"r%d" % i for i in range(5)]
    assert handler.connections == [0]
    assert handler.requests == [(0, b"r%d" % i) for i in range(5)]


def test_a_connection_closed_while_idle_is_replaced_and_the_request_sent_once(
    echo: tuple[type[Echo], str],
) -> None:
    handler, url = echo
    handler.close_silently = True  # the server drops each connection after its answer
    pool = ConnectionPool(url)
    assert [post(pool, b"r%d" % i) for i in range(3)] == [b"r0", b"r1", b"r2"]
    assert handler.requests == [(0, b"r0"), (1, b"r1"), (2, b"r2")]


def test_a_chunked_answer_is_read_whole(echo: tuple[type[Echo], str]) -> None:
    handler, url = echo
    handler.chunked = True
    pool = ConnectionPool(url)
    assert post(pool, b"chunked body") == b"chunked body"
    assert post(pool, b"again") == b"again"
    assert handler.connections == [0]


def test_concurrent_posts_each_get_their_own_answer(echo: tuple[type[Echo], str]) -> None:
    handler, url = echo
    pool = ConnectionPool(url, max_idle=2)
    answers: dict[int, list[bytes]] = {}

    def worker(n: int) -> None:
        answers[n] = [post(pool, b"%d-%d" % (n, i)) for i in range(20)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n: [b"%d-%d" % (n, i) for i in range(20)] for n in range(6)}
    assert len(handler.requests) == 120


def test_a_refused_connection_raises_endpoint_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(EndpointConnectionError):
        post(ConnectionPool(f"http://127.0.0.1:{port}"), b"x")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare TCP listener the test drives by hand."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def test_a_new_connection_closed_without_an_answer_raises_connection_closed(
    listener: socket.socket,
) -> None:
    def accept_and_close() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=accept_and_close, daemon=True).start()
    with pytest.raises(ConnectionClosedError):
        post(ConnectionPool(f"http://127.0.0.1:{listener.getsockname()[1]}"), b"x")


def test_no_answer_within_the_read_timeout_raises_read_timeout(listener: socket.socket) -> None:
    pool = ConnectionPool(f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout_s=0.2)
    with pytest.raises(ReadTimeoutError):
        post(pool, b"x")  # the kernel accepts the connection; nobody ever answers


def test_the_host_header_carries_the_port_only_when_not_the_default() -> None:
    assert ConnectionPool("https://dynamodb.us-east-1.amazonaws.com").host == (
        "dynamodb.us-east-1.amazonaws.com"
    )
    assert ConnectionPool("https://example.com:443/").host == "example.com"
    assert ConnectionPool("http://example.com:80").host == "example.com"
    assert ConnectionPool("http://127.0.0.1:4566/x/").host == "127.0.0.1:4566"
    assert ConnectionPool("http://127.0.0.1:4566/x/").path == "/x/"
    with pytest.raises(ValueError, match="not an http"):
        ConnectionPool("ftp://example.com")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_echo(certificate: tuple[Path, Path]) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    handler = type("Handler", (Echo,), {"requests": [], "connections": []})
    server = serve(handler, context)
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_https_verifies_the_server_against_the_ca_bundle(
    tls_echo: str, certificate: tuple[Path, Path]
) -> None:
    assert post(ConnectionPool(tls_echo, ca_bundle=str(certificate[0])), b"secret") == b"secret"


def test_https_refuses_a_certificate_the_bundle_does_not_trust(tls_echo: str) -> None:
    with pytest.raises(HTTPClientError, match="CERTIFICATE_VERIFY_FAILED"):
        post(ConnectionPool(tls_echo), b"secret")  # botocore's bundle: public CAs only
