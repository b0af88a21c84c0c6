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
    Field,
    PlainSerializer,
    WrapValidator,
    field_validator,
    model_serializer,
    model_validator,
)

# Crockford base32: no I, L, O, U, so ids survive being read aloud or retyped.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_ID_RANDOM_CHARS = 10  # 50 bits a day: a 1e-6 collision chance needs ~1.5M tickets in one day
# The ids tms mints itself (Slack, the generator, `tms submit` without --id).
OWN_TICKET_ID_PATTERN = rf"^TKT-\d{{8}}-[{CROCKFORD_ALPHABET}]{{{TICKET_ID_RANDOM_CHARS}}}$"
_OWN_TICKET_ID_RE = re.compile(OWN_TICKET_ID_PATTERN)
# Every id a producer may choose: letters, digits and - _ . :, up to 64 characters, starting with a letter
# or digit (so an id never reads as a command-line option or a relative path). All of them are valid as a
# DynamoDB key, an S3 key segment, a Kinesis partition key and (after execution_name) a Step Functions
# execution name.
TICKET_ID_MAX = 64
TICKET_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{TICKET_ID_MAX - 1}}}$"
_TICKET_ID_RE = re.compile(TICKET_ID_PATTERN)
# Step Functions execution names may not contain ":" (nor most punctuation) and are at most 80 characters
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html). "=" is allowed
# there and never part of a ticket id, so mapping ":" to "=" keeps the mapping one-to-one.
EXECUTION_NAME_MAX = 80

# Amazon Comprehend DetectSentiment rejects text over 5,000 bytes of UTF-8.
COMPREHEND_MAX_BYTES = 5000
# Sentiment is detected on the opening of a ticket only: Comprehend bills 100-character units with a 3-unit
# minimum, so 300 characters cost the minimum whatever the ticket's length (README "Cost per ticket").
SENTIMENT_PREFIX_CHARS = 300
EVENT_NAME: Final = "TicketSubmitted"
EVENT_VERSION: Final = "1.0"


@dataclass(frozen=True)
class MaxBytes:
    """Column width in UTF-8 bytes (Redshift VARCHAR(n) counts bytes, not characters)."""

    limit: int

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        """JSON Schema counts characters, never bytes: publish the byte limit beside a sound maxLength."""
        schema: dict[str, Any] = handler(core_schema)
        # n bytes of UTF-8 hold at most n characters, so maxLength is necessary (not sufficient).
        schema.setdefault("maxLength", self.limit)
        schema["x-maxUtf8Bytes"] = self.limit
        return schema


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
# 64 KiB less one byte (65,535 bytes): room for a pasted log or stack trace, and exactly Redshift's widest
# column, VARCHAR(65535) (a full 65,536 would load into no Redshift column). The bound keeps every copy of
# a ticket inside the limits of the services it passes through: the event plus the model's reply and the
# sentiment stays well below Step Functions' 256 KiB state payload (the workflow carries the description
# once; the SNS message carries an excerpt) and the ticket's DynamoDB item below 400 KB. Comprehend reads a
# 5,000-byte prefix (sentiment_text) and the reply model a bounded excerpt (description_excerpt), so a long
# ticket costs no more to triage than a short one. tests/contract/test_long_tickets.py checks the edges.
DESCRIPTION_MAX = 65535
# The whole event as JSON. JSON writes a control character as a 6-byte \u escape, so a description made
# of them could be six times its UTF-8 size; this bound keeps the workflow's payload computable whatever
# the text (ordinary text, logs included, is never near it).
EVENT_JSON_MAX = 128 * 1024
# What the SNS message, the Slack post and the reply model see of a long description.
DESCRIPTION_EXCERPT_MAX = 2000
PROMPT_DESCRIPTION_MAX = 12000
NAME_MAX = 100
FULL_NAME_MAX = 200
EMAIL_MAX = 254  # RFC 5321 path limit
COMPANY_MAX = 200
PRODUCT_MAX = 100
ISSUE_TYPE_MAX = 100
RESPONSE_MAX = 8000
REASONING_MAX = 2000
MODEL_ID_MAX = 128
SLACK_ID_MAX = 32
# Inline /ticket takes the agent's Slack profile as the customer. A profile without an email (hidden by the
# workspace, or no users:read.email scope) gets this address: .invalid is reserved (RFC 2606, RFC 6761), so
# it can never receive mail, and the user id in it says whose ticket it is.
SLACK_PLACEHOLDER_EMAIL_DOMAIN = "users.slack.invalid"
PII_TYPES_MAX = 512  # comma-separated Comprehend PII entity types found in a ticket
INCIDENT_ID_MAX = TICKET_ID_MAX + 4  # "INC-" + the root ticket id's suffix (pipeline/domain/incidents.py)


