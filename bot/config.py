"""Bot and notifier settings: a validated pydantic model read from the environment once at
cold start (contract.settings.EnvSettings).

On AWS the bot token and signing secret come from Secrets Manager (Powertools parameters, cached), named by
TMS_SLACK_SECRET_ARN; environment values for them are then ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, SecretStr, field_validator

from bot.adapters import aws
from bot.errors import BotConfigurationError
from bot.logic.conversations import parse_customer_channels
from bot.logic.roles import RoleGrants
from bot.logic.ticketing_rule import Strictness, parse_strictness
from contract import defaults, names
from contract.settings import EnvSettings

DEFAULT_CATALOG_PATH = names.REPO_ROOT / "contract" / defaults.CATALOG_RESOURCE
SECRET_MAX_AGE_SECONDS = 300


def _env(name: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name))


class BotSettings(EnvSettings):
    """Everything the Slack front end reads from its environment."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    signing_secret: SecretStr | None = _env(names.ENV_SLACK_SIGNING_SECRET)
    bot_token: SecretStr | None = _env(names.ENV_SLACK_BOT_TOKEN)
    app_token: SecretStr | None = _env(names.ENV_SLACK_APP_TOKEN)
    api_url: str | None = _env(names.ENV_SLACK_API_URL)
    # Channel ids are best (chat.update needs ids); names work for the first post of a public channel.
    channel: str = Field("tms-tickets", validation_alias=AliasChoices(names.ENV_SLACK_CHANNEL))
    alerts_channel: str = Field("tms-alerts", validation_alias=AliasChoices(names.ENV_SLACK_ALERTS_CHANNEL))
    outbox: str = Field("", validation_alias=AliasChoices(names.ENV_SLACK_OUTBOX))
    post_interval_s: float = Field(
        1.0, ge=0, le=60, validation_alias=AliasChoices(names.ENV_SLACK_POST_INTERVAL)
    )
    secret_arn: str = Field("", validation_alias=AliasChoices(names.ENV_SLACK_SECRET_ARN))
    stream_name: str = Field("", validation_alias=AliasChoices(names.ENV_STREAM_NAME))
    table_name: str = Field("", validation_alias=AliasChoices(names.ENV_TABLE_NAME))
    alarms_topic_arn: str = Field("", validation_alias=AliasChoices(names.ENV_ALARMS_TOPIC_ARN))
    topic_arn: str = Field("", validation_alias=AliasChoices(names.ENV_TOPIC_ARN))
    # On call (issue 32): the agents new tickets are routed to (user ids) and a user group (S...) SLA warnings
    # mention on tickets nobody owns. TMS_SLA_ONCALL_GROUP is its deprecated name (read with a warning).
    oncall: str = Field("", validation_alias=AliasChoices(names.ENV_ONCALL))
    oncall_group: str = Field("", validation_alias=AliasChoices(names.ENV_SLA_ONCALL_GROUP))
    # Roles (bot/logic/roles.py): comma-separated Slack user and user-group ids. Empty: nobody.
    agents: str = Field("", validation_alias=AliasChoices(names.ENV_AGENTS))
    approvers: str = Field("", validation_alias=AliasChoices(names.ENV_APPROVERS))
    admins: str = Field("", validation_alias=AliasChoices(names.ENV_ADMINS))
    four_eyes: Literal["on", "off"] = Field("on", validation_alias=AliasChoices(names.ENV_FOUR_EYES))
    # The installation served (empty: any, with a warning once; set both on AWS).
    slack_app_id: str = Field(
        "", pattern=r"^(A[A-Z0-9]{2,})?$", validation_alias=AliasChoices(names.ENV_SLACK_APP_ID)
    )
    slack_team_id: str = Field(
        "", pattern=r"^([TE][A-Z0-9]{2,})?$", validation_alias=AliasChoices(names.ENV_SLACK_TEAM_ID)
    )
    # The SLA timer function, told about first responses and new priorities (empty: timers only expire).
    sla_function: str = Field("", validation_alias=AliasChoices(names.ENV_SLA_FUNCTION))
    # The bot's own identity (Slack app settings > "App Home"/auth.test once): Bolt needs no auth.test call
    # before the first ack. Only events from the bot itself depend on them; empty is fine for commands.
    bot_user_id: str = Field("", validation_alias=AliasChoices(names.ENV_SLACK_BOT_USER_ID))
    bot_id: str = Field("", validation_alias=AliasChoices(names.ENV_SLACK_BOT_ID))
    # How readily a top-level customer message in a watched channel becomes a ticket (issue 31).
    ticketing_strictness: Strictness = Field(
        defaults.TICKETING_STRICTNESS, validation_alias=AliasChoices(names.ENV_TICKETING_STRICTNESS)
    )
    # Watched customer channels: "C0ACME=Acme Corp,C0GLOBEX" (bot/logic/conversations.py parses it).
    customer_channels: str = Field("", validation_alias=AliasChoices(names.ENV_CUSTOMER_CHANNELS))
    dm_window_hours: float = Field(
        defaults.SLACK_DM_WINDOW_HOURS,
        ge=0,
        le=24 * 90,
        validation_alias=AliasChoices(names.ENV_SLACK_DM_WINDOW_HOURS),
    )
    # An answer to a RESOLVED ticket within this many days reopens it (the mail pipeline reads the same).
    reopen_window_days: float = Field(
        defaults.REOPEN_WINDOW_DAYS, ge=0, le=365, validation_alias=AliasChoices(names.ENV_REOPEN_WINDOW_DAYS)
    )
    catalog_path: Path = DEFAULT_CATALOG_PATH

    @field_validator("customer_channels")
    @classmethod
    def _channels(cls, value: str) -> str:
        parse_customer_channels(value)  # a bad value fails at cold start, naming the setting
        return value

    def watched_channels(self) -> dict[str, str]:
        """The configured customer channels and the company of each ("" when not mapped)."""
        return parse_customer_channels(self.customer_channels)

    @field_validator("ticketing_strictness", mode="before")
    @classmethod
    def _strictness(cls, value: object) -> Strictness:
        return parse_strictness(None if value is None else str(value))

    def role_grants(self) -> RoleGrants:
        """The configured roles; BotConfigurationError (at cold start) for anything that is not an id."""
        try:
            return RoleGrants.parse(
                agents=self.agents, approvers=self.approvers, admins=self.admins, oncall=self.oncall_setting()
            )
        except ValueError as e:
            raise BotConfigurationError(str(e)) from e

    def oncall_setting(self) -> str:
        """TMS_ONCALL, else the deprecated TMS_SLA_ONCALL_GROUP (with a warning once per cold start)."""
        if self.oncall or not self.oncall_group:
            return self.oncall
        from bot.observability import logger

        logger.warning(f"{names.ENV_SLA_ONCALL_GROUP} is deprecated: set {names.ENV_ONCALL} instead")
        return self.oncall_group

    def secret(self, field: str) -> str:
        """The plain value of a secret setting, or BotConfigurationError naming its variable."""
        value = getattr(self, field)
        if value is None or not value.get_secret_value():
            variable = {
                "signing_secret": names.ENV_SLACK_SIGNING_SECRET,
                "bot_token": names.ENV_SLACK_BOT_TOKEN,
                "app_token": names.ENV_SLACK_APP_TOKEN,
            }[field]
            raise BotConfigurationError(f"{variable} is not set")
        return str(value.get_secret_value())

    def require(self, *fields: str) -> BotSettings:
        """Fail fast (at cold start) when a setting this entry point needs is empty."""
        missing = [f for f in fields if not getattr(self, f)]
        if missing:
            raise BotConfigurationError(f"missing settings: {', '.join(missing)}")
        return self


