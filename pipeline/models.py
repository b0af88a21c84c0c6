"""The ticket contract: the one place the shape of a ticket is defined.

Everything else (the ASL item mapping, the Glue schema, the Redshift DDL, the S3 JSON) is derived from
these models or contract-tested against them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

# Crockford base32: no I, L, O, U, so ids survive being read aloud or retyped.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_ID_RANDOM_CHARS = 10  # 50 bits a day: a 1e-6 collision chance needs ~1.5M tickets in one day
TICKET_ID_PATTERN = rf"^TKT-\d{{8}}-[{CROCKFORD_ALPHABET}]{{{TICKET_ID_RANDOM_CHARS}}}$"
_TICKET_ID_RE = re.compile(TICKET_ID_PATTERN)

# Amazon Comprehend DetectSentiment rejects text over 5,000 bytes of UTF-8.
COMPREHEND_MAX_BYTES = 5000
EVENT_NAME: Final = "TicketSubmitted"
EVENT_VERSION: Final = "1.0"


@dataclass(frozen=True)
class MaxBytes:
    """Column width in UTF-8 bytes (Redshift VARCHAR(n) counts bytes, not characters)."""

    limit: int


def _byte_limit(limit: int):
    def check(value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > limit:
            raise ValueError(f"is {size} bytes of UTF-8, over the limit of {limit} bytes")
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def text(limit: int, *, required: bool = True) -> Any:
    """A stripped string limited to `limit` UTF-8 bytes (and non-blank when required)."""
    validators: list[Any] = [_byte_limit(limit)]
    if required:
        validators.append(AfterValidator(_not_blank))
    return Annotated[str, MaxBytes(limit), *validators]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (UTC, written with a trailing Z)")
    # Millisecond precision is what the JSON carries, so a record equals itself after a round trip.
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def format_utc(value: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a trailing Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


UtcDatetime = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]

# Column widths (bytes). They are the warehouse's VARCHAR sizes; intake enforces the same numbers.
SUBJECT_MAX = 256
DESCRIPTION_MAX = 4500  # subject + ". " + description stays under Comprehend's 5,000 bytes
NAME_MAX = 100
FULL_NAME_MAX = 200
EMAIL_MAX = 254  # RFC 5321 path limit
COMPANY_MAX = 200
PRODUCT_MAX = 100
ISSUE_TYPE_MAX = 100
RESPONSE_MAX = 8000
REASONING_MAX = 2000
MODEL_ID_MAX = 128
TICKET_ID_MAX = 32
SLACK_ID_MAX = 32
PII_TYPES_MAX = 512  # comma-separated Comprehend PII entity types found in a ticket


class Source(StrEnum):
    SLACK = "slack"
    GENERATOR = "generator"
    API = "api"


class Priority(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    NORMAL = "NORMAL"


class SentimentLabel(StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    NEUTRAL = "NEUTRAL"
    MIXED = "MIXED"


class TicketStatus(StrEnum):
    PROCESSING = "PROCESSING"
    TRIAGED = "TRIAGED"
    FAILED = "FAILED"
    APPROVED = "APPROVED"
    RESOLVED = "RESOLVED"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def new_ticket_id(now: datetime | None = None) -> str:
    """A readable, collision-resistant id: TKT-YYYYMMDD-<10 Crockford base32 characters>."""
    day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(TICKET_ID_RANDOM_CHARS))
    return f"TKT-{day}-{suffix}"


def is_ticket_id(value: str) -> bool:
    """True when `value` has the ticket id format."""
    return bool(_TICKET_ID_RE.match(value))


TicketId = Annotated[str, MaxBytes(TICKET_ID_MAX), Field(pattern=TICKET_ID_PATTERN)]


class Customer(_Strict):
    first_name: text(NAME_MAX)  # type: ignore[valid-type]
    last_name: text(NAME_MAX)  # type: ignore[valid-type]
    full_name: text(FULL_NAME_MAX)  # type: ignore[valid-type]
    email: Annotated[EmailStr, MaxBytes(EMAIL_MAX), _byte_limit(EMAIL_MAX)]
    company: text(COMPANY_MAX, required=False) = ""  # type: ignore[valid-type]


class TicketData(_Strict):
    subject: text(SUBJECT_MAX)  # type: ignore[valid-type]
    description: text(DESCRIPTION_MAX)  # type: ignore[valid-type]
    customer: Customer
    product: text(PRODUCT_MAX)  # type: ignore[valid-type]
    issue_type: text(ISSUE_TYPE_MAX)  # type: ignore[valid-type]

    def sentiment_text(self) -> str:
        """The text sent to sentiment detection; always within Comprehend's byte limit."""
        return f"{self.subject}. {self.description}"


class SlackContext(_Strict):
    team_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]
    channel_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]
    user_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]