class Source(StrEnum):
    SLACK = "slack"
    GENERATOR = "generator"
    API = "api"
    EMAIL = "email"  # a customer's mail that matched no ticket (or came after the reopen window)


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
    """The ticket lifecycle. The allowed transitions are in pipeline.domain.lifecycle."""

    PROCESSING = "PROCESSING"
    TRIAGED = "TRIAGED"
    FAILED = "FAILED"
    APPROVED = "APPROVED"  # an agent approved the reply; the mailer has not claimed it yet
    SENDING = "SENDING"  # the mailer claimed the send (conditional write) and is calling SES
    SENT = "SENT"  # SES accepted the mail (or it was posted in Slack for an agent-opened ticket)
    SEND_FAILED = "SEND_FAILED"  # SES rejected it; the reason is on the item and "Retry send" is offered
    # SES reported the mail delivered; the customer's move. (Not WAITING_ON_CUSTOMER: enum values must fit
    # the warehouse's VARCHAR(16) status column, whose bytedict encoding Redshift cannot widen in place.)
    WAITING_CUSTOMER = "WAITING_CUSTOMER"
    CUSTOMER_REPLIED = "CUSTOMER_REPLIED"  # the customer answered by mail
    RESOLVED = "RESOLVED"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, defer_build=True)


def new_ticket_id(now: datetime | None = None) -> str:
    """A readable, collision-resistant id: TKT-YYYYMMDD-<10 Crockford base32 characters>."""
    day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(TICKET_ID_RANDOM_CHARS))
    return f"TKT-{day}-{suffix}"


def is_ticket_id(value: str) -> bool:
    """True when `value` is a valid ticket id (ours or a producer's, see TICKET_ID_PATTERN)."""
    return bool(_TICKET_ID_RE.match(value))


def is_own_ticket_id(value: str) -> bool:
    """True when `value` has the format of the ids tms mints (TKT-YYYYMMDD-<10 Crockford characters>)."""
    return bool(_OWN_TICKET_ID_RE.match(value))


def execution_name(ticket_id: str) -> str:
    """The Step Functions execution name of a ticket: the id, with ":" (not allowed there) written "="."""
    return ticket_id.replace(":", "=")


def utf8_prefix(value: str, max_bytes: int) -> str:
    """The longest prefix of `value` that is at most `max_bytes` of UTF-8, cut on a character boundary."""
    raw = value.encode("utf-8")
    if len(raw) <= max_bytes:
        return value
    # errors="ignore" drops the partial character a byte cut may leave at the end, never anything else.
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def utf8_suffix(value: str, max_bytes: int) -> str:
    """The longest suffix of `value` that is at most `max_bytes` of UTF-8, cut on a character boundary."""
    raw = value.encode("utf-8")
    if len(raw) <= max_bytes:
        return value
    return raw[len(raw) - max_bytes :].decode("utf-8", errors="ignore")


