"""Validated settings for the pipeline's Lambdas, read once at cold start."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra import names


class TriggerSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    state_machine_arn: str = Field(validation_alias=names.ENV_STATE_MACHINE_ARN, min_length=20)
    dlq_url: str = Field(validation_alias=names.ENV_DLQ_URL, min_length=8)


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    dlq_url: str = Field(validation_alias=names.ENV_DLQ_URL, min_length=8)


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    bucket_name: str = Field(validation_alias=names.ENV_BUCKET_NAME, min_length=3)
    # The KMS key the full original records are encrypted with (SSE-KMS); unset: the bucket's default.
    originals_key_id: str | None = Field(default=None, validation_alias=names.ENV_ORIGINALS_KEY_ID)


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
