"""The first look at an HTTP request claiming to come from Slack: signature on the raw body, then a parse
that cannot raise.

Bolt parses the body when it builds its request object, before its own signature check runs: an unsigned
`{x` (a JSON syntax error) or a deeply nested document (RecursionError) raised out of the handler, an
unhandled Lambda error that fired the bot's error alarm. Here the v0 signature and the 5-minute window are
checked on the raw bytes first (401), and only then is the body parsed the way Bolt will parse it, with
every failure answered 400. A request that passes is handed to Bolt unchanged (Bolt verifies it again).
https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import Clock, SignatureVerifier

Headers = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused before Bolt sees it."""

    status: int
    reason: str


def _header(headers: Headers, name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, str):
                return value
            return str(value[0]) if value else ""
    return ""


def parse_slack_body(body: str, content_type: str) -> dict[str, Any]:
    """The body as Bolt reads it (JSON, a form with a JSON `payload`, or a plain form); raises ValueError."""
    if not body:
        return {}
    try:
        if content_type.startswith("application/json") or body.startswith("{"):
            parsed: Any = json.loads(body)
        else:
            form = dict(parse_qsl(body, keep_blank_values=True))
            # Bolt reads `payload` as JSON whenever the body mentions it.
            parsed = json.loads(form["payload"]) if "payload" in body and "payload" in form else form
    except RecursionError as e:  # deeply nested JSON: the C decoder gives up with RecursionError
        raise ValueError("body nested too deeply") from e
    if not isinstance(parsed, dict):
        raise ValueError(f"body is a JSON {type(parsed).__name__}, not an object")
    return parsed


class RequestGuard:
    """Signature first, then a parse that cannot raise; `check` answers None for a request Bolt may see."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def check(self, body: str, headers: Headers) -> Rejection | None:
        """401 for a missing or bad signature (or a stale timestamp), 400 for a body that cannot be read."""
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not timestamp or not signature:
            return Rejection(401, "unsigned request")
        try:
            valid = self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError):  # a timestamp that is not a number
            valid = False
        if not valid:
            return Rejection(401, "invalid signature")
        try:
            parse_slack_body(body, _header(headers, "content-type"))
        except ValueError as e:
            return Rejection(400, f"unreadable body: {e}"[:200])
        return None

    def check_lambda_event(self, event: Mapping[str, Any]) -> Rejection | None:
        """`check` for a function URL / API Gateway event (its body possibly base64-encoded)."""
        try:
            body = lambda_body(event)
        except ValueError as e:
            return Rejection(400, str(e))
        headers = event.get("headers") or {}
        if not isinstance(headers, Mapping):
            return Rejection(400, "no headers")
        return self.check(body, headers)


def lambda_body(event: Mapping[str, Any]) -> str:
    """The event's body as text; ValueError when it is not base64 or not UTF-8."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise ValueError("body is not text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise ValueError("body is not base64-encoded UTF-8") from e
    return body


class _Clock(Clock):
    """slack_sdk's verifier asks a clock object for `now()`: the injected one (tests)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()
