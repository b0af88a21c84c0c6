"""The Bolt app: `build_app(settings, clients)`, shared by the Lambda handler, `tms bot` and the tests.

`process_before_response=True`: on Lambda nothing runs after the response, so every listener finishes its
work (the Kinesis write included) before Bolt answers Slack. Request verification (v0 signature, 5-minute
window) is Bolt's and stays on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.adapters import aws
from bot.adapters.catalog import FileCatalog
from bot.adapters.kinesis import KinesisTicketWriter, TicketWriter
from bot.adapters.replies import ReplyQueue, SnsReplyQueue
from bot.adapters.sla import LambdaSlaNotifier, NoSlaNotifier
from bot.adapters.slack import Directory, Poster, SlackDirectory, SlackPoster, Sleep, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.config import BotSettings
from bot.logic.actions import SlaNotifier, TicketStore
from bot.observability import logger

CONTEXT_KEY = "tms"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clients:
    """Everything the listeners talk to; tests pass fakes or clients pointed at local servers."""

    slack: WebClient
    tickets: TicketWriter
    store: TicketStore
    catalog: FileCatalog
    directory: Directory
    poster: Poster
    replies: ReplyQueue
    now: Callable[[], datetime] = field(default=_utcnow)
    sla: SlaNotifier = field(default_factory=NoSlaNotifier)


def build_clients(settings: BotSettings, *, sleep: Sleep = time.sleep) -> Clients:
    """The production wiring: boto3 clients from the standard AWS environment, Slack at SLACK_API_URL."""
    settings.require("stream_name", "table_name", "topic_arn")
    slack = make_web_client(settings.secret("bot_token"), settings.api_url, sleep=sleep)
    return Clients(
        slack=slack,
        tickets=KinesisTicketWriter(settings.stream_name, aws.client("kinesis")),
        store=DynamoTicketStore(settings.table_name, aws.client("dynamodb")),
        catalog=FileCatalog(settings.catalog_path),
        directory=SlackDirectory(slack),
        poster=SlackPoster(slack, sleep=sleep, interval=settings.post_interval_s),
        replies=SnsReplyQueue(settings.topic_arn, aws.client("sns")),
        sla=(
            LambdaSlaNotifier(settings.sla_function, aws.client("lambda"))
            if settings.sla_function
            else NoSlaNotifier()
        ),
    )


def build_app(settings: BotSettings, clients: Clients) -> App:
    """The Bolt app with every listener registered."""
    app = App(
        signing_secret=settings.secret("signing_secret"),
        client=clients.slack,
        process_before_response=True,
        # No auth.test at construction: cold starts stay fast and offline tests need no token check.
        token_verification_enabled=False,
    )

    @app.middleware
    def inject_clients(context: dict[str, Any], next: Callable[[], Any]) -> Any:
        context[CONTEXT_KEY] = clients
        return next()

    @app.error
    def log_error(error: Exception, body: dict[str, Any]) -> None:
        # The one place listener errors are logged; Slack sees a generic failure.
        logger.exception("listener failed", extra={"type": body.get("type") or body.get("command")})

    listeners.register(app)
    return app