class TicketSubmitted(_Strict):
    """The event on the Kinesis stream; one per ticket."""

    eventName: Literal["TicketSubmitted"] = EVENT_NAME
    eventVersion: Literal["1.0"] = EVENT_VERSION
    ticketId: TicketId
    submittedAt: UtcDatetime
    source: Source
    data: TicketData
    slack: SlackContext | None = None

    @model_validator(mode="after")
    def _id_matches_day(self) -> TicketSubmitted:
        day = self.submittedAt.strftime("%Y%m%d")
        if self.ticketId[4:12] != day:
            raise ValueError(f"ticketId {self.ticketId} does not carry the submission date {day}")
        return self

    @classmethod
    def new(
        cls,
        data: TicketData,
        source: Source,
        slack: SlackContext | None = None,
        now: datetime | None = None,
    ) -> TicketSubmitted:
        """A new event with a fresh ticket id, stamped now (UTC)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        return cls(ticketId=new_ticket_id(now), submittedAt=now, source=source, data=data, slack=slack)

    def to_record_bytes(self) -> bytes:
        """The Kinesis record payload."""
        return self.model_dump_json().encode("utf-8")


class SentimentScore(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Positive: float = Field(ge=0, le=1)
    Negative: float = Field(ge=0, le=1)
    Neutral: float = Field(ge=0, le=1)
    Mixed: float = Field(ge=0, le=1)


class SentimentResult(BaseModel):
    """Amazon Comprehend DetectSentiment's response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    Sentiment: SentimentLabel
    SentimentScore: SentimentScore


class PiiEntity(BaseModel):
    """One entity of Amazon Comprehend DetectPiiEntities (offsets are characters of the text sent)."""

    model_config = ConfigDict(extra="ignore")

    Type: str
    Score: float = Field(ge=0, le=1)
    BeginOffset: int = Field(ge=0)
    EndOffset: int = Field(ge=0)


class PiiResult(BaseModel):
    """Amazon Comprehend DetectPiiEntities' response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    Entities: list[PiiEntity] = Field(default_factory=list)


class TriageResult(_Strict):
    """What the reply model returns: the customer reply, a priority and its reasoning."""

    response_text: text(RESPONSE_MAX)  # type: ignore[valid-type]
    priority: Priority
    priority_reasoning: text(REASONING_MAX)  # type: ignore[valid-type]
    model_id: text(MODEL_ID_MAX)  # type: ignore[valid-type]

    @field_validator("priority", mode="before")
    @classmethod
    def _closed_enum(cls, value: Any) -> Any:
        # Models sometimes answer "High" or "P1": only the exact enum values are accepted.
        if isinstance(value, str) and value not in Priority.__members__:
            raise ValueError(f"priority must be one of {', '.join(Priority)}, got {value!r}")
        return value


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

    @classmethod
    def build(
        cls,
        ticket: TicketSubmitted,
        sentiment: SentimentResult,
        triage: TriageResult,
        processed_at: datetime | None = None,
        pii_entity_types: str = "",
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
        )

    def archive_key(self) -> str:
        """Deterministic S3 key, so a rerun overwrites the same object."""
        return f"tickets/submitted_date={self.submitted_at:%Y-%m-%d}/{self.ticket_id}.json"

    def to_json_line(self) -> str:
        """One JSON Lines record, newline-terminated."""
        return self.model_dump_json() + "\n"


# --- Messages on the tickets SNS topic (the Slack notifier and email subscribers read these) ------------


class TicketTriagedMessage(_Strict):
    """Published once a ticket is triaged and stored."""

    event_type: Literal["TicketTriaged"] = "TicketTriaged"
    source: Source
    record: ProcessedRecord
    slack: SlackContext | None = None


class TicketFailedMessage(BaseModel):
    """Published by the workflow's Catch path; built in the ASL, so extra keys are tolerated."""

    model_config = ConfigDict(extra="ignore")

    event_type: Literal["TicketFailed"] = "TicketFailed"
    ticket_id: str
    error: str
    cause: str = ""
    slack: SlackContext | None = None


# --- The warehouse column contract, derived from ProcessedRecord --------------------------------------

ColumnKind = Literal["varchar", "timestamp", "double"]


@dataclass(frozen=True)
class Column:
    """One warehouse column derived from a ProcessedRecord field."""

    name: str
    kind: ColumnKind
    max_bytes: int | None
    nullable: bool


_ENUM_WIDTH = 16


def warehouse_columns() -> tuple[Column, ...]:
    """The warehouse columns, in order, derived from ProcessedRecord (the single source)."""
    cols: list[Column] = []
    for name, info in ProcessedRecord.model_fields.items():
        ann = info.annotation
        limit = next((m.limit for m in info.metadata if isinstance(m, MaxBytes)), None)
        if ann is datetime:
            cols.append(Column(name, "timestamp", None, False))
        elif ann is float:
            cols.append(Column(name, "double", None, False))
        elif isinstance(ann, type) and issubclass(ann, StrEnum):
            cols.append(Column(name, "varchar", _ENUM_WIDTH, False))
        elif ann is str:
            if limit is None:
                raise TypeError(f"ProcessedRecord.{name} has no MaxBytes width")
            cols.append(Column(name, "varchar", limit, not info.is_required()))
        else:  # pragma: no cover - a new field type must be mapped on purpose
            raise TypeError(f"ProcessedRecord.{name}: no warehouse type for {ann!r}")
    return tuple(cols)


def field_errors(exc: Exception) -> list[str]:
    """Readable 'field: reason' lines from a pydantic ValidationError (or the exception text)."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return [str(exc)]
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return lines
