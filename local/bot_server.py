"""Local transports for `tms bot`: an HTTP server on 127.0.0.1 (POST /slack/events) or Socket Mode.

Both hand Slack's request to the same Bolt app the Lambda runs. Over HTTP the same request guard as the
Lambda handler's answers 401/400 first (signature on the raw body, a parse that cannot raise); Bolt then
verifies again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

from bot.logic.request_guard import RequestGuard
from contract import names
from local.iam_record import acting_as, function

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000


def make_server(
    app: App, guard: RequestGuard, port: int = 3000, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) that dispatches POST /slack/events to `app` once `guard` lets the
    request through; port 0 picks a free one."""

    class SlackEvents(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            # Bolt logs each request already; keep the console for the banner.
            pass

        def _reply(
            self, status: int, body: bytes, headers: Mapping[str, Sequence[str]] | None = None
        ) -> None:
            self.send_response(status)
            for name, values in (headers or {}).items():
                if name.lower() != "content-length":
                    for value in values:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if url.path != EVENTS_PATH or length > MAX_BODY_BYTES:
                self.rfile.read(min(length, MAX_BODY_BYTES))
                self._reply(404, b"not found")
                return
            raw = self.rfile.read(length)
            headers: dict[str, str | Sequence[str]] = {}
            for name, value in self.headers.items():
                headers[name.lower()] = [*headers.get(name.lower(), []), value]
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._reply(400, b"")
                return
            rejection = guard.check(body, headers)
            if rejection is not None:
                self._reply(rejection.status, b"")
                return
            with acting_as(function(names.FN_BOT)):  # the bot function's role, as on AWS
                resp = app.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            self._reply(resp.status, resp.body.encode("utf-8"), resp.headers)

        def do_GET(self) -> None:
            self._reply(404 if urlsplit(self.path).path != "/health" else 200, b"")

    server = ThreadingHTTPServer((host, port), SlackEvents)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benchmarks); stop with server.shutdown()."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="tms-bot-http", daemon=True
    )
    thread.start()
    return thread


def url_of(server: ThreadingHTTPServer) -> str:
    """The events URL of a running server."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}{EVENTS_PATH}"


def serve_socket_mode(app: App, app_token: str) -> None:
    """Connect to Slack over Socket Mode (no public URL) and block until interrupted."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
