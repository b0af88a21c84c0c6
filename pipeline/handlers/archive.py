"""Archive Lambda: flat record to S3 (idempotent key), DynamoDB update and SNS message back to the workflow."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract import names
from contract.models import (
    IncidentRef,
    PiiResult,
    SentimentResult,
    TicketSubmitted,
    TicketUsage,
    TriageResult,
)
from contract.names import ARCHIVE_PREFIX
from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore
from pipeline.domain.archive import archive_ticket
from pipeline.domain.usage import Stopwatch
from pipeline.observability import logger
from pipeline.settings import archive_settings, sla_policy


@cache
def _store() -> ManifestedStore:
    # Each analytics record also gets a manifest marker: the warehouse load selects by processing time.
    return ManifestedStore(S3ArchiveStore(archive_settings().bucket_name), ARCHIVE_PREFIX)


@cache
def _originals() -> S3ArchiveStore:
    settings = archive_settings()
    return S3ArchiveStore(settings.bucket_name, kms_key_id=settings.originals_key_id)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    watch = Stopwatch(names.FN_ARCHIVE, context)
    ticket = TicketSubmitted.model_validate(event["ticket"])
    logger.append_keys(ticket_id=ticket.ticketId)
    # The link-incident step's answer: incident_id "" when the ticket stays alone (or the step was skipped),
    # `failed` when it failed after its retries. Each earlier function also reported its `usage`.
    linked = dict(event.get("incident") or {})
    triage = dict(event["triage"])
    steps = TicketUsage.model_validate(triage.pop("usage", None) or {}).plus(
        TicketUsage.model_validate(linked.pop("usage", None) or {})
    )
    incident_failed = bool(linked.pop("failed", False))
    incident = IncidentRef.model_validate(linked) if linked.get("incident_id") else None
    pii_detected = (event.get("redaction") or {}).get("enabled", "on") == "on"
    result = archive_ticket(
        ticket,
        SentimentResult.model_validate(event["sentiment"]),
        TriageResult.model_validate(triage),
        _store(),
        policy=sla_policy(),
        pii=PiiResult.model_validate(event.get("pii") or {}),
        originals=_originals(),
        incident=incident,
        steps_usage=steps.plus(watch.usage()),
        pii_detected=pii_detected,
        incident_failed=incident_failed,
        retention=timedelta(days=archive_settings().ticket_retention_days),
    )
    logger.info("ticket archived", extra={"key": result["key"]})
    return result
