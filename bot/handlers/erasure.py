"""The erasure function: `tms customer forget EMAIL` against a deployed stack invokes it (synchronously)
with {"email": ..., "slack_user": ...}; it erases the customer from every store of contract/erasure.py this
runtime has and returns the per-store counts. The local CLI runs the same composition in-process and adds
the local-only stores (tools/erasure.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from bot.adapters import aws
from bot.adapters.erasure import DynamoTicketTable, RedshiftDataRows, S3ObjectVersions, SchedulerSchedules
from bot.adapters.slack import Poster
from bot.config import fetch_secret, load_settings
from bot.errors import BotConfigurationError
from bot.handlers.notifier import build_poster, build_thread_reader
from bot.logic.erasure import (
    Eraser,
    KnowledgeBaseEraser,
    SlackPostEraser,
    TableEraser,
    TimerEraser,
    WarehouseEraser,
    WarehouseRows,
    forget,
    prefix_erasers,
)
from bot.observability import logger
from contract import names
from contract.erasure import Subject
from contract.settings import EnvSettings


class ErasureRequest(BaseModel):
    """The function's event."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    slack_user: str = ""


def _env(name: str) -> Any:
    return Field("", validation_alias=AliasChoices(name))


class ErasureSettings(EnvSettings):
    """Where the stores are (CDK sets these; the local stack its own)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = _env(names.ENV_TABLE_NAME)
    bucket_name: str = _env(names.ENV_BUCKET_NAME)
    inbound_bucket_name: str = _env(names.ENV_INBOUND_BUCKET_NAME)
    schedule_group: str = _env(names.ENV_SLA_SCHEDULE_GROUP)
    redshift_cluster: str = _env(names.ENV_REDSHIFT_CLUSTER)
    redshift_workgroup: str = _env(names.ENV_REDSHIFT_WORKGROUP)
    redshift_database: str = _env(names.ENV_REDSHIFT_DATABASE)
    redshift_schema: str = _env(names.ENV_REDSHIFT_SCHEMA)
    redshift_table: str = _env(names.ENV_REDSHIFT_TABLE)
    redshift_secret_arn: str = _env(names.ENV_REDSHIFT_SECRET_ARN)

    def require(self) -> ErasureSettings:
        """Fail at cold start when a store's location is missing."""
        missing = [f for f in ("table_name", "bucket_name", "schedule_group") if not getattr(self, f)]
        if missing:
            raise BotConfigurationError(f"erasure: missing settings: {', '.join(missing)}")
        return self

    def redshift_rows(self) -> RedshiftDataRows | None:
        """The Redshift warehouse, when this runtime has one."""
        if not (self.redshift_cluster or self.redshift_workgroup):
            return None
        return RedshiftDataRows(
            aws.client("redshift-data", profile="default"),
            database=self.redshift_database,
            secret_arn=self.redshift_secret_arn,
            schema=self.redshift_schema,
            table=self.redshift_table,
            cluster_identifier=self.redshift_cluster,
            workgroup_name=self.redshift_workgroup,
        )


def erasers(
    settings: ErasureSettings, poster: Poster, warehouse: WarehouseRows | None
) -> tuple[DynamoTicketTable, list[Eraser]]:
    """The table and an eraser for every store this runtime has (the local stack adds its own)."""
    settings.require()
    table = DynamoTicketTable(settings.table_name, aws.client("dynamodb", profile="default"))
    s3 = aws.client("s3", profile="default")
    objects = S3ObjectVersions(settings.bucket_name, s3)
    inbound = S3ObjectVersions(settings.inbound_bucket_name, s3) if settings.inbound_bucket_name else None
    composed: list[Eraser] = [
        TableEraser(table),
        *prefix_erasers(objects, inbound),
        KnowledgeBaseEraser(objects),
        TimerEraser(SchedulerSchedules(settings.schedule_group, aws.client("scheduler", profile="default"))),
        SlackPostEraser(poster),
    ]
    if warehouse is not None:
        composed.append(WarehouseEraser(warehouse))
    return table, composed


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Erase one customer; the per-store counts (never the address: logs carry no customer data)."""
    request = ErasureRequest.model_validate(event)
    settings = ErasureSettings()
    bot_settings = load_settings(partial(fetch_secret, profile="default"))
    table, composed = erasers(settings, build_poster(bot_settings), settings.redshift_rows())
    threads = build_thread_reader(bot_settings)
    report = forget(Subject(request.email, request.slack_user), table, composed, threads)
    logger.info("customer erased", extra={"tickets": report.tickets, "changed": report.changed})
    return report.as_dict()
