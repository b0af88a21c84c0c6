"""Ticket-lifecycle Lambda: DynamoDB stream batch of the tickets table in, lifecycle/ records for the
warehouse out, partial batch failures back to the event source mapping. The same records keep the on-call
agents' routing loads in step with their tickets (pipeline.domain.routing.sync_load)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.lambda_events import process_batch, stream_sequence_number
from contract.names import LIFECYCLE_PREFIX
from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore
from pipeline.adapters.routing import DynamoRoutingStore
from pipeline.domain.lifecycle_feed import images, record_change
from pipeline.domain.precedents import PiiDetector, PrecedentStore, record_precedent
from pipeline.domain.routing import sync_load
from pipeline.observability import logger, metrics
from pipeline.settings import lifecycle_settings


@cache
def _sink() -> ManifestedStore:
    # Each lifecycle record also gets a manifest marker: the warehouse load selects by processing time.
    return ManifestedStore(S3ArchiveStore(lifecycle_settings().bucket_name), LIFECYCLE_PREFIX)


@cache
def _loads() -> DynamoRoutingStore | None:
    table = lifecycle_settings().table_name
    return DynamoRoutingStore(table) if table else None


@cache
def _precedents() -> tuple[PrecedentStore, PiiDetector, str] | None:
    """The knowledge base and PII detector resolved tickets become precedents with (issue 30.2); None when
    no precedent base URL or no knowledge base is configured."""
    base_url = lifecycle_settings().precedent_base_url
    if not base_url:
        return None
    from pipeline.adapters.csat import ComprehendPii
    from pipeline.adapters.knowledge_store import draft_knowledge_base

    kb = draft_knowledge_base()
    return (kb, ComprehendPii(), base_url) if kb is not None else None


def record_handler(record: dict[str, Any]) -> str:
    """Handle one stream record; raising marks it failed so the mapping retries from it (every write is
    idempotent: a precedent added again replaces itself)."""
    key = record_change(record, _sink())
    old, new = images(record)
    loads = _loads()
    if loads is not None:
        sync_load(loads, old, new)
    if (precedents := _precedents()) is not None:
        record_precedent(new, old, *precedents)
    return key or ""


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point."""
    records = event.get("Records") or []
    batch = process_batch(records, record_handler, stream_sequence_number, logger)
    written = sum(1 for key in batch.results if key)
    metrics.add_metric(name="LifecycleRecordsWritten", unit="Count", value=written)
    metrics.add_metric(name="LifecycleRecordsSkipped", unit="Count", value=len(records) - written)
    return batch.response()