def excerpt(value: str, max_bytes: int) -> str:
    """`value` when it fits in `max_bytes` of UTF-8; else its head and tail around an omission marker.

    Both ends matter in a pasted log: the customer explains first, and the error is usually last.
    """
    size = len(value.encode("utf-8"))
    if size <= max_bytes:
        return value
    marker = f"\n[... {size:,} bytes in all; the middle is left out ...]\n"
    room = max(max_bytes - len(marker.encode("utf-8")), 0)
    head = utf8_prefix(value, room * 2 // 3)
    tail = utf8_suffix(value, room - len(head.encode("utf-8")))
    return head + marker + tail


def slack_placeholder_email(user_id: str) -> str:
    """The customer address of an inline Slack ticket whose agent's profile shows no email."""
    return f"{user_id}@{SLACK_PLACEHOLDER_EMAIL_DOMAIN}"


def is_slack_placeholder_email(value: str) -> bool:
    """True for an address made by slack_placeholder_email."""
    local, _, domain = value.rpartition("@")
    return domain == SLACK_PLACEHOLDER_EMAIL_DOMAIN and bool(re.fullmatch(r"[A-Z0-9]{1,32}", local))


TicketId = Annotated[
    str,
    MaxBytes(TICKET_ID_MAX),
    Field(
        pattern=TICKET_ID_PATTERN,
        description=(
            "Letters, digits and - _ . : (1-64 characters, starting with a letter or digit). Ids of the form "
            "TKT-YYYYMMDD-<10 characters> are tms's own and must carry the submission date."
        ),
    ),
]


# Addresses whose syntax is certain without email-validator: an ASCII dot-atom local part and a host name of
# letter-digit-hyphen labels under an alphabetic top-level domain. email-validator accepts every one of them
# unchanged but for a lower-cased domain (tests/unit/test_email_syntax.py proves it on many addresses);
# anything else (quoted or Unicode local parts, IDN or punycode domains, "Name <a@b>", errors) goes to
# email-validator itself, imported on first use: importing it costs a cold start ~0.1 s (README "Cold start").
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_COMMON_EMAIL_RE = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
# email_validator.SPECIAL_USE_DOMAIN_NAMES (equality checked by the test above): never globally deliverable.
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")
EMAIL_LOCAL_MAX = 64  # RFC 5321 4.5.3.1.1, as email-validator applies it
EMAIL_ADDRESS_MAX = 254  # RFC 3696 errata 1690, as email-validator applies it


def common_email(value: str) -> str | None:
    """The normalized address when `value` is a plain ASCII address email-validator would accept, else None."""
    m = _COMMON_EMAIL_RE.fullmatch(value)
    if m is None or len(value) > EMAIL_ADDRESS_MAX or len(m.group(1)) > EMAIL_LOCAL_MAX:
        return None
    domain = m.group(2).lower()
    if len(domain) > 253 or "--" in domain:  # "xn--" and other double hyphens: IDNA rules, the library's
        return None
    if any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAINS):
        return None
    return f"{m.group(1)}@{domain}"


def _email_address(value: str) -> str:
    # pydantic's EmailStr validation, with the common case answered without importing email-validator.
    common = common_email(value)
    if common is not None:
        return common
    from pydantic.networks import validate_email

    return validate_email(value)[1]


