"""The Bolt app: `build_app(settings, clients)`, shared by the Lambda handler, `tms bot` and the tests.

`process_before_response=True`: on Lambda nothing runs after the response, so every listener finishes its
work (the Kinesis write included) before Bolt answers Slack. Request verification (v0 signature, 5-minute
window) is Bolt's and stays on.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot import listeners
from bot.adapters import aws
from bot.adapters.catalog import FileCatalog
from bot.adapters.conversations import DynamoConversations
from bot.adapters.kinesis import KinesisTicketWriter, TicketWriter
from bot.adapters.replies import ReplyQueue, SnsReplyQueue
from bot.adapters.sla import LambdaSlaNotifier, NoSlaNotifier
from bot.adapters.slack import (
    Directory,
    Poster,
    SlackDirectory,
    SlackPoster,
    SlackUserGroups,
    Sleep,
    make_web_client,
)
from bot.adapters.ticket_store import DynamoTicketStore
from bot.config import BotSettings
from bot.listeners import authz
from bot.logic.actions import SlaNotifier, TicketStore
from bot.logic.conversations import Conversations, IntakeConfig
from bot.logic.roles import RoleGrants, Roles
from bot.observability import SERVICE, logger

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
    # Who may act; the default grants nothing to anyone (fail closed).
    roles: Roles = field(default_factory=lambda: Roles(RoleGrants()))
    # Tickets from customer channels, reactions and DMs (issue 31); without a store no event opens one.
    conversations: Conversations | None = None
    intake: IntakeConfig = field(default_factory=IntakeConfig)


def intake_config(settings: BotSettings) -> IntakeConfig:
    """The listeners' view of the settings (issue 31)."""
    return IntakeConfig(
        channels=settings.watched_channels(),
        strictness=settings.ticketing_strictness,
        team_id=settings.slack_team_id if settings.slack_team_id.startswith("T") else "",
        dm_window_hours=settings.dm_window_hours,
        bot_user_id=settings.bot_user_id,
        reopen_window_days=settings.reopen_window_days,
    )


def build_roles(settings: BotSettings, slack: WebClient) -> Roles:
    """The roles of the settings, user groups resolved through Slack (cached)."""
    return Roles(settings.role_grants(), SlackUserGroups(slack), four_eyes=settings.four_eyes == "on")


def build_clients(settings: BotSettings, *, sleep: Sleep = time.sleep) -> Clients:
    """The production wiring: boto3 clients from the standard AWS environment, Slack at SLACK_API_URL."""
    settings.require("stream_name", "table_name", "topic_arn")
    slack = make_web_client(settings.secret("bot_token"), settings.api_url, sleep=sleep)
    return Clients(
        slack=slack,
        tickets=KinesisTicketWriter(settings.stream_name, aws.client("kinesis")),
        store=DynamoTicketStore(settings.table_name, aws.lazy_client("dynamodb")),
        catalog=FileCatalog(settings.catalog_path),
        directory=SlackDirectory(slack),
        poster=SlackPoster(slack, sleep=sleep, interval=settings.post_interval_s),
        replies=SnsReplyQueue(settings.topic_arn, aws.lazy_client("sns")),
        sla=(
            LambdaSlaNotifier(settings.sla_function, aws.lazy_client("lambda"))
            if settings.sla_function
            else NoSlaNotifier()
        ),
        roles=build_roles(settings, slack),
        conversations=DynamoConversations(settings.table_name, aws.lazy_client("dynamodb")),
        intake=intake_config(settings),
    )


def build_app(settings: BotSettings, clients: Clients) -> App:
    """The Bolt app with every listener registered."""
    # The bot's identity comes from its configuration, never from auth.test: with a token, Bolt's single-team
    # authorization calls auth.test on the first request, before the ack (one more Slack round trip on every
    # cold start). An `authorize` function answers from settings instead; the App's own client then carries no
    # token (Bolt would skip it with a warning), each request's client gets it from the AuthorizeResult.
    bot_token = clients.slack.token or settings.secret("bot_token")

    def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot_token,
            bot_id=settings.bot_id or None,
            bot_user_id=settings.bot_user_id or None,
        )

    app_client = copy.copy(clients.slack)
    app_client.token = None
    # `name` given: without it Bolt names the app after its caller's file through inspect.stack(), which reads
    # the source of every frame and resolves every loaded module's path (~0.1 s of each cold start here).
    app = App(
        name=SERVICE,
        signing_secret=settings.secret("signing_secret"),
        client=app_client,
        authorize=authorize,
        process_before_response=True,
    )

    @app.middleware
    def inject_clients(context: dict[str, Any], next: Callable[[], Any]) -> Any:
        context[CONTEXT_KEY] = clients
        return next()

    @app.error
    def log_error(error: Exception, body: dict[str, Any]) -> None:
        # The one place listener errors are logged; Slack sees a generic failure.
        logger.exception("listener failed", extra={"type": body.get("type") or body.get("command")})

    authz.register(app, clients.roles, authz.InstallationPin(settings.slack_app_id, settings.slack_team_id))
    listeners.register(app)
    return app
