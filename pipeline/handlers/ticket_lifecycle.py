"""Ticket-lifecycle Lambda: DynamoDB stream batch of the tickets table in, lifecycle/ records for the
warehouse out, partial batch failures back to the event source mapping."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.names import LIFECYCLE_PREFIX
from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore
from pipeline.domain.lifecycle_feed import record_change
from pipeline.observability import logger, metrics
from pipeline.settings import lifecycle_settings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def _sink() -> ManifestedStore:
    # Each lifecycle record also gets a manifest marker: the warehouse load selects by processing time.
    return ManifestedStore(S3ArchiveStore(lifecycle_settings().bucket_name), LIFECYCLE_PREFIX)


def record_handler(record: DynamoDBRecord) -> str:
    """Handle one stream record; raising marks it failed so the mapping retries from it."""
    key = record_change(record.raw_event, _sink())
    return key or ""


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    with processor(records=event["Records"], handler=record_handler):
        processed = processor.process()
    written = sum(1 for status, key, _record in processed if status == "success" and key)
    metrics.add_metric(name="LifecycleRecordsWritten", unit="Count", value=written)
    metrics.add_metric(name="LifecycleRecordsSkipped", unit="Count", value=len(processed) - written)
    return dict(processor.response())