@dataclass(frozen=True)
class _EmailFormat:
    """JSON Schema `format: email`, as pydantic's EmailStr publishes it."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        schema.update(type="string", format="email")
        return schema


EmailAddress = Annotated[str, AfterValidator(_email_address), _EmailFormat()]


def _email_or_slack_placeholder(value: Any, handler: Any) -> Any:
    # email-validator refuses special-use domains such as .invalid, which is exactly why the placeholder
    # uses one; TicketSubmitted only accepts it on a Slack ticket, for the agent who sent it.
    if isinstance(value, str) and is_slack_placeholder_email(value.strip()):
        return value.strip()
    return handler(value)


class Customer(_Strict):
    first_name: text(NAME_MAX)  # type: ignore[valid-type]
    last_name: text(NAME_MAX)  # type: ignore[valid-type]
    full_name: text(FULL_NAME_MAX)  # type: ignore[valid-type]
    email: Annotated[
        EmailAddress, MaxBytes(EMAIL_MAX), _byte_limit(EMAIL_MAX), WrapValidator(_email_or_slack_placeholder)
    ]
    company: text(COMPANY_MAX, required=False) = ""  # type: ignore[valid-type]


class TicketData(_Strict):
    subject: text(SUBJECT_MAX)  # type: ignore[valid-type]
    description: text(DESCRIPTION_MAX)  # type: ignore[valid-type]
    customer: Customer
    product: text(PRODUCT_MAX)  # type: ignore[valid-type]
    issue_type: text(ISSUE_TYPE_MAX)  # type: ignore[valid-type]

    def sentiment_text(self) -> str:
        """The text sent to sentiment detection: subject and description, cut to Comprehend's 5,000 bytes.

        The opening of a ticket carries its tone (a pasted log after it carries none), and control
        characters become spaces (they mean nothing to sentiment and would cost 6 bytes each as JSON).
        """
        whole = _CONTROL_CHARS.sub(" ", f"{self.subject}. {self.description}")
        return utf8_prefix(whole, COMPREHEND_MAX_BYTES)

    def sentiment_prefix(self) -> str:
        """What sentiment detection reads: the first SENTIMENT_PREFIX_CHARS characters of sentiment_text(),
        cut after a whole word when a space falls in its last fifth."""
        whole = self.sentiment_text()
        if len(whole) <= SENTIMENT_PREFIX_CHARS:
            return whole
        head = whole[:SENTIMENT_PREFIX_CHARS]
        cut = head.rfind(" ")
        return head[:cut] if cut >= SENTIMENT_PREFIX_CHARS * 4 // 5 else head

    def description_excerpt(self, max_bytes: int = DESCRIPTION_EXCERPT_MAX) -> str:
        """The description, or its head and tail when it is longer than `max_bytes`."""
        return excerpt(self.description, max_bytes)


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class SlackContext(_Strict):
    team_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]
    channel_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]
    user_id: text(SLACK_ID_MAX)  # type: ignore[valid-type]
    # Inline `/ticket`: the agent is the customer, so the approved reply goes to them in Slack, not by mail.
    requester_is_customer: bool = False


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
        # Only our own format promises the date; a producer's id (e.g. TKT-YYYYMMDD-NNNN stamped in local
        # time) is taken as it is.
        day = self.submittedAt.strftime("%Y%m%d")
        if is_own_ticket_id(self.ticketId) and self.ticketId[4:12] != day:
            raise ValueError(f"ticketId {self.ticketId} does not carry the submission date {day}")
        return self

    @model_validator(mode="after")
    def _placeholder_email_is_the_slack_agents(self) -> TicketSubmitted:
        email = str(self.data.customer.email)
        slack_user = self.slack.user_id if self.source is Source.SLACK and self.slack else None
        if is_slack_placeholder_email(email) and (
            slack_user is None or email != slack_placeholder_email(slack_user)
        ):
            raise ValueError(
                f"customer email {email} is the placeholder of an inline Slack ticket of that user; "
                "any other ticket needs a real address"
            )
        return self

    @model_validator(mode="after")
    def _fits_the_workflow(self) -> TicketSubmitted:
        size = len(self.to_record_bytes())
        if size > EVENT_JSON_MAX:
            raise ValueError(
                f"the ticket is {size} bytes as JSON, over the limit of {EVENT_JSON_MAX} "
                "(control characters in the description count 6 bytes each)"
            )
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
    model_config = ConfigDict(extra="ignore", defer_build=True)

    Positive: float = Field(ge=0, le=1)
    Negative: float = Field(ge=0, le=1)
    Neutral: float = Field(ge=0, le=1)
    Mixed: float = Field(ge=0, le=1)


class SentimentResult(BaseModel):
    """Amazon Comprehend DetectSentiment's response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Sentiment: SentimentLabel
    SentimentScore: SentimentScore


class PiiEntity(BaseModel):
    """One entity of Amazon Comprehend DetectPiiEntities (offsets are characters of the text sent)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Type: str
    Score: float = Field(ge=0, le=1)
    BeginOffset: int = Field(ge=0)
    EndOffset: int = Field(ge=0)


class PiiResult(BaseModel):
    """Amazon Comprehend DetectPiiEntities' response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

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


