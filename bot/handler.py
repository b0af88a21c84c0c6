"""Lambda entry of the Slack app (function URL or HTTP API): Bolt's SlackRequestHandler.

Settings are read once per cold start; on AWS the bot token and signing secret come from Secrets Manager
(TMS_SLACK_SECRET_ARN) through Powertools parameters, cached. The request guard answers 401/400 for an
unsigned or unreadable request before Bolt parses anything (bot.logic.request_guard).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from bot.app import build_app, build_clients
from bot.config import load_settings
from bot.logic.request_guard import RequestGuard
from bot.observability import logger


@lru_cache(maxsize=1)
def slack_handler() -> tuple[SlackRequestHandler, RequestGuard]:
    """The app, its clients and the request guard, built once per process."""
    settings = load_settings()
    guard = RequestGuard(settings.secret("signing_secret"))
    return SlackRequestHandler(build_app(settings, build_clients(settings))), guard


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Verify and dispatch one Slack request."""
    bolt, guard = slack_handler()
    rejection = guard.check_lambda_event(event)
    if rejection is not None:
        logger.warning("request refused", extra={"status": rejection.status, "reason": rejection.reason})
        return {"statusCode": rejection.status, "body": "", "headers": {}}
    return bolt.handle(event, context)
