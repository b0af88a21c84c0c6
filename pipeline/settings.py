"""Validated settings for the pipeline's Lambdas, read once at cold start."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from contract import defaults, names
from contract.errors import ConfigurationError
from contract.settings import EnvSettings
from pipeline.domain.routing import RoutingPolicy
from pipeline.domain.sla import SlaPolicy


class TriggerSettings(EnvSettings):
    env_ignore_empty = True

    state_machine_arn: str = Field(validation_alias=names.ENV_STATE_MACHINE_ARN, min_length=20)
    dlq_url: str = Field(validation_alias=names.ENV_DLQ_URL, min_length=8)
    # Where each ticket's execution input is kept for `tms retry` (inputs/), and the key it is encrypted with.
    bucket_name: str = Field(validation_alias=names.ENV_BUCKET_NAME, min_length=3)
    inputs_key_id: str | None = Field(default=None, validation_alias=names.ENV_ORIGINALS_KEY_ID)
    # New-ticket limits (issue 27.5): counted in the tickets table; announced on the alarms topic.
    table_name: str | None = Field(default=None, validation_alias=names.ENV_TABLE_NAME)
    alarms_topic_arn: str | None = Field(default=None, validation_alias=names.ENV_ALARMS_TOPIC_ARN)
    tickets_per_sender: int = Field(
        defaults.TICKETS_PER_SENDER_HOUR, ge=1, le=100_000, validation_alias=names.ENV_TICKETS_PER_SENDER
    )
    tickets_per_domain: int = Field(
        defaults.TICKETS_PER_DOMAIN_HOUR, ge=1, le=1_000_000, validation_alias=names.ENV_TICKETS_PER_DOMAIN
    )
    limit_exempt_sources: str = Field(
        ",".join(defaults.LIMIT_EXEMPT_SOURCES), validation_alias=names.ENV_LIMIT_EXEMPT_SOURCES
    )
    # Days a ticket item lives: the input carries when it expires should the ticket end FAILED.
    ticket_retention_days: int = Field(
        default=defaults.RETENTION_DAYS["tickets"],
        ge=1,
        validation_alias=names.ENV_RETENTION_PREFIX + "TICKETS",
    )


class AuditSettings(EnvSettings):
    dlq_url: str = Field(validation_alias=names.ENV_DLQ_URL, min_length=8)


class ArchiveSettings(EnvSettings):
    bucket_name: str = Field(validation_alias=names.ENV_BUCKET_NAME, min_length=3)
    # The KMS key the full original records are encrypted with (SSE-KMS); unset: the bucket's default.
    originals_key_id: str | None = Field(default=None, validation_alias=names.ENV_ORIGINALS_KEY_ID)
    # Days a ticket item lives after triage (its TTL attribute; cdk.json `retention.tickets`).
    ticket_retention_days: int = Field(
        default=defaults.RETENTION_DAYS["tickets"],
        ge=1,
        validation_alias=names.ENV_RETENTION_PREFIX + "TICKETS",
    )


class MailSettings(EnvSettings):
    """The mailer's and the inbound function's settings."""

    table_name: str = Field(validation_alias=names.ENV_TABLE_NAME, min_length=3)
    topic_arn: str = Field(validation_alias=names.ENV_TOPIC_ARN, min_length=20)
    reply_from: str = Field(validation_alias=names.ENV_REPLY_FROM, pattern=r"^[^@\s]+@[^@\s]+$")
    reply_to: str = Field("", validation_alias=names.ENV_REPLY_TO)
    # The SLA timer function, told when a reply is sent (the first response stops the timers).
    sla_function: str = Field("", validation_alias=names.ENV_SLA_FUNCTION)
    configuration_set: str = Field("", validation_alias=names.ENV_SES_CONFIGURATION_SET)
    reopen_window_days: float = Field(
        defaults.REOPEN_WINDOW_DAYS, ge=0, le=365, validation_alias=names.ENV_REOPEN_WINDOW_DAYS
    )
    # Inbound only: where SES stores raw mail, and the stream new tickets from mail go to.
    bucket_name: str = Field("", validation_alias=names.ENV_BUCKET_NAME)
    stream_name: str = Field("", validation_alias=names.ENV_STREAM_NAME)
    # Local only: a copy of each outgoing mail as an .eml file.
    mail_outbox_dir: str = Field("", validation_alias=names.ENV_MAIL_OUTBOX_DIR)
    # Who is trusted (issue 27): From domains trusted on their From alone, and the key signing reply
    # addresses: on AWS from the secret named by reply_key_secret_arn, locally the value itself.
    trusted_domains: str = Field("", validation_alias=names.ENV_MAIL_TRUSTED_DOMAINS)
    reply_key: SecretStr | None = Field(None, validation_alias=names.ENV_MAIL_REPLY_KEY)
    reply_key_secret_arn: str = Field("", validation_alias=names.ENV_MAIL_REPLY_KEY_SECRET_ARN)
    # Inbound only: the new-ticket limits (the trigger's, counted at mail's own door; the TMS_MAIL_* names are
    # deprecated), and where a limit's first hit is announced.
    tickets_per_sender: int = Field(
        defaults.TICKETS_PER_SENDER_HOUR,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices(names.ENV_TICKETS_PER_SENDER, names.ENV_MAIL_TICKETS_PER_SENDER),
    )
    tickets_per_domain: int = Field(
        defaults.TICKETS_PER_DOMAIN_HOUR,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices(names.ENV_TICKETS_PER_DOMAIN, names.ENV_MAIL_TICKETS_PER_DOMAIN),
    )
    alarms_topic_arn: str = Field("", validation_alias=names.ENV_ALARMS_TOPIC_ARN)


DEPRECATED_LIMIT_NAMES = {
    names.ENV_MAIL_TICKETS_PER_SENDER: names.ENV_TICKETS_PER_SENDER,
    names.ENV_MAIL_TICKETS_PER_DOMAIN: names.ENV_TICKETS_PER_DOMAIN,
}


@cache
def mail_settings() -> MailSettings:
    """Mail settings (cached); a deprecated limit name is warned about once per cold start."""
    for old, new in DEPRECATED_LIMIT_NAMES.items():
        if os.environ.get(old):
            from pipeline.observability import logger

            logger.warning(f"{old} is deprecated: set {new} (the same limit on every way in, mail included)")
    return MailSettings()  # type: ignore[call-arg]


class SlaSettings(EnvSettings):
    """The timer function: where timers live, what they invoke, where alerts go."""

    table_name: str = Field(validation_alias=names.ENV_TABLE_NAME, min_length=3)
    topic_arn: str = Field(validation_alias=names.ENV_TOPIC_ARN, min_length=20)
    escalation_topic_arn: str = Field("", validation_alias=names.ENV_ESCALATION_TOPIC_ARN)
    schedule_group: str = Field(validation_alias=names.ENV_SLA_SCHEDULE_GROUP, min_length=1)
    target_arn: str = Field(validation_alias=names.ENV_SLA_TARGET_ARN, min_length=20)
    scheduler_role_arn: str = Field(validation_alias=names.ENV_SLA_SCHEDULER_ROLE_ARN, min_length=20)
    dlq_arn: str = Field("", validation_alias=names.ENV_SLA_DLQ_ARN)


@cache
def sla_settings() -> SlaSettings:
    """Timer function settings (cached)."""
    return SlaSettings()  # type: ignore[call-arg]


@cache
def routing_policy() -> RoutingPolicy:
    """Who is on call and when unanswered tickets move (issue 32), validated at cold start."""
    if os.environ.get(names.ENV_SLA_ONCALL_GROUP) and not os.environ.get(names.ENV_ONCALL):
        from pipeline.observability import logger

        logger.warning(
            f"{names.ENV_SLA_ONCALL_GROUP} is deprecated: set {names.ENV_ONCALL} (the on-call agents' user ids)"
        )
    return RoutingPolicy.from_env(os.environ)


@cache
def sla_policy() -> SlaPolicy:
    """The SLA targets from the environment, validated at cold start (a bad duration fails fast)."""
    return SlaPolicy.from_env(os.environ)


@cache
def trigger_settings() -> TriggerSettings:
    """Trigger settings (cached)."""
    return TriggerSettings()  # type: ignore[call-arg]


@cache
def audit_settings() -> AuditSettings:
    """Intake audit settings (cached)."""
    return AuditSettings()  # type: ignore[call-arg]


@cache
def archive_settings() -> ArchiveSettings:
    """Archive settings (cached)."""
    return ArchiveSettings()  # type: ignore[call-arg]


def _https_or_empty(value: str, variable: str) -> str:
    """A base URL that documents are linked under: empty (none) or https:// (never another scheme)."""
    if value and not value.startswith("https://"):
        raise ValueError(f"{variable} must be an https:// URL, got {value!r}")
    return value


