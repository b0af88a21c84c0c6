"""The rating page on the local stack (issue 32): the csat function served on 127.0.0.1, as API Gateway would
call it (a REST proxy event per request). Nothing but /rate is served; the body is capped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RATE_PATH = "/rate"
MAX_BODY_BYTES = 16_384

Invoke = Callable[[dict[str, Any]], dict[str, Any] | None]  # proxy event -> proxy response (None: it failed)


def proxy_event(method: str, path: str, query: str, body: str, source_ip: str) -> dict[str, Any]:
    """The API Gateway REST proxy event of one request (the fields the handler reads, and a few more)."""
    return {
        "resource": RATE_PATH,
        "path": path,
        "httpMethod": method,
        "queryStringParameters": dict(parse_qsl(query)) or None,
        "body": body or None,
        "isBase64Encoded": False,
        "requestContext": {"identity": {"sourceIp": source_ip}, "stage": "local"},
    }


def make_server(invoke: Invoke, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) handing GET and POST /rate to `invoke`; port 0 picks a free one."""

    class RatePage(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # the console is for the stack's banner

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, MAX_BODY_BYTES)) if length else b""
            if url.path != RATE_PATH or length > MAX_BODY_BYTES:
                self._reply(404 if url.path != RATE_PATH else 413, b"")
                return
            event = proxy_event(
                method, url.path, url.query, raw.decode("utf-8", "replace"), self.client_address[0]
            )
            resp = invoke(event)
            if resp is None:
                self._reply(502, b"")
                return
            self._reply(
                int(resp.get("statusCode", 502)),
                str(resp.get("body") or "").encode("utf-8"),
                {str(k): str(v) for k, v in (resp.get("headers") or {}).items()},
            )

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    server = ThreadingHTTPServer((host, port), RatePage)
    server.daemon_threads = True
    return server


def make_server_on_kept_port(invoke: Invoke, port_file: Path) -> ThreadingHTTPServer:
    """The server on the port a previous stack used (kept in `port_file`) when it is free, else on a new one
    (kept for the next start): rating links already mailed keep working across restarts."""
    try:
        kept = int(port_file.read_text().strip())
    except (OSError, ValueError):
        kept = 0
    try:
        server = make_server(invoke, port=kept)
    except OSError:  # taken by something else meanwhile
        server = make_server(invoke)
    port_file.parent.mkdir(parents=True, exist_ok=True)
    port_file.write_text(str(server.server_address[1]))
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve in a daemon thread; stop with server.shutdown()."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="tms-csat-http", daemon=True
    )
    thread.start()
    return thread


def base_url(server: ThreadingHTTPServer) -> str:
    """The base URL rating links start with."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
