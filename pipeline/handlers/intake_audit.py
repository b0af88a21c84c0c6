"""Intake audit Lambda: on its own mapping of the ticket stream, without a filter, it dead-letters (with
the reason) every record the trigger mapping's eventName filter drops, so no record vanishes unseen."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.lambda_events import KinesisRecord, kinesis_records, process_batch
from pipeline.adapters.aws import SqsDeadLetters
from pipeline.domain.intake import AuditOutcome, audit_record
from pipeline.handlers._records import record_meta
from pipeline.observability import logger, metrics
from pipeline.settings import audit_settings


@cache
def _dlq() -> SqsDeadLetters:
    return SqsDeadLetters(audit_settings().dlq_url)


def record_handler(record: KinesisRecord) -> str:
    """Audit one record; raising (the DLQ is unreachable) marks it failed so the mapping retries it."""
    outcome = audit_record(record.data, record_meta(record), _dlq())
    if outcome is AuditOutcome.FILTERED:
        logger.warning(
            "record dropped by the trigger's filter was dead-lettered",
            extra={"partition_key": record.partition_key, "sequence": record.sequence_number},
        )
    return outcome.value


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    batch = process_batch(kinesis_records(event), record_handler, lambda r: r.sequence_number, logger)
    outcomes = Counter(batch.results)
    metrics.add_metric(name="RecordsFiltered", unit="Count", value=outcomes.get(AuditOutcome.FILTERED, 0))
    metrics.add_metric(name="RecordsFailed", unit="Count", value=len(batch.failed))
    return batch.response()
