"""Drafting the customer reply: ask a reply model, then accept its answer only if it meets the contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from contract.errors import InvalidModelOutputError
from contract.models import (
    REASONING_MAX,
    RESPONSE_MAX,
    PiiResult,
    Priority,
    SentimentResult,
    SourceRef,
    TicketSubmitted,
    TicketUsage,
    TriageResult,
    field_errors,
)
from pipeline.domain.policy import bound_priority, check_reply, restate_escalation
from pipeline.domain.redaction import for_model, redact
from pipeline.domain.usage import estimated_tokens

if TYPE_CHECKING:
    from pipeline.domain.grounding import Grounding
    from pipeline.domain.knowledge import Retriever


class TriageDraft(BaseModel):
    """A customer support reply with its priority and the reasoning behind the priority."""

    # Also the structured-output schema the LLM fills: the descriptions are what the model reads.
    model_config = ConfigDict(extra="ignore")

    response_text: str = Field(
        description="The complete reply to the customer, following every rule of the reply policy.",
        max_length=RESPONSE_MAX,
    )
    priority: Priority = Field(description="Exactly one of HIGH, MEDIUM, NORMAL.")
    priority_reasoning: str = Field(
        description="One or two sentences: why this priority, from the sentiment and the business impact.",
        max_length=REASONING_MAX,
    )
    used_sources: list[str] = Field(
        default_factory=list,
        description="The ids of the quoted knowledge-base passages the reply relies on (none: empty).",
    )
    # The tokens the model billed for this answer (its response's usage metadata), when it reported them.
    _usage: TicketUsage | None = PrivateAttr(default=None)

    def with_usage(self, input_tokens: int, output_tokens: int) -> TriageDraft:
        """This draft, carrying the model's token counts."""
        self._usage = TicketUsage(llm_input_tokens=input_tokens, llm_output_tokens=output_tokens)
        return self

    @property
    def usage(self) -> TicketUsage:
        """The tokens of this answer (zero when the model reported none)."""
        return self._usage or TicketUsage()


class ReplyModel(Protocol):
    """Anything that drafts a reply for a ticket: an LLM adapter or the offline policy model."""

    model_id: str

    def draft(
        self, ticket: TicketSubmitted, sentiment: SentimentResult, grounding: Grounding | None = None
    ) -> TriageDraft | Mapping[str, Any]:
        """Draft the reply, priority and reasoning for one ticket (from the quoted passages when given)."""
        ...


def validate_draft(
    answer: TriageDraft | Mapping[str, Any] | Any, ticket: TicketSubmitted, model_id: str
) -> TriageResult:
    """The model's answer as a TriageResult, or InvalidModelOutputError naming everything wrong with it."""
    if isinstance(answer, BaseModel):
        fields = answer.model_dump()
    elif isinstance(answer, Mapping):
        fields = dict(answer)
    else:
        raise InvalidModelOutputError(
            f"reply model {model_id} answered a {type(answer).__name__}, not an object"
        )
    fields["model_id"] = model_id  # the adapter's identity, never what the model claims to be
    # What the bound decides (apply_priority_bound), never what the model claims.
    fields.pop("model_priority", None)
    fields.pop("priority_flags", None)
    fields.pop("used_sources", None)  # the sources are the grounding's, checked against what was quoted
    try:
        result = TriageResult.model_validate(fields)
    except ValidationError as e:
        raise InvalidModelOutputError(
            f"reply model {model_id} output breaks the contract: {'; '.join(field_errors(e))}"
        ) from e
    violations = check_reply(
        result.response_text, ticket.ticketId, result.priority, ticket.data.customer.first_name
    )
    if violations:
        problems = "; ".join(f"{v.rule}: {v.detail}" for v in violations)
        raise InvalidModelOutputError(f"reply model {model_id} reply breaks the policy: {problems}")
    return result