def fetch_secret(arn: str, *, profile: str = "bot") -> dict[str, Any]:
    """The Slack secret JSON from Secrets Manager, cached by Powertools for a few minutes.

    The client comes from the one client factory (`profile`: "bot" for Slack's 3 s ack budget, "default" for
    the notifier): it shares the boto3 session, and so the service index and endpoint rules botocore loads
    once per session, with the bot's Kinesis client. Powertools' default provider built a second session for
    Secrets Manager alone (~0.1 s of every cold start here) with botocore's 60 s default read timeout.
    """
    value = _secrets_provider(aws.client("secretsmanager", profile=profile)).get(
        arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS
    )
    if not isinstance(value, dict):
        raise BotConfigurationError(f"secret {arn} is not a JSON object")
    return value


@cache
def _secrets_provider(client: Any) -> Any:
    """One Powertools provider (and value cache) per client: a new client (clients.clear_cache) gets a new one."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


def load_settings(fetch: Callable[[str], dict[str, Any]] = fetch_secret) -> BotSettings:
    """Settings from the environment; with a secret ARN, the Slack credentials come from that secret only."""
    settings = BotSettings()
    if not settings.secret_arn:
        return settings
    secret = fetch(settings.secret_arn)
    try:
        return settings.model_copy(
            update={
                "bot_token": SecretStr(secret["bot_token"]),
                "signing_secret": SecretStr(secret["signing_secret"]),
            }
        )
    except KeyError as e:
        raise BotConfigurationError(f"secret {settings.secret_arn} lacks the key {e.args[0]!r}") from e