class TicketUsage(_Strict):
    """What one ticket consumed of every unit AWS bills per ticket: the cost model's input (`tms cost`).

    Recorded by the workflow's functions with the same code on both runtimes (pipeline/domain/usage.py):
    model tokens from the model's response (the offline model estimates them, see offline_reply.py),
    Comprehend units of the text actually sent, the state transitions of the path the execution took,
    Lambda GB-seconds (configured memory x measured duration) and the requests of each service. Each
    field is a warehouse column `usage_<field>`; an older record without usage reads as all zeros.
    """

    llm_input_tokens: int = Field(default=0, ge=0)
    llm_output_tokens: int = Field(default=0, ge=0)
    embedding_input_tokens: int = Field(default=0, ge=0)
    comprehend_sentiment_units: int = Field(default=0, ge=0)
    comprehend_pii_units: int = Field(default=0, ge=0)
    state_transitions: int = Field(default=0, ge=0)
    lambda_requests: int = Field(default=0, ge=0)
    lambda_gb_seconds: float = Field(default=0.0, ge=0)
    kinesis_put_kib: int = Field(default=0, ge=0)  # ingested data, each record rounded up to 1 KiB
    dynamodb_write_units: int = Field(default=0, ge=0)
    dynamodb_read_units: int = Field(default=0, ge=0)
    s3_put_requests: int = Field(default=0, ge=0)
    sns_publishes: int = Field(default=0, ge=0)  # each 64 KiB chunk of a message is one billed request

    def plus(self, other: TicketUsage) -> TicketUsage:
        """The sum of two usages."""
        return type(self)(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )


USAGE_PREFIX: Final = "usage_"


def _usage_columns(value: Any) -> Any:
    """Read a flat record's usage_<field> keys (the JSON line, a warehouse row, an item) into `usage`."""
    if isinstance(value, dict) and "usage" not in value:
        flat = {k: v for k, v in value.items() if k.startswith(USAGE_PREFIX)}
        if flat:
            rest = {k: v for k, v in value.items() if not k.startswith(USAGE_PREFIX)}
            return {**rest, "usage": {k.removeprefix(USAGE_PREFIX): v for k, v in flat.items()}}
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
    # The incident this ticket was linked to when it was triaged ("" = alone). An incident's root was alone
    # when it was archived: its id is derived from the root's own (see the incident views in 020_views.sql).
    incident_id: text(INCIDENT_ID_MAX, required=False) = ""  # type: ignore[valid-type]
    # What triaging this ticket consumed (columns usage_<field>, in TicketUsage's order).
    usage: TicketUsage = Field(default_factory=TicketUsage)

    _flat_usage = model_validator(mode="before")(_usage_columns)

    @model_serializer(mode="wrap")
    def _flatten_usage(self, handler: Any) -> dict[str, Any]:
        # One flat record: the JSON line, the warehouse row and the DynamoDB item all carry usage_<field>.
        data: dict[str, Any] = handler(self)
        usage = data.pop("usage", None) or {}
        return {**data, **{f"{USAGE_PREFIX}{k}": v for k, v in usage.items()}}

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
        )

    def archive_key(self) -> str:
        """Deterministic S3 key, so a rerun overwrites the same object."""
        return f"tickets/submitted_date={self.submitted_at:%Y-%m-%d}/{self.ticket_id}.json"

    def to_json_line(self) -> str:
        """One JSON Lines record, newline-terminated."""
        return self.model_dump_json() + "\n"


# --- Messages on the tickets SNS topic (the Slack notifier and email subscribers read these) ------------


class IncidentRef(_Strict):
    """Where a triaged ticket stands in its incident (the link-incident step's answer; Slack shows it)."""

    incident_id: text(INCIDENT_ID_MAX)  # type: ignore[valid-type]
    root_ticket_id: TicketId
    position: int = Field(ge=2)  # the root is the 1st report and is never announced as a member
    count: int = Field(ge=2)
    companies: tuple[str, ...] = ()
    priority: Priority  # the highest of the members'
    report_line: str = Field(max_length=2 * SUBJECT_MAX)  # "4th report: <customer>, <company>: <subject>"


