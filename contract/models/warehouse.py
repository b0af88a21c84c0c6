"""The flat record (one S3 JSON line and one warehouse row per ticket) and the warehouse column contracts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    model_serializer,
    model_validator,
)

from contract.models.lifecycle import TicketLifecycle
from contract.models.tasks import SentimentResult, TriageResult, sources_column
from contract.models.ticket import (
    COMPANY_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    FULL_NAME_MAX,
    INCIDENT_ID_MAX,
    ISSUE_TYPE_MAX,
    MODEL_ID_MAX,
    NAME_MAX,
    PII_TYPES_MAX,
    PRIORITY_FLAGS_MAX,
    PRODUCT_MAX,
    REASONING_MAX,
    RESPONSE_MAX,
    SOURCES_MAX,
    SUBJECT_MAX,
    MaxBytes,
    Priority,
    SentimentLabel,
    TicketId,
    TicketStatus,
    TicketSubmitted,
    UtcDatetime,
    _Strict,
    text,
)
from contract.models.usage import USAGE_PREFIX, TicketUsage, _usage_columns

# The warehouse tables, by the names every engine gives them (Redshift's tickets table may be renamed with
# cdk.json `redshift.table`): the schema documents, erasure and retention name them from here.
TICKETS_TABLE = "tickets"
LIFECYCLE_TABLE = "ticket_lifecycle"


class ProcessedRecord(_Strict):
    """The flat record: one S3 JSON line and one warehouse row per ticket.

    Field order is column order. The first 19 columns are the original thesis table.
    """

    ticket_id: TicketId
    submitted_at: UtcDatetime
    customer_first_name: text(NAME_MAX)  # type: ignore[valid-type]
    customer_last_name: text(NAME_MAX)  # type: ignore[valid-type]
    customer_full_name: text(FULL_NAME_MAX)  # type: ignore[valid-type]
    customer_email: text(EMAIL_MAX)  # type: ignore[valid-type]
    product: text(PRODUCT_MAX)  # type: ignore[valid-type]
    issue_type: text(ISSUE_TYPE_MAX)  # type: ignore[valid-type]
    subject: text(SUBJECT_MAX)  # type: ignore[valid-type]
    description: text(DESCRIPTION_MAX)  # type: ignore[valid-type]
    response_text: text(RESPONSE_MAX)  # type: ignore[valid-type]
    sentiment: SentimentLabel
    sentiment_score_mixed: float = Field(ge=0, le=1)
    sentiment_score_negative: float = Field(ge=0, le=1)
    sentiment_score_neutral: float = Field(ge=0, le=1)
    sentiment_score_positive: float = Field(ge=0, le=1)
    priority: Priority
    priority_reasoning: text(REASONING_MAX)  # type: ignore[valid-type]
    processed_at: UtcDatetime
    company: text(COMPANY_MAX, required=False) = ""  # type: ignore[valid-type]
    status: TicketStatus = TicketStatus.TRIAGED
    model_id: text(MODEL_ID_MAX)  # type: ignore[valid-type]
    # PII entity types found in subject and description (sorted, comma-separated; "" when none): the
    # warehouse gets the redacted text and this column, never the original (pipeline/domain/redaction.py).
    pii_entity_types: text(PII_TYPES_MAX, required=False) = ""  # type: ignore[valid-type]
    # The incident this ticket was linked to when it was triaged ("" = alone). An incident's root was alone
    # when it was archived: its id is derived from the root's own (see the incident views in 020_views.sql).
    incident_id: text(INCIDENT_ID_MAX, required=False) = ""  # type: ignore[valid-type]
    # What triaging this ticket consumed (columns usage_<field>, in TicketUsage's order).
    usage: TicketUsage = Field(default_factory=TicketUsage)
    # What the reply model suggested before the rule-based bound (None: triaged before the bound existed),
    # and why the final priority differs or the ticket was flagged (PriorityFlag codes, "" when neither).
    model_priority: Priority | None = None
    priority_flags: text(PRIORITY_FLAGS_MAX, required=False) = ""  # type: ignore[valid-type]
    # The knowledge-base sources the draft used (a JSON array of {id, title, uri, score}; "" when none) and
    # the best retrieval score (None: the knowledge base was not consulted). Grounded = sources != "".
    sources: text(SOURCES_MAX, required=False) = ""  # type: ignore[valid-type]
    retrieval_confidence: float | None = None

    _flat_usage = model_validator(mode="before")(_usage_columns)

    @model_serializer(mode="wrap")
    def _flatten_usage(self, handler: Any) -> dict[str, Any]:
        # One flat record: the JSON line, the warehouse row and the DynamoDB item all carry usage_<field>.
        # The usage_<field> keys take usage's place, so key order is column order (model_columns).
        data: dict[str, Any] = handler(self)
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key == "usage":
                flat.update({f"{USAGE_PREFIX}{k}": v for k, v in (value or {}).items()})
            else:
                flat[key] = value
        return flat

    @classmethod
    def build(
        cls,
        ticket: TicketSubmitted,
        sentiment: SentimentResult,
        triage: TriageResult,
        processed_at: datetime | None = None,
        pii_entity_types: str = "",
        incident_id: str = "",
        usage: TicketUsage | None = None,
    ) -> ProcessedRecord:
        """Flatten one triaged ticket into its warehouse row."""
        d = ticket.data
        s = sentiment.SentimentScore
        return cls(
            ticket_id=ticket.ticketId,
            submitted_at=ticket.submittedAt,
            customer_first_name=d.customer.first_name,
            customer_last_name=d.customer.last_name,
            customer_full_name=d.customer.full_name,
            customer_email=str(d.customer.email),
            product=d.product,
            issue_type=d.issue_type,
            subject=d.subject,
            description=d.description,
            response_text=triage.response_text,
            sentiment=sentiment.Sentiment,
            sentiment_score_mixed=s.Mixed,
            sentiment_score_negative=s.Negative,
            sentiment_score_neutral=s.Neutral,
            sentiment_score_positive=s.Positive,
            priority=triage.priority,
            priority_reasoning=triage.priority_reasoning,
            processed_at=processed_at or datetime.now(UTC),
            company=d.customer.company,
            status=TicketStatus.TRIAGED,
            model_id=triage.model_id,
            pii_entity_types=pii_entity_types,
            incident_id=incident_id,
            usage=usage or TicketUsage(),
            model_priority=triage.model_priority,
            priority_flags=triage.priority_flags,
            sources=sources_column(triage.sources),
            retrieval_confidence=triage.retrieval_confidence,
        )

    def archive_key(self) -> str:
        """Deterministic S3 key, so a rerun overwrites the same object."""
        return f"tickets/submitted_date={self.submitted_at:%Y-%m-%d}/{self.ticket_id}.json"

    def to_json_line(self) -> str:
        """One JSON Lines record, newline-terminated."""
        return self.model_dump_json() + "\n"


# --- The warehouse column contracts, derived from ProcessedRecord and TicketLifecycle ----------------

ColumnKind = Literal["varchar", "timestamp", "double", "bigint", "boolean"]


@dataclass(frozen=True)
class Column:
    """One warehouse column derived from a model field."""

    name: str
    kind: ColumnKind
    max_bytes: int | None
    nullable: bool


_ENUM_WIDTH = 16


def _optional_of(ann: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of an annotation such as `datetime | None`."""
    args = getattr(ann, "__args__", None)
    if args and type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None)), True
    return ann, False


