"""Incident task of the ticket workflow: embed the ticket, search the open window, link it to an incident.

Typed errors propagate for the ASL: LlmThrottledError / EmbeddingUnavailableError / IncidentConflictError
are retried; anything else fails the ticket like the other steps.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.adapters.clients import aws_client
from pipeline.adapters.embeddings import embedder
from pipeline.adapters.incident_store import DynamoIncidentStore
from pipeline.adapters.vector_index import DynamoVectorIndex
from pipeline.domain.incidents import link_ticket
from pipeline.domain.redaction import redact
from pipeline.errors import InvalidTicketError
from pipeline.models import PiiResult, TicketSubmitted, TriageResult, field_errors
from pipeline.observability import logger
from pipeline.settings import incident_settings

ALONE: dict[str, Any] = {
    "incident_id": "",
    "root_ticket_id": "",
    "position": 0,
    "count": 0,
    "companies": [],
    "priority": "",
    "report_line": "",
}


class LinkIncidentEvent(BaseModel):
    """The task input the state machine passes."""

    model_config = ConfigDict(extra="ignore")

    ticket: TicketSubmitted
    triage: TriageResult
    # The workflow's PII detection: what is embedded (and sent to Bedrock) is the redacted text.
    pii: PiiResult = Field(default_factory=PiiResult)


@cache
def _index() -> DynamoVectorIndex:
    # One window per warm process: it catches up incrementally (see pipeline.adapters.vector_index).
    return DynamoVectorIndex(incident_settings().table_name, aws_client("dynamodb"), embedder().dimensions)


@cache
def _store() -> DynamoIncidentStore:
    return DynamoIncidentStore(incident_settings().table_name, aws_client("dynamodb"))


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Link one ticket; return its incident summary (incident_id "" when it stays alone)."""
    try:
        request = LinkIncidentEvent.model_validate(event)
    except ValidationError as e:
        raise InvalidTicketError(field_errors(e)) from e
    ticket, settings = request.ticket, incident_settings()
    logger.append_keys(ticket_id=ticket.ticketId)
    link = link_ticket(
        ticket.ticketId,
        redact(ticket, request.pii).ticket.data,
        ticket.submittedAt,
        embedder=embedder(),
        index=_index(),
        threshold=settings.threshold,
        decay_per_hour=settings.decay_per_hour,
        window=timedelta(hours=settings.window_hours),
    )
    if not link.linked:
        return ALONE
    c = ticket.data.customer
    who = f"{c.full_name}, {c.company}" if c.company else c.full_name
    summary = _store().attach(
        ticket.ticketId,
        link,
        company=c.company,
        priority=request.triage.priority,
        report=f"{who}: {ticket.data.subject}",
    )
    logger.info(
        "ticket linked to an incident",
        extra={
            "incident_id": link.incident_id,
            "opened": link.opened,
            "similarity": round(link.similarity or 0, 3),
        },
    )
    return summary