class TicketTriagedMessage(_Strict):
    """Published once a ticket is triaged and stored.

    The record's description is an excerpt when the description is long (`description_truncated`): the
    whole text is in the archive, the warehouse and the ticket's DynamoDB item. That keeps the message far
    below SNS's 256 KiB, and the workflow state that carries it below Step Functions' 256 KiB.
    """

    event_type: Literal["TicketTriaged"] = "TicketTriaged"
    source: Source
    record: ProcessedRecord
    slack: SlackContext | None = None
    description_truncated: bool = False
    incident: IncidentRef | None = None  # set when the ticket joined an incident: Slack threads it

    @classmethod
    def announce(
        cls,
        record: ProcessedRecord,
        source: Source,
        slack: SlackContext | None = None,
        incident: IncidentRef | None = None,
    ) -> TicketTriagedMessage:
        """The message for a stored record, its description cut to DESCRIPTION_EXCERPT_MAX bytes."""
        short = excerpt(record.description, DESCRIPTION_EXCERPT_MAX)
        return cls(
            source=source,
            record=record.model_copy(update={"description": short}),
            slack=slack,
            description_truncated=short != record.description,
            incident=incident,
        )


class TicketFailedMessage(BaseModel):
    """Published by the workflow's Catch path; built in the ASL, so extra keys are tolerated."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    event_type: Literal["TicketFailed"] = "TicketFailed"
    ticket_id: str
    error: str
    cause: str = ""
    slack: SlackContext | None = None


class ReplyApprovedMessage(_Strict):
    """Published by the bot when an agent approves (or retries) a reply; the mailer sends it.

    `version` is the item's version the approval wrote: the mailer's send claim requires it, so a second
    delivery of this message, or a stale one, cannot send again.
    """

    event_type: Literal["ReplyApproved"] = "ReplyApproved"
    ticket_id: TicketId
    approved_by: str
    approved_at: UtcDatetime
    version: int = Field(ge=1)


class MailEventKind(StrEnum):
    REPLY_SENT = "reply_sent"
    REPLY_SEND_FAILED = "reply_send_failed"
    CUSTOMER_REPLIED = "customer_replied"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNVERIFIED_MAIL = "unverified_mail"  # mail about the ticket not proven the customer's (issue 27.2)


class TicketMailMessage(_Strict):
    """Published by the mailer and the inbound function; the notifier posts it in the ticket's thread."""

    event_type: Literal["TicketMail"] = "TicketMail"
    kind: MailEventKind
    ticket_id: TicketId
    status: TicketStatus
    at: UtcDatetime
    actor: str = ""  # the approving Slack user, or the sender of an inbound mail
    address: str = ""  # recipient (sent) or sender (replied)
    text: str = ""  # the customer's text, the reply posted in Slack, or the failure reason
    mail_message_id: str = ""
    ses_message_id: str = ""
    via: Literal["email", "slack"] = "email"
    mention: str = ""  # Slack user to mention (replies delivered in Slack; the owner of unverified mail)
    flag: str = ""  # a warning shown with the message (e.g. the sender is not the ticket's customer)
    reopened: bool = False


# --- SLA timers (issue 14) ----------------------------------------------------------------------------
# "First response" = the reply was sent to the customer (the mailer's SENT write), or the ticket was resolved.

SlaTimerKind = Literal["warn", "breach"]


class SlaArm(_Strict):
    """Arm a ticket's timers (the workflow, once the ticket is triaged and its due time stored)."""

    kind: Literal["arm"] = "arm"
    ticket_id: TicketId
    priority: Priority
    sla_due_at: UtcDatetime
    sla_warn_at: UtcDatetime


class SlaFire(_Strict):
    """What a schedule delivers to the timer function when it fires."""

    kind: Literal["fire"] = "fire"
    ticket_id: TicketId
    timer: SlaTimerKind
    due_at: UtcDatetime  # the due time the timer was armed for; a re-armed ticket ignores older timers
    fire_at: UtcDatetime


