"""A loopback Slack Web API for local runs: `chat.postMessage` answered as Slack does, every post appended
to the local outbox file, `conversations.replies` answered from that file (the history it keeps: every post
is the bot's own), and 429 + Retry-After when the `slack_429` fault fires.

It lets the notifier run its real Slack adapter (WebClient, the SDK's rate-limit retry handler) offline:
point SLACK_API_URL at `base_url` and set any bot token. Faults come from the fault plan, never from the
notifier's code.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

RETRY_AFTER_S = 1  # Slack answers whole seconds
BOT_USER, BOT_ID = "ULOCAL", "BLOCAL"  # the bot auth.test names; every post in the outbox is its own


class LocalSlackApi:
    """A minimal Slack Web API on 127.0.0.1 (chat.postMessage, chat.update, conversations.replies and
    auth.test)."""

    def __init__(self, outbox: Path, should_fail: Callable[[str], bool] = lambda _f: False):
        self._outbox = outbox
        self._should_fail = should_fail
        self._lock = threading.Lock()
        self._last = 0
        self.posts = 0
        self.updates = 0
        self.rate_limited = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="tms-slack-api", daemon=True)

    @property
    def base_url(self) -> str:
        """The value for SLACK_API_URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def __enter__(self) -> LocalSlackApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, body and headers Slack would answer for chat.postMessage."""
        if self._should_fail("slack_429"):
            with self._lock:
                self.rate_limited += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(RETRY_AFTER_S)}
        with self._lock:
            ts = self._next_ts()
            self._outbox.parent.mkdir(parents=True, exist_ok=True)
            with self._outbox.open("a", encoding="utf-8") as f:
                f.write(json.dumps({**payload, "ts": ts}, ensure_ascii=False) + "\n")
            self.posts += 1
        channel = str(payload.get("channel", ""))
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": {**payload, "ts": ts}}, {}

    def update(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """chat.update: recorded in the outbox as a `"method": "chat.update"` line (as bot/adapters/outbox.py)."""
        channel, ts = str(payload.get("channel", "")), str(payload.get("ts", ""))
        with self._lock:
            self._outbox.parent.mkdir(parents=True, exist_ok=True)
            with self._outbox.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"method": "chat.update", **payload}, ensure_ascii=False) + "\n")
            self.updates += 1
        return 200, {"ok": True, "channel": channel, "ts": ts, "text": payload.get("text", "")}, {}

    def replies(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """conversations.replies from the outbox: the root post and its replies, `limit` a page, with an
        offset as the cursor; edits (chat.update lines) change a message's text."""
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        limit, start = int(params.get("limit") or 1000), int(params.get("cursor") or 0)
        thread: dict[str, dict[str, Any]] = {}
        with self._lock:
            lines = self._outbox.read_text(encoding="utf-8").splitlines() if self._outbox.exists() else []
        for raw in lines:
            line = json.loads(raw)
            if str(line.get("channel")) != channel:
                continue
            if line.get("method") == "chat.update":
                if line.get("ts") in thread:
                    thread[line["ts"]]["text"] = line.get("text", "")
            elif ts in (str(line.get("ts")), str(line.get("thread_ts"))):
                thread[str(line["ts"])] = {
                    "type": "message",
                    "ts": str(line["ts"]),
                    "text": line.get("text", ""),
                    "user": BOT_USER,
                    "bot_id": BOT_ID,
                    **({"thread_ts": line["thread_ts"]} if line.get("thread_ts") else {}),
                }
        if ts not in thread:
            return 200, {"ok": False, "error": "thread_not_found"}, {}
        ordered = [thread[ts], *sorted((m for k, m in thread.items() if k != ts), key=lambda m: m["ts"])]
        more = start + limit < len(ordered)
        body = {
            "ok": True,
            "messages": ordered[start : start + limit],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }
        return 200, body, {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: stdout is the command's
                return

            def do_GET(self) -> None:  # the SDK reads (conversations.replies) with GET and a query string
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                path, _, query = self.path.partition("?")
                method = path.rstrip("/").rsplit("/", 1)[-1]
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "attachments", "metadata"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                params.update({k: v[0] for k, v in parse_qs(query).items()})
                if method == "chat.postMessage":
                    status, body, headers = api.post(params)
                elif method == "chat.update":
                    status, body, headers = api.update(params)
                elif method == "conversations.replies":
                    status, body, headers = api.replies(params)
                elif method == "auth.test":
                    body = {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "TLOCAL"}
                    status, headers = 200, {}
                else:
                    status, body, headers = 200, {"ok": False, "error": "unknown_method"}, {}
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
