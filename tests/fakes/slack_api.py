"""A loopback fake of the Slack Web API that records every call.

Point a WebClient at it with `WebClient(base_url=fake.base_url)`. It answers chat.postMessage, chat.update,
chat.postEphemeral, chat.getPermalink, views.open, views.update, users.info, usergroups.users.list,
conversations.replies and auth.test the way Slack does (ok, channel, ts, message), and can answer 429 with
Retry-After on demand. It keeps each channel's history: the bot's posts (as user BOT_USER, bot BOT_ID) and
messages people or other apps wrote (`say`), so conversations.replies answers a thread page by page.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEAM_ID = "T0FAKE"
BOT_USER, BOT_ID = "U0BOT", "B0FAKE"  # what auth.test answers for the app's bot token


@dataclass(frozen=True)
class Call:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    token: str
    status: int


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str
    remaining: int


@dataclass
class FakeSlackApi:
    """The fake server's state; use `FakeSlackApi.running()`."""

    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    users_info_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    # channel id -> its messages (every one, thread replies included), oldest first
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gone_channels: set[str] = field(default_factory=set)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1_700_000_000_000_100, 100))
    _views: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- test controls --------------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeSlackApi]:
        """Serve on a free loopback port until the block ends."""
        fake = cls()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
        server.daemon_threads = True
        fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            server.shutdown()
            server.server_close()

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with an error (429 + Retry-After by default)."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, error, times))

    def add_user(self, user_id: str, real_name: str, email: str) -> None:
        """Make users.info know a user."""
        first, _, last = real_name.partition(" ")
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": real_name.lower().replace(" ", "."),
            "real_name": real_name,
            "profile": {"real_name": real_name, "first_name": first, "last_name": last, "email": email},
        }

    def add_foreign_user(self, user_id: str, real_name: str, team_id: str, email: str = "") -> None:
        """A Slack Connect user of another organisation (often without an email in users.info)."""
        self.add_user(user_id, real_name, email)
        self.users[user_id]["team_id"] = team_id
        if not email:
            self.users[user_id]["profile"].pop("email")

    def add_message(
        self, channel: str, ts: str, user: str, text: str, *, thread_ts: str = "", user_team: str = TEAM_ID
    ) -> dict[str, Any]:
        """A message people wrote (conversations.replies returns it with its thread); the event to send."""
        message = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": user_team,
            "user_team": user_team,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            history = self.history.setdefault(channel, [])
            history.append(message)
            if thread_ts:
                parent = next((m for m in history if m["ts"] == thread_ts), {})
                parent.setdefault("thread_ts", thread_ts)
        return {**message, "channel": channel, "channel_type": "im" if channel.startswith("D") else "channel"}

    def answer_users_info(self, user_id: str, body: dict[str, Any]) -> None:
        """Make users.info answer exactly `body` for one user (malformed answers seen in the wild)."""
        self.users_info_answers[user_id] = body

    def say(self, channel: str, text: str, *, user: str, thread_ts: str = "", bot_id: str = "") -> str:
        """A message someone else wrote (a person, or another app with `bot_id`): its ts."""
        with self._lock:
            ts = self._next_ts()
            message = {"type": "message", "text": text, "ts": ts, "user": user}
            if bot_id:
                message["bot_id"] = bot_id
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.history.setdefault(channel, []).append(message)
        return ts

    def delete_channel(self, channel: str) -> None:
        """The channel is deleted: its history answers channel_not_found."""
        self.gone_channels.add(channel)

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        """The recorded calls of one method (by default only those answered 200)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def reset(self) -> None:
        """Forget recorded calls."""
        with self._lock:
            self.calls.clear()

    # --- answers --------------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{n // 1_000_000}.{n % 1_000_000:06d}"

    def answer(
        self, method: str, params: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and headers for one call; records it."""
        with self._lock:
            queue = self._failures.get(method) or []
            failure = queue[0] if queue else None
            if failure:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.pop(0)
                self.calls.append(Call(method, params, token, failure.status))
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, {"ok": False, "error": failure.error}, headers
            self.calls.append(Call(method, params, token, 200))
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            return 200, self._ok(method, params), {}

    def _ok(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        # Slack answers with the channel id; a name given by the caller maps to a stable fake id.
        channel_id = (
            channel if channel[:1] in ("C", "G", "D") else "C" + channel.upper().replace("-", "")[:10]
        )
        if channel_id in self.gone_channels:
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {
                "type": "message",
                "text": p.get("text", ""),
                "ts": ts,
                "user": BOT_USER,
                "bot_id": BOT_ID,
            }
            if p.get("blocks"):
                message["blocks"] = p["blocks"]
            if p.get("thread_ts"):
                message["thread_ts"] = p["thread_ts"]
            self.history.setdefault(channel_id, []).append(message)
            return {"ok": True, "channel": channel_id, "ts": ts, "message": message}
        if method == "chat.update":
            for m in self.history.get(channel_id, []):
                if m["ts"] == p.get("ts"):
                    m["text"] = p.get("text", "")
            return {"ok": True, "channel": channel_id, "ts": p.get("ts"), "text": p.get("text", "")}
        if method == "conversations.replies":
            return self._replies(
                channel_id, str(p.get("ts", "")), int(p.get("limit") or 1000), p.get("cursor")
            )
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.getPermalink":
            ts = str(p.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": channel_id,
                "permalink": f"https://fake.slack.com/archives/{channel_id}/p{ts}",
            }
        if method in ("views.open", "views.update", "views.push"):
            view = p.get("view")
            view = json.loads(view) if isinstance(view, str) else dict(view or {})
            view.update({"id": f"V{next(self._views):08d}", "team_id": TEAM_ID})
            return {"ok": True, "view": view}
        if method == "users.info":
            if str(p.get("user")) in self.users_info_answers:
                return self.users_info_answers[str(p.get("user"))]
            user = self.users.get(str(p.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.users.list":
            group = self.usergroups.get(str(p.get("usergroup")))
            return (
                {"ok": True, "users": group}
                if group is not None
                else {"ok": False, "error": "no_such_subteam"}
            )
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "reactions.add":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def _replies(self, channel: str, ts: str, limit: int, cursor: Any) -> dict[str, Any]:
        """A thread (root first, then replies by ts), `limit` messages a page; the cursor is an offset."""
        messages = self.history.get(channel, [])
        if not any(m["ts"] == ts for m in messages):
            return {"ok": False, "error": "thread_not_found"}
        thread = sorted(
            (m for m in messages if ts in (m["ts"], m.get("thread_ts"))),
            key=lambda m: (m["ts"] != ts, m["ts"]),
        )
        start = int(cursor or 0)
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        return {
            "ok": True,
            "messages": [dict(m) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _params(self) -> dict[str, Any]:
            url = urlsplit(self.path)
            params: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw))
                else:
                    params.update({k: v[0] for k, v in parse_qs(raw).items()})
            for key in ("blocks", "view"):
                if isinstance(params.get(key), str):
                    params[key] = json.loads(params[key])
            return params

        def _serve(self) -> None:
            method = urlsplit(self.path).path.rsplit("/", 1)[-1]
            params = self._params()
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip() or str(params.pop("token", ""))
            status, body, headers = fake.answer(method, params, token)
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler


# --- requests as Slack sends them -------------------------------------------------------------------------


def sign(secret: str, body: str, timestamp: int) -> dict[str, str]:
    """The X-Slack-Signature / X-Slack-Request-Timestamp headers Slack computes (v0 scheme)."""
    from slack_sdk.signature import SignatureVerifier

    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": str(signature)}


def command_body(
    text: str,
    *,
    user_id: str = "U0AGENT",
    channel_id: str = "C0SUPPORT",
    team_id: str = TEAM_ID,
    command: str = "/ticket",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    response_url: str = "https://hooks.slack.com/commands/T0FAKE/1/xyz",
) -> str:
    """A slash-command form body, field for field as Slack posts it."""
    from urllib.parse import urlencode

    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "support",
            "user_id": user_id,
            "user_name": "agent",
            "command": command,
            "text": text,
            "api_app_id": "A0TMS",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def event_body(event: dict[str, Any], *, event_id: str, team_id: str = TEAM_ID) -> str:
    """An Events API request body (JSON), field for field as Slack posts it
    (https://api.slack.com/apis/events-api#callback-field)."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "api_app_id": "A0TMS",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(float(event.get("event_ts") or event.get("ts") or 1_700_000_000)),
            "authorizations": [{"team_id": team_id, "user_id": "U0BOT", "is_bot": True}],
            "is_ext_shared_channel": False,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """An interactivity form body: `payload=<JSON>`."""
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


def block_action_payload(
    *,
    action_id: str,
    value: str | None = None,
    selected: str | None = None,
    user_id: str,
    channel_id: str,
    message_ts: str,
) -> dict[str, Any]:
    """A block_actions payload for a button (value) or static select (selected) in a channel message."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "actions", "action_ts": "1700000001.000200"}
    if selected is not None:
        action |= {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": selected}, "value": selected},
        }
    else:
        action |= {"type": "button", "value": value, "text": {"type": "plain_text", "text": action_id}}
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0TMS",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": channel_id, "name": "tickets"},
        "message": {"type": "message", "ts": message_ts, "text": "ticket"},
        "response_url": "https://hooks.slack.com/actions/T0FAKE/1/xyz",
        "actions": [action],
    }


def view_submission_payload(
    *, callback_id: str, values: dict[str, dict[str, dict[str, Any]]], private_metadata: str, user_id: str
) -> dict[str, Any]:
    """A view_submission payload with `view.state.values` as Slack builds it."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0TMS",
        "token": "deprecated-verification-token",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "view": {
            "id": "V0000001",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1700000000.abc",
        },
        "response_urls": [],
    }


def text_value(value: str) -> dict[str, dict[str, Any]]:
    """`state.values[block]` of a plain_text_input."""
    return {"value": {"type": "plain_text_input", "value": value}}


def select_value(value: str) -> dict[str, dict[str, Any]]:
    """`state.values[block]` of a static_select."""
    return {
        "value": {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
        }
    }


def email_value(value: str) -> dict[str, dict[str, Any]]:
    """`state.values[block]` of an email_text_input."""
    return {"value": {"type": "email_text_input", "value": value}}
