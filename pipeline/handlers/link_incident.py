"""Incident task of the ticket workflow: embed the ticket, search the open window, link it to an incident.

Typed errors propagate for the ASL: LlmThrottledError / EmbeddingUnavailableError / IncidentConflictError
are retried; anything else fails the ticket like the other steps.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contract import names
from contract.clients import aws_client
from contract.errors import InvalidTicketError
from contract.models import PiiResult, TicketSubmitted, TicketUsage, TriageResult, field_errors
from pipeline.adapters.embeddings import embedder
from pipeline.adapters.incident_store import DynamoIncidentStore
from pipeline.adapters.vector_index import DynamoVectorIndex
from pipeline.domain.incidents import LinkJudge, incident_text, judged_text, link_ticket
from pipeline.domain.redaction import redact
from pipeline.domain.usage import Stopwatch, claim_item_size, estimated_tokens, vector_bytes, write_units
from pipeline.observability import logger, metrics
from pipeline.settings import incident_judge, incident_settings

ALONE: dict[str, Any] = {
    "incident_id": "",
    "root_ticket_id": "",
    "position": 0,
    "count": 0,
    "companies": [],
    "priority": "",
    "report_line": "",
    "merged_from": [],
}


class LinkIncidentEvent(BaseModel):
    """The task input the state machine passes."""

    model_config = ConfigDict(extra="ignore")

    ticket: TicketSubmitted
    triage: TriageResult
    # The workflow's PII detection: what is embedded (and sent to Bedrock) is the redacted text.
    pii: PiiResult = Field(default_factory=PiiResult)

    @field_validator("triage", mode="before")
    @classmethod
    def _without_usage(cls, value: Any) -> Any:
        # The draft step's answer also carries its usage, which the archive step records.
        return {k: v for k, v in value.items() if k != "usage"} if isinstance(value, dict) else value


@cache
def _index() -> DynamoVectorIndex:
    # One window per warm process: it catches up incrementally (see pipeline.adapters.vector_index).
    return DynamoVectorIndex(incident_settings().table_name, aws_client("dynamodb"), embedder().dimensions)


@cache
def _store() -> DynamoIncidentStore:
    return DynamoIncidentStore(incident_settings().table_name, aws_client("dynamodb"))


def _judge() -> LinkJudge | None:
    """The second opinion when TMS_INCIDENT_JUDGE asks for one (imported only then: LangChain is heavy)."""
    if incident_judge() == "off":
        return None
    from pipeline.adapters.link_judge import link_judge

    return link_judge()


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Link one ticket; return its incident summary (incident_id "" when it stays alone) and its usage."""
    watch = Stopwatch(names.FN_LINK_INCIDENT, context)
    try:
        request = LinkIncidentEvent.model_validate(event)
    except ValidationError as e:
        raise InvalidTicketError(field_errors(e)) from e
    ticket, settings = request.ticket, incident_settings()
    logger.append_keys(ticket_id=ticket.ticketId)
    shown = redact(ticket, request.pii).ticket.data
    link = link_ticket(
        ticket.ticketId,
        shown,
        ticket.submittedAt,
        embedder=embedder(),
        index=_index(),
        threshold=settings.threshold,
        decay_per_hour=settings.decay_per_hour,
        window=timedelta(hours=settings.window_hours),
        judge=_judge(),
    )
    # The second opinion's outcomes as metrics (IncidentSecondOpinionSame / Different / Failed), flushed only
    # when there is one (most tickets ask nothing): a judge that keeps failing leaves grouping to the score.
    # A failed judge never fails the ticket: the link stands as the score decided.
    verdict = link.verdict
    if link.judge_error:
        logger.warning("incident second opinion failed", extra={"error": link.judge_error})
    elif verdict is not None:
        logger.info("incident second opinion", extra={"same_problem": verdict.same_problem})
    if link.judge_error or verdict is not None:
        outcome = "Failed" if verdict is None else "Same" if verdict.same_problem else "Different"
        metrics.add_metric(name=f"IncidentSecondOpinion{outcome}", unit="Count", value=1)
        metrics.flush_metrics()
    # Tokens estimated (the embedders return vectors only); the vector write rewrites the claimed item (with
    # the redacted text stored beside the vector).
    spent = TicketUsage(
        embedding_input_tokens=estimated_tokens(incident_text(shown)),
        dynamodb_write_units=write_units(
            claim_item_size(ticket) + vector_bytes(embedder().dimensions) + len(judged_text(shown).encode())
        ),
        # The second opinion is the reply model: its tokens are the reply model's, at its price.
        llm_input_tokens=verdict.input_tokens if verdict else 0,
        llm_output_tokens=verdict.output_tokens if verdict else 0,
    )
    # A ticket run again (`tms retry`, a local restart) that is the root of the incident a later report
    # opened comes out as on its first run: alone (the root is never announced as a member).
    if not link.linked or link.root_ticket_id == ticket.ticketId:
        return {**ALONE, "usage": spent.plus(watch.usage()).model_dump()}
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
            "merged": len(link.merged_incidents) + len(link.joined_tickets),
            "link_score": round(link.similarity or 0, 3),  # the combined score (incident_signals)
        },
    )
    return {**summary, "usage": spent.plus(watch.usage()).model_dump()}
