"""Real HTTPS servers on 127.0.0.1 for catalog tests: scripted replies and injected faults (trustme certificates)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import trustme


@dataclass
class Reply:
    """What the server does for one request; the fault fields inject the failures of the test matrix."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # wait before the status line: a read timeout
    drip: float = 0.0  # wait between body pieces: a slow drip
    piece: int = 16
    truncate_at: int | None = None  # announce the whole length, send this many bytes, close
    length: bool = True  # False: no Content-Length; the body ends when the connection closes
    header_drip: float = 0.0  # wait between the bytes of the status line and headers: a slowloris answer


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    connection: int


Script = Callable[[Seen, Any], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer

    def setup(self) -> None:
        self.request.settimeout(5)
        self.tls_ok = True
        try:
            self.request = self.server.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            self.tls_ok = False  # the client refused our certificate: that is the point of some tests
        super().setup()
        self.connection_id = next(self.server.counter)
        self.state: dict[str, Any] = {}

    def handle(self) -> None:
        if self.tls_ok:
            with contextlib.suppress(OSError, ssl.SSLError):
                super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        seen = Seen(method, self.path, {k.lower(): v for k, v in self.headers.items()}, self.connection_id)
        self.server.seen.append(seen)
        reply = self.server.script(seen, self.state)
        stop = self.server.stopping
        if reply.delay and stop.wait(reply.delay):
            return
        if reply.header_drip:
            head = f"HTTP/1.1 {reply.status} OK\r\nContent-Type: application/json\r\n"
            head += "".join(f"X-Slow-{i}: {'x' * 40}\r\n" for i in range(200))
            for byte in head.encode("ascii"):
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if stop.wait(reply.header_drip):
                    return
            return
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        if not reply.length:
            headers["Connection"] = "close"
            self.close_connection = True
        elif "Content-Length" not in headers:
            headers["Content-Length"] = str(len(reply.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        body = reply.body if reply.truncate_at is None else reply.body[: reply.truncate_at]
        if reply.drip:
            for start in range(0, len(body), reply.piece):
                self.wfile.write(body[start : start + reply.piece])
                self.wfile.flush()
                if stop.wait(reply.drip):
                    return
        else:
            self.wfile.write(body)
        self.wfile.flush()
        if reply.truncate_at is not None:
            self.close_connection = True


class _TLSServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, context: ssl.SSLContext, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.script = script
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self.counter = iter(range(1, 1_000_000))


class Server:
    """A running HTTPS server; `url(path)` addresses it by IP, `url(path, host="localhost")` by another name."""

    def __init__(self, server: _TLSServer) -> None:
        self._server = server
        self.port = server.server_address[1]

    @property
    def seen(self) -> list[Seen]:
        return self._server.seen

    def url(self, path: str = "/catalog.json", host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"


@contextlib.contextmanager
def https_server(cert: trustme.LeafCert, script: Script | Reply | list[Reply]) -> Iterator[Server]:
    """Serve `script` (a function, one Reply for every request, or Replies in order, the last repeating)."""
    if isinstance(script, Reply):
        fixed = script
        script = lambda seen, state: fixed  # noqa: E731
    elif isinstance(script, list):
        replies = list(script)
        lock = threading.Lock()

        def in_order(seen: Seen, state: Any) -> Reply:
            with lock:
                return replies.pop(0) if len(replies) > 1 else replies[0]

        script = in_order
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = _TLSServer(context, script)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(server)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A 127.0.0.1 port whose accept queue is full, so a new connect hangs: a real connect timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):  # the kernel queues backlog+1 or so; fill until a connect would block
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", port))
            except (TimeoutError, OSError):
                filler.close()
                break
            fillers.append(filler)
        yield f"https://127.0.0.1:{port}/catalog.json"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@dataclass(frozen=True)
class Pki:
    """A CA the client trusts, its bundle file, and certificates for 127.0.0.1/localhost."""

    ca: trustme.CA
    bundle: Path
    cert: trustme.LeafCert


def make_pki(directory: Path) -> Pki:
    ca = trustme.CA()
    bundle = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return Pki(ca, bundle, ca.issue_cert("127.0.0.1", "localhost"))


def elapsed(start: float) -> float:
    return time.monotonic() - start
