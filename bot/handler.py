"""Lambda entry of the Slack app (function URL or HTTP API): Bolt's SlackRequestHandler.

Settings are read once per cold start; on AWS the bot token and signing secret come from Secrets Manager
(TMS_SLACK_SECRET_ARN) through Powertools parameters, cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from bot.app import build_app, build_clients
from bot.config import load_settings
from bot.observability import logger


@lru_cache(maxsize=1)
def slack_handler() -> SlackRequestHandler:
    """The app and its clients, built once per process."""
    settings = load_settings()
    return SlackRequestHandler(build_app(settings, build_clients(settings)))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Verify and dispatch one Slack request."""
    return slack_handler().handle(event, context)
