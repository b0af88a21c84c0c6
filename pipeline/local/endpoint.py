"""The local AWS endpoint: moto's threaded server, with HTTP/1.1 connections kept open between requests.

moto serves through werkzeug's development server, which answers every request with `Connection: close`.
botocore keeps a connection pool per client, so every call of every handler, poller and state-machine step
opened a new TCP connection, and the server started a new thread for it.

werkzeug closes because, after each response, it drains "any remaining data" from its reader, which under
keep-alive would swallow the client's next request (its own comment says so; a first attempt here hung on
exactly that). This handler therefore reads the request body itself (Content-Length bytes) before werkzeug
runs and hands werkzeug that body as its reader, so the drain empties the buffer, not the socket, and puts
the real reader back afterwards: the next request stays in the socket, untouched. Requests it cannot
frame that way (chunked bodies) keep werkzeug's own path, which closes the connection. An upload that asks
`Expect: 100-continue` (botocore does, for every S3 PutObject) gets its 100 Continue here, before its body
is read.
Nagle's algorithm is off, as a response is written in two sends (headers, body) and the client would
otherwise wait for a delayed ACK between them. `stop()` shuts every open connection, so no thread waits on
an idle client after the endpoint is gone.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

_REQUEST_LOG = logging.getLogger("werkzeug")


class KeepAliveRequestHandler(MotoRequestHandler):
    disable_nagle_algorithm = True
    _keep_alive = False
    server: Any

    def setup(self) -> None:
        super().setup()
        with self.server.tms_lock:
            self.server.tms_connections.add(self.connection)
            self.server.tms_accepted += 1

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.tms_lock:
                self.server.tms_connections.discard(self.connection)

    def handle_one_request(self) -> None:
        self._keep_alive = False  # until run_wsgi has framed this request (an error answer still closes)
        super().handle_one_request()

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        expect = (self.headers.get("Expect") or "").lower().strip()
        if (
            self.headers.get("Transfer-Encoding")
            or expect not in ("", "100-continue")
            or not length.isdigit()
        ):
            super().run_wsgi()  # werkzeug's path: it reads the body as it likes, then closes
            return
        if expect:  # botocore asks before every S3 upload: say go, as werkzeug would, then read the body
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            del self.headers["Expect"]
        body = self.rfile.read(int(length))
        real_rfile = self.rfile
        # werkzeug's app reads the body from here, and so does its drain: it may still see the socket
        # readable (the next request has arrived), but it reads this buffer, finds it empty and stops.
        self.rfile = io.BytesIO(body)
        self._keep_alive = True
        try:
            super().run_wsgi()
        finally:
            self.rfile = real_rfile

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats the whole line (path to IRI, address, date) before its logger drops it; the
        # commands silence that logger (runtime.quiet_logs), so most of the time skip the formatting.
        if _REQUEST_LOG.isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return  # werkzeug's blanket close; the request's own Connection header still decides
        super().send_header(keyword, value)


class KeepAliveMotoServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer with KeepAliveRequestHandler (same start/stop/get_host_and_port)."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        server: Any = make_server(
            self._ip_address, self._port, app, True, request_handler=KeepAliveRequestHandler
        )
        server.tms_lock = threading.Lock()
        server.tms_connections = set()  # open now
        server.tms_accepted = 0  # since start
        self._server = server
        self._server_ready_event.set()
        server.serve_forever()

    def stop(self) -> None:
        server: Any = self._server
        super().stop()  # no new connections from here on
        if server is None:
            return
        with server.tms_lock:
            still_open = list(server.tms_connections)
        for conn in still_open:
            with contextlib.suppress(OSError):  # OSError: the client closed it already
                conn.shutdown(socket.SHUT_RDWR)  # the handler's thread reads end-of-file and ends
        server.server_close()


def connections(server: ThreadedMotoServer) -> tuple[int, int]:
    """(connections accepted so far, connections open now): what tests and benchmarks read."""
    inner: Any = server._server
    with inner.tms_lock:
        return inner.tms_accepted, len(inner.tms_connections)
