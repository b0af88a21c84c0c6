"""kb-sync Lambda (scheduled, issue 30.1): the knowledge base follows kb/docs/ of the stack bucket. New and
changed documents (by ETag) are read and ingested, deleted ones removed, files and precedents left alone;
the local runtime runs the same handler on the same interval, and `tms kb sync` runs it once."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract import names
from pipeline.adapters.kb_documents import S3DocumentSource
from pipeline.domain.kb_sync import SyncedKnowledgeBase, sync_documents
from pipeline.observability import logger, metrics
from pipeline.settings import kb_sync_settings


@cache
def _knowledge_base() -> SyncedKnowledgeBase:
    # numpy and the index load on the first run, not at import (the cold path stays light).
    from pipeline.adapters.knowledge_store import sync_knowledge_base

    return sync_knowledge_base(kb_sync_settings().bucket_name)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: one sync run; what it changed, skipped and left for the next run."""
    s = kb_sync_settings()
    source = S3DocumentSource(s.bucket_name, names.KB_DOCS_PREFIX)
    report = sync_documents(
        source,
        _knowledge_base(),
        origin_prefix=source.uri(names.KB_DOCS_PREFIX),
        base_url=s.base_url or None,
        max_documents=s.max_documents,
    )
    for skipped in report.skipped:
        logger.warning(
            "knowledge-base document skipped", extra={"key": skipped.key, "reason": skipped.reason}
        )
    logger.info(
        "knowledge base synced",
        extra={
            "added": len(report.added),
            "replaced": len(report.replaced),
            "removed": len(report.removed),
            "unchanged": report.unchanged,
            "deferred": report.deferred,
        },
    )
    for name, value in (
        ("KbDocumentsIngested", len(report.added) + len(report.replaced)),
        ("KbDocumentsRemoved", len(report.removed)),
        ("KbDocumentsSkipped", len(report.skipped)),
        ("KbDocumentsDeferred", report.deferred),
    ):
        metrics.add_metric(name=name, unit="Count", value=value)
    return asdict(report)
