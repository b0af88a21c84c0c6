"""Draft-reply task of the ticket workflow: ticket + Comprehend sentiment in, validated TriageResult out.

Typed errors propagate so the workflow's Retry/Catch match them by class name: LlmThrottledError and
LlmUnavailableError are retried, InvalidModelOutputError fails the ticket with the reason.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract import defaults, names
from contract.errors import InvalidTicketError
from contract.models import PiiResult, SentimentResult, TicketSubmitted, field_errors
from pipeline.adapters.llm import reply_model
from pipeline.domain.triage import draft_grounded, draft_reply_with_usage
from pipeline.domain.usage import Stopwatch
from pipeline.observability import logger


class DraftReplyEvent(BaseModel):
    """The task input the state machine passes."""

    model_config = ConfigDict(extra="ignore")

    ticket: TicketSubmitted
    sentiment: SentimentResult
    # Comprehend DetectPiiEntities on the workflow's text; absent in executions started before the step.
    pii: PiiResult = Field(default_factory=PiiResult)


def _knowledge_base() -> Any:
    """The knowledge base drafts are grounded in, or None (TMS_KB_PROVIDER=none): the store and numpy load
    only when drafts are grounded, so an ungrounded draft function's cold start stays as it was."""
    if (os.environ.get(names.ENV_KB_PROVIDER) or defaults.KB_PROVIDER) == "none":
        return None
    from pipeline.adapters.knowledge_store import draft_knowledge_base

    return draft_knowledge_base()


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Draft, validate and return the reply for one ticket, with the tokens and Lambda time it cost."""
    watch = Stopwatch(names.FN_DRAFT_REPLY, context)
    try:
        request = DraftReplyEvent.model_validate(event)
    except ValidationError as e:
        raise InvalidTicketError(field_errors(e)) from e
    logger.append_keys(ticket_id=request.ticket.ticketId)
    kb = _knowledge_base()
    if kb is None:
        result, tokens = draft_reply_with_usage(
            request.ticket, request.sentiment, reply_model(), pii=request.pii
        )
    else:
        model_id = kb.embedding_model_id
        drafted = draft_grounded(
            request.ticket, request.sentiment, reply_model(), kb, model_id, pii=request.pii
        )
        result, tokens = drafted.result, drafted.usage
    logger.info("reply drafted", extra={"priority": result.priority.value, "model_id": result.model_id})
    # The workflow hands `usage` to the archive step, which records the ticket's total (TicketUsage).
    return {**result.model_dump(mode="json"), "usage": tokens.plus(watch.usage()).model_dump()}