def apply_priority_bound(
    result: TriageResult, ticket: TicketSubmitted, sentiment: SentimentResult
) -> TriageResult:
    """The validated result with the final priority: the model's pick within the rule-based bound
    (pipeline/domain/policy.py `bound_priority`). A changed priority restates the reply's escalation timing
    and reasoning; the model's pick is kept as `model_priority`."""
    decision = bound_priority(result.priority, ticket.data, sentiment)
    response = restate_escalation(result.response_text, result.priority, decision.priority)
    bounded = result.model_copy(
        update={
            "priority": decision.priority,
            "model_priority": decision.model_priority,
            "priority_flags": decision.flags_column,
            "priority_reasoning": decision.reasoning(result.priority_reasoning),
            "response_text": response,
        }
    )
    if decision.changed:
        violations = check_reply(
            response, ticket.ticketId, decision.priority, ticket.data.customer.first_name
        )
        if violations:  # the phrase could not be restated (the model wrote it in some other way)
            problems = "; ".join(f"{v.rule}: {v.detail}" for v in violations)
            raise InvalidModelOutputError(
                f"reply model {result.model_id} reply breaks the policy once its priority "
                f"{result.priority} is bounded to {decision.priority}: {problems}"
            )
    return bounded


def draft_reply(
    ticket: TicketSubmitted, sentiment: SentimentResult, model: ReplyModel, *, pii: PiiResult | None = None
) -> TriageResult:
    """Draft the reply for a ticket and return it only once it passes the schema and the reply policy.

    The model sees the ticket with PII redacted and without the customer's contact fields
    (pipeline/domain/redaction.py); the policy check runs against the real ticket.
    """
    return draft_reply_with_usage(ticket, sentiment, model, pii=pii)[0]


def draft_reply_with_usage(
    ticket: TicketSubmitted, sentiment: SentimentResult, model: ReplyModel, *, pii: PiiResult | None = None
) -> tuple[TriageResult, TicketUsage]:
    """draft_reply, and the model tokens the answer cost (as the model reported them on its draft).

    Every reply model, the offline one included, goes through the same bound on its priority."""
    shown = for_model(redact(ticket, pii or PiiResult()).ticket)
    answer = model.draft(shown, sentiment)
    usage = answer.usage if isinstance(answer, TriageDraft) else TicketUsage()
    result = validate_draft(answer, ticket, model.model_id)
    return apply_priority_bound(result, ticket, sentiment), usage


class GroundedDraft(BaseModel):
    """A validated draft (its `sources` and `retrieval_confidence` set) and the tokens it cost."""

    result: TriageResult
    usage: TicketUsage

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The sources as `{id, title, uri, score}` dicts."""
        return [s.model_dump() for s in self.result.sources]

    @property
    def confidence(self) -> float | None:
        """The best retrieval score (None: the knowledge base was empty, so not consulted)."""
        return self.result.retrieval_confidence


def retrieval_query(shown: TicketSubmitted) -> str:
    """What the knowledge base is searched with for a ticket already redacted for the model (`for_model`):
    its subject and description (the benchmarks search with the same text)."""
    return f"{shown.data.subject}\n{shown.data.description}"


def draft_grounded(
    ticket: TicketSubmitted,
    sentiment: SentimentResult,
    model: ReplyModel,
    kb: Retriever,
    embedding_model_id: str,
    *,
    pii: PiiResult | None = None,
) -> GroundedDraft:
    """draft_reply_with_usage, grounded: retrieval runs on the REDACTED ticket, the model gets the passages
    as untrusted quotations and the sources are the quoted passages it says it used."""
    from pipeline.domain.grounding import ground

    shown = for_model(redact(ticket, pii or PiiResult()).ticket)
    query = retrieval_query(shown)
    grounding = ground(query, kb, embedding_model_id)
    answer = model.draft(shown, sentiment, grounding) if grounding else model.draft(shown, sentiment)
    usage = answer.usage if isinstance(answer, TriageDraft) else TicketUsage()
    if grounding is not None:
        # The query was embedded (an empty knowledge base is not): Titan bills its input tokens, counted
        # with the incident step's (`tms cost`, "Bedrock embeddings"; docs/decisions/0020).
        usage = usage.plus(TicketUsage(embedding_input_tokens=estimated_tokens(query)))
    used = (
        answer.used_sources
        if isinstance(answer, TriageDraft)
        else list(answer.get("used_sources") or [])
        if isinstance(answer, Mapping)
        else []
    )
    result = apply_priority_bound(validate_draft(answer, ticket, model.model_id), ticket, sentiment)
    if grounding is not None:
        result = result.model_copy(
            update={
                "sources": [SourceRef.model_validate(s) for s in grounding.sources(used)],
                "retrieval_confidence": grounding.confidence,
            }
        )
    return GroundedDraft(result=result, usage=usage)
