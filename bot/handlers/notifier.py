"""The notifier Lambda: SNS (tickets topic, alarms topic) in, Slack posts and threads out.

Without a bot token (local, no Slack) posts go to the outbox file instead.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bot.adapters import aws
from bot.adapters.conversations import DynamoConversations
from bot.adapters.outbox import OutboxPoster, OutboxThreads
from bot.adapters.slack import Poster, SlackPoster, SlackThreads, ThreadReader, make_web_client
from bot.adapters.ticket_store import DynamoTicketStore
from bot.config import BotSettings, fetch_secret, load_settings
from bot.errors import BotConfigurationError
from bot.logic.notify import Notification, Notifier, parse_or_skip
from bot.logic.roles import Roles
from bot.observability import logger
from contract import names
from contract.lambda_events import sns_attribute, sns_messages


def build_poster(settings: BotSettings) -> Poster:
    """Slack (token set) or the outbox (local without Slack): the notifier's poster, and erasure's."""
    if settings.bot_token is not None and settings.bot_token.get_secret_value():
        return SlackPoster(
            make_web_client(settings.secret("bot_token"), settings.api_url), interval=settings.post_interval_s
        )
    if settings.outbox:
        return OutboxPoster(settings.outbox)
    raise BotConfigurationError(
        f"set {names.ENV_SLACK_BOT_TOKEN} (Slack) or {names.ENV_SLACK_OUTBOX} (local)"
    )


def build_thread_reader(settings: BotSettings) -> ThreadReader | None:
    """What erasure reads a ticket's thread with: Slack (token set, conversations.replies), the outbox (local
    without Slack: every line is tms's own post), else nothing."""
    if settings.bot_token is not None and settings.bot_token.get_secret_value():
        return SlackThreads(make_web_client(settings.secret("bot_token"), settings.api_url))
    if settings.outbox:
        return OutboxThreads(settings.outbox)
    return None


def build_notifier(settings: BotSettings) -> Notifier:
    """The notifier with Slack (token set) or the outbox (local without Slack) as its poster."""
    settings.require("table_name")
    poster = build_poster(settings)
    grants = settings.role_grants()
    return Notifier(
        store=DynamoTicketStore(settings.table_name, aws.client("dynamodb", profile="default")),
        poster=poster,
        channel=settings.channel,
        alerts_channel=settings.alerts_channel,
        alarms_topic_arn=settings.alarms_topic_arn,
        oncall_group=grants.oncall_group,
        approvers_configured=Roles(grants).approvers_configured,
        conversations=DynamoConversations(settings.table_name, aws.client("dynamodb", profile="default")),
    )


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    """Built once per process."""
    return build_notifier(load_settings(partial(fetch_secret, profile="default")))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Post each SNS message (usually one per event); a failed post raises so SNS redelivers."""
    outcomes = []
    for sns in sns_messages(event):
        event_type = sns_attribute(sns, names.ATTR_EVENT_TYPE)
        n = Notification(
            sns["MessageId"], sns["TopicArn"], sns["Message"], event_type, sns.get("Subject") or ""
        )
        outcome = parse_or_skip(n, notifier())
        outcomes.append({"kind": outcome.kind, "key": outcome.key, "posted": bool(outcome.posted)})
    return {"outcomes": outcomes}