class LifecycleSettings(EnvSettings):
    """The ticket-lifecycle function's settings: the bucket its records go to."""

    bucket_name: str = Field(validation_alias=names.ENV_BUCKET_NAME, min_length=3)
    # The tickets table, where agents' routing loads follow their tickets (issue 32); empty: not followed.
    table_name: str = Field("", validation_alias=names.ENV_TABLE_NAME)
    # Issue 30.2: resolved tickets become knowledge-base precedents linked under this HTTPS base URL, when set
    # and when the knowledge base is on (TMS_KB_PROVIDER).
    precedent_base_url: str = Field("", validation_alias=names.ENV_PRECEDENT_BASE_URL)

    @field_validator("precedent_base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return _https_or_empty(value, names.ENV_PRECEDENT_BASE_URL)


@cache
def lifecycle_settings() -> LifecycleSettings:
    """Lifecycle feed settings (cached)."""
    return LifecycleSettings()  # type: ignore[call-arg]


class IncidentSettings(EnvSettings):
    """The incident step: where the tickets live and how similar reports must be to form an incident."""

    env_ignore_empty = True

    table_name: str = Field(validation_alias=names.ENV_TABLE_NAME, min_length=3)
    # None: the threshold of the embedding model's link model (contract/defaults.py INCIDENT_LINK_MODELS).
    threshold: float | None = Field(default=None, gt=0, lt=1, validation_alias=names.ENV_INCIDENT_THRESHOLD)
    decay_per_hour: float = Field(
        default=defaults.INCIDENT_DECAY_PER_HOUR, ge=0, le=1, validation_alias=names.ENV_INCIDENT_DECAY
    )
    window_hours: float = Field(
        default=defaults.INCIDENT_WINDOW_HOURS,
        gt=0,
        le=24 * 14,
        validation_alias=names.ENV_INCIDENT_WINDOW_HOURS,
    )


@cache
def incident_settings() -> IncidentSettings:
    """Incident step settings (cached)."""
    return IncidentSettings()  # type: ignore[call-arg]


IncidentJudge = Literal["off", "reply-model"]


def incident_judge() -> IncidentJudge:
    """TMS_INCIDENT_JUDGE: the second opinion on borderline links (pipeline/adapters/link_judge.py), "off" or
    "reply-model"; read on its own (the tools and the local stack's start have no table name to give)."""
    raw = os.environ.get(names.ENV_INCIDENT_JUDGE, "").strip() or defaults.INCIDENT_JUDGE
    if raw == "off":
        return "off"
    if raw == "reply-model":
        return "reply-model"
    raise ConfigurationError(f"{names.ENV_INCIDENT_JUDGE}={raw!r}: expected off or reply-model")


class CsatSettings(EnvSettings):
    """Issue 32: the rating link's key (local: the value; AWS: the secret's ARN), its public base URL."""

    base_url: str = Field("", validation_alias=names.ENV_CSAT_BASE_URL)
    key: SecretStr | None = Field(None, validation_alias=names.ENV_CSAT_KEY)
    key_secret_arn: str = Field("", validation_alias=names.ENV_CSAT_KEY_SECRET_ARN)

    @property
    def enabled(self) -> bool:
        """Rating questions go out only with a page to answer them on and a key to sign the links."""
        return bool(self.base_url and (self.key or self.key_secret_arn))


@cache
def csat_settings() -> CsatSettings:
    """CSAT settings (cached)."""
    return CsatSettings()  # type: ignore[call-arg]


class KbSyncSettings(EnvSettings):
    """The kb-sync function (issue 30.1): the bucket whose kb/docs/ it follows, the base URL of documents
    without their own link, and how many changed documents a run reads and embeds."""

    env_ignore_empty = True

    bucket_name: str = Field(validation_alias=names.ENV_BUCKET_NAME, min_length=3)
    base_url: str = Field("", validation_alias=names.ENV_KB_BASE_URL)
    max_documents: int = Field(
        defaults.KB_SYNC_MAX_DOCUMENTS, ge=1, le=1000, validation_alias=names.ENV_KB_SYNC_MAX_DOCUMENTS
    )

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return _https_or_empty(value, names.ENV_KB_BASE_URL)


@cache
def kb_sync_settings() -> KbSyncSettings:
    """kb-sync settings (cached)."""
    return KbSyncSettings()  # type: ignore[call-arg]