class SlaFirstResponse(_Strict):
    """The customer got a first response (reply sent, approved, or the ticket resolved): stop the timers."""

    kind: Literal["first_response"] = "first_response"
    ticket_id: TicketId
    at: UtcDatetime
    by: str = ""


class SlaReprioritised(_Strict):
    """An agent changed the priority: compute the due time again and re-arm."""

    kind: Literal["reprioritised"] = "reprioritised"
    ticket_id: TicketId
    priority: Priority
    at: UtcDatetime


SlaCommand = Annotated[SlaArm | SlaFire | SlaFirstResponse | SlaReprioritised, Field(discriminator="kind")]


class SlaAlertMessage(_Strict):
    """Published on the tickets topic when a timer fires on an unanswered ticket (the notifier posts it)."""

    event_type: Literal["SlaWarning", "SlaBreached"]
    ticket_id: TicketId
    priority: Priority
    subject: str = ""
    due_at: UtcDatetime
    fired_at: UtcDatetime
    assignee: str = ""


# --- The ticket lifecycle in the warehouse (issues 13 and 14) ---------------------------------------
# The archive record above is written once, at triage; everything after it (approval, sending, the
# customer's answer, ownership, SLA) happens on the DynamoDB item. The table's stream feeds the
# ticket-lifecycle function, which writes one TicketLifecycle per item change under lifecycle/ in the
# bucket; the warehouse load MERGEs them into ticket_lifecycle (one row per ticket, the latest revision).
# Only ids, statuses, Slack user ids and times: no free text and no customer data (nothing to redact).

LIFECYCLE_PREFIX: Final = "lifecycle/"
REVISION_MAX = 64
ACTOR_MAX = 64  # a Slack user id, or the name of the function that acted ("mailer", "inbound-mail")
_VERSION_DIGITS = 10
_SEQUENCE_DIGITS = 40  # DynamoDB Streams sequence numbers are decimal strings of up to 40 digits


def lifecycle_revision(version: int, sequence_number: str) -> str:
    """The order of a ticket's lifecycle records: the item's version, then the stream's sequence number.

    Not the version alone: the SLA writes (first response, breach) and Slack post claims change the item
    without counting a version, so two different images can carry one version. Stream records of one item
    reach the function in the order of the writes, with growing sequence numbers; both parts are zero-padded
    so that the warehouse's plain string comparison orders revisions correctly.
    """
    if not sequence_number.isdigit() or len(sequence_number) > _SEQUENCE_DIGITS:
        raise ValueError(f"not a stream sequence number: {sequence_number!r}")
    return f"{version:0{_VERSION_DIGITS}d}.{sequence_number.zfill(_SEQUENCE_DIGITS)}"


Actor = Annotated[str, MaxBytes(ACTOR_MAX), _byte_limit(ACTOR_MAX)]


class TicketLifecycle(_Strict):
    """One change of a ticket's item, as the warehouse sees it (a JSON line under lifecycle/, a row of
    ticket_lifecycle). Field order is column order."""

    ticket_id: TicketId
    revision: text(REVISION_MAX)  # type: ignore[valid-type]
    version: int = Field(ge=0)
    status: TicketStatus
    changed_at: UtcDatetime  # when DynamoDB recorded the change (the stream record's creation time)
    priority: Priority | None = None  # the current one: agents may change the triaged priority
    assignee: Actor | None = None
    approved_by: Actor | None = None
    approved_at: UtcDatetime | None = None
    first_response_at: UtcDatetime | None = None
    first_response_by: Actor | None = None
    sla_due_at: UtcDatetime | None = None
    sla_breached: bool = False
    sent_at: UtcDatetime | None = None
    customer_replied_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None

    def archive_key(self) -> str:
        """Deterministic S3 key per stream record: a redelivered record overwrites its own object."""
        return f"{LIFECYCLE_PREFIX}{self.ticket_id}/{self.revision}.json"

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
            cols.append(Column(name, "boolean", None, False))
        elif ann is int:
            cols.append(Column(name, "bigint", None, False))
        elif ann is float:
            cols.append(Column(name, "double", None, False))
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
