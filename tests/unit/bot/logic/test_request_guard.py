"""Issue 27.5 (bot): the Lambda answers 401 for an unsigned request and 400 for a body it cannot read, before
anything can raise, and keeps serving; the local HTTP server answers the same."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from bot.logic.request_guard import RequestGuard, parse_slack_body
from tests.fakes.slack_api import command_body, interaction_body, sign
from tests.unit.bot.test_config import SECRET_VALUE, Ctx, _function_url_event, lambda_env  # noqa: F401

SECRET = SECRET_VALUE["signing_secret"]
NESTED = '{"a":' * 200_000 + "1" + "}" * 200_000
NESTED_PAYLOAD = "payload=" + urllib.parse.quote("[" * 200_000 + "]" * 200_000)
UNREADABLE = [
    "{x",
    NESTED,
    NESTED_PAYLOAD,
    "payload=%7Bx",
    "payload=" + urllib.parse.quote("[1, 2]"),
    '{"type": "block_actions"',
]


def _signed(body: str, *, secret: str = SECRET, at: int | None = None) -> dict:
    return _function_url_event(body, sign(secret, body, int(time.time()) if at is None else at))


@pytest.mark.parametrize(
    "body", UNREADABLE, ids=["syntax", "nested", "nested-payload", "payload", "list", "cut"]
)
def test_unsigned_unreadable_bodies_get_401_and_the_function_keeps_serving(lambda_env, body):  # noqa: F811
    from bot.handler import handler

    resp = handler(_function_url_event(body, {}), Ctx())
    assert resp["statusCode"] == 401

    good = command_body("help")
    assert handler(_signed(good), Ctx())["statusCode"] == 200


@pytest.mark.parametrize(
    "body", UNREADABLE, ids=["syntax", "nested", "nested-payload", "payload", "list", "cut"]
)
def test_signed_unreadable_bodies_get_400_not_an_error(lambda_env, body):  # noqa: F811
    from bot.handler import handler

    assert handler(_signed(body), Ctx())["statusCode"] == 400


def test_bad_signatures_stale_timestamps_and_bad_base64_are_refused(lambda_env):  # noqa: F811
    from bot.handler import handler

    body = command_body("help")
    assert handler(_signed(body, secret="not-the-secret"), Ctx())["statusCode"] == 401
    assert handler(_signed(body, at=int(time.time()) - 600), Ctx())["statusCode"] == 401
    not_a_number = _function_url_event(
        body, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=x"}
    )
    assert handler(not_a_number, Ctx())["statusCode"] == 401
    garbled = _signed(body) | {"body": "%%%not base64", "isBase64Encoded": True}
    assert handler(garbled, Ctx())["statusCode"] == 400
    encoded = _signed(body) | {"body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}
    assert handler(encoded, Ctx())["statusCode"] == 200


def test_the_guard_reads_what_bolt_reads() -> None:
    payload = {"type": "block_actions", "actions": []}
    assert parse_slack_body(interaction_body(payload), "application/x-www-form-urlencoded") == payload
    assert parse_slack_body(json.dumps(payload), "application/json") == payload
    assert parse_slack_body("a=1&b=", "application/x-www-form-urlencoded") == {"a": "1", "b": ""}
    guard = RequestGuard(SECRET, clock=lambda: 1_700_000_000)
    body = command_body("help")
    assert guard.check(body, sign(SECRET, body, 1_700_000_000)) is None
    assert guard.check(body, sign(SECRET, body, 1_700_000_000 - 301)).status == 401  # type: ignore[union-attr]
