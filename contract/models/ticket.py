"""The ticket event and its parts: ids, limits, enums, the customer, the TicketSubmitted record."""

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
PRIORITY_FLAGS_MAX = 64  # comma-separated PriorityFlag codes (contract/models/tasks.py)
# The knowledge-base sources a draft used, as a JSON array of {id, title, uri, score} (issue 30): at most
# KB_TOP_K entries of a 300-character title and a 500-character link, with room to spare.
SOURCES_MAX = 4096
SOURCE_TITLE_MAX = 300
SOURCE_URI_MAX = 500
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
    # Final (issue 32): closed after the customer did not answer in the waiting period; a later mail opens a
    # new ticket linking this one.
    CLOSED = "CLOSED"


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

    def pii_text(self) -> str:
        """The text PII detection reads: subject + ". " + the whole description (at most ~66 KB of UTF-8,
        inside DetectPiiEntities' 100 KB). The reply model reads an excerpt of the description and the
        warehouse all of it, so redaction must cover all of it, not sentiment's 5,000-byte prefix. The
        workflow builds the same string with States.Format (DetectPii in the ASL); offsets refer to it."""
        return f"{self.subject}. {self.description}"

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
    # A ticket from a customer's own Slack message (issue 31, docs/slack-intake.md): how it came in, and where
    # the conversation stays. `channel_id`/`user_id` are then the customer's channel (or DM) and the message's
    # author; the approved reply and the closing line go to the thread of `thread_ts` (None: top level, a DM).
    origin: Literal["command", "channel", "reaction", "dm"] = "command"
    thread_ts: text(SLACK_ID_MAX, required=False) | None = None  # type: ignore[valid-type]
    # The customer's Slack organisation (the event's user_team; another team in a Slack Connect channel).
    user_team_id: text(SLACK_ID_MAX, required=False) | None = None  # type: ignore[valid-type]

    @property
    def answered_in_slack(self) -> bool:
        """Whether the customer is answered in their own Slack conversation, never by mail."""
        return self.origin != "command"


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