def model_columns(model: type[BaseModel]) -> tuple[Column, ...]:
    """The warehouse columns of `model`, in field order."""
    cols: list[Column] = []
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            # A nested model is flattened into <field>_<its field> columns (ProcessedRecord.usage).
            for col in model_columns(info.annotation):
                cols.append(Column(f"{name}_{col.name}", col.kind, col.max_bytes, col.nullable))
            continue
        ann, optional = _optional_of(info.annotation)
        limit = next((m.limit for m in info.metadata if isinstance(m, MaxBytes)), None)
        if limit is None and optional:
            # Annotated[...] | None keeps its metadata on the inner type.
            inner = getattr(ann, "__metadata__", ())
            limit = next((m.limit for m in inner if isinstance(m, MaxBytes)), None)
            ann = getattr(ann, "__origin__", ann)
        if ann is datetime:
            cols.append(Column(name, "timestamp", None, optional))
        elif ann is bool:
            cols.append(Column(name, "boolean", None, optional))
        elif ann is int:
            cols.append(Column(name, "bigint", None, False))
        elif ann is float:
            cols.append(Column(name, "double", None, optional))
        elif isinstance(ann, type) and issubclass(ann, StrEnum):
            cols.append(Column(name, "varchar", _ENUM_WIDTH, optional))
        elif ann is str:
            if limit is None:
                raise TypeError(f"{model.__name__}.{name} has no MaxBytes width")
            cols.append(Column(name, "varchar", limit, optional or not info.is_required()))
        else:  # pragma: no cover - a new field type must be mapped on purpose
            raise TypeError(f"{model.__name__}.{name}: no warehouse type for {ann!r}")
    return tuple(cols)


def warehouse_columns() -> tuple[Column, ...]:
    """The tickets table's columns, in order, derived from ProcessedRecord (the single source)."""
    return model_columns(ProcessedRecord)


def lifecycle_columns() -> tuple[Column, ...]:
    """The ticket_lifecycle table's columns, in order, derived from TicketLifecycle."""
    return model_columns(TicketLifecycle)
