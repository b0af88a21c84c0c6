"""Intake audit Lambda: on its own mapping of the ticket stream, without a filter, it dead-letters (with
the reason) every record the trigger mapping's eventName filter drops, so no record vanishes unseen."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.aws import SqsDeadLetters
from pipeline.domain.intake import AuditOutcome, audit_record
from pipeline.handlers._records import record_meta
from pipeline.observability import logger, metrics
from pipeline.settings import audit_settings

processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


@cache
def _dlq() -> SqsDeadLetters:
    return SqsDeadLetters(audit_settings().dlq_url)


def record_handler(record: KinesisStreamRecord) -> str:
    """Audit one record; raising (the DLQ is unreachable) marks it failed so the mapping retries it."""
    outcome = audit_record(record.kinesis.data_as_bytes(), record_meta(record), _dlq())
    if outcome is AuditOutcome.FILTERED:
        logger.warning(
            "record dropped by the trigger's filter was dead-lettered",
            extra={"partition_key": record.kinesis.partition_key, "sequence": record.kinesis.sequence_number},
        )
    return outcome.value


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    with processor(records=event["Records"], handler=record_handler):
        processed = processor.process()
    outcomes = Counter(result for status, result, _record in processed if status == "success")
    metrics.add_metric(name="RecordsFiltered", unit="Count", value=outcomes.get(AuditOutcome.FILTERED, 0))
    metrics.add_metric(name="RecordsFailed", unit="Count", value=len(processor.fail_messages))
    return dict(processor.response())
