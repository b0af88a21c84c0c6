"""PII redaction: detected entities in subject and description become typed placeholders ("[EMAIL]").

Detection runs once per ticket on subject + ". " + the whole description (`TicketData.pii_text()`: the
reply model reads an excerpt of up to PROMPT_DESCRIPTION_MAX bytes from anywhere in it, head and tail,
and the warehouse all of it), by Comprehend DetectPiiEntities on AWS and by the offline detector
locally; both answer in Comprehend's shape (`PiiResult`). This module only maps those offsets back onto
the two fields, so both runtimes redact identically.

What leaves the core redacted: the ticket the reply model sees (which also carries no customer contact
field) and the analytics record the warehouse loads. The full original stays in the encrypted original
object (`names.ORIGINALS_PREFIX`) and in the DynamoDB item, which agents need.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.models import (
    DESCRIPTION_MAX,
    PII_TYPES_MAX,
    SUBJECT_MAX,
    Customer,
    PiiResult,
    TicketData,
    TicketSubmitted,
)

# Comprehend's scores are confidences; below this an entity is left in place.
MIN_SCORE = 0.5
# Times and dates are what a support reply works with ("since 9:00 UTC") and identify no one on their own.
KEPT_TYPES = frozenset({"DATE_TIME"})
_SEPARATOR = ". "  # TicketData.pii_text() joins subject and description with it


@dataclass(frozen=True)
class Redaction:
    """The ticket with typed placeholders in subject and description, and the entity types replaced."""

    ticket: TicketSubmitted
    entity_types: tuple[str, ...]

    @property
    def entity_types_column(self) -> str:
        """The warehouse column value: sorted types, comma-separated ("" when none)."""
        value = ",".join(self.entity_types)
        return value if len(value) <= PII_TYPES_MAX else value[: value.rfind(",", 0, PII_TYPES_MAX)]


def placeholder(entity_type: str) -> str:
    """The text an entity of entity_type is replaced with."""
    return f"[{entity_type}]"


def _fit(text: str, limit: int) -> str:
    """Cut text to limit UTF-8 bytes on a character boundary (placeholders can be longer than the entity)."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore").rstrip()


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace each (begin, end, type) span of text; overlapping spans merge into the first one's type."""
    out: list[str] = []
    cursor = 0
    for begin, end, entity_type in sorted(spans):
        begin, end = max(begin, 0), min(end, len(text))
        if end <= begin:
            continue
        if begin < cursor:  # overlaps the previous entity: extend it
            if end > cursor:
                cursor = end
            continue
        out.append(text[cursor:begin])
        out.append(placeholder(entity_type))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def redact(ticket: TicketSubmitted, pii: PiiResult) -> Redaction:
    """Subject and description with every entity (score >= MIN_SCORE, type not kept) replaced."""
    data = ticket.data
    split = len(data.subject)
    body_start = split + len(_SEPARATOR)
    subject_spans: list[tuple[int, int, str]] = []
    body_spans: list[tuple[int, int, str]] = []
    types: set[str] = set()
    for entity in pii.Entities:
        if entity.Score < MIN_SCORE or entity.Type in KEPT_TYPES:
            continue
        if entity.BeginOffset < split:
            subject_spans.append((entity.BeginOffset, min(entity.EndOffset, split), entity.Type))
        if entity.EndOffset > body_start:
            body_spans.append(
                (max(entity.BeginOffset, body_start) - body_start, entity.EndOffset - body_start, entity.Type)
            )
        types.add(entity.Type)
    if not types:
        return Redaction(ticket=ticket, entity_types=())
    # model_copy skips validation on purpose: the placeholders are ours, only the widths need keeping.
    redacted = data.model_copy(
        update={
            "subject": _fit(_replace(data.subject, subject_spans), SUBJECT_MAX),
            "description": _fit(_replace(data.description, body_spans), DESCRIPTION_MAX),
        }
    )
    return Redaction(ticket=ticket.model_copy(update={"data": redacted}), entity_types=tuple(sorted(types)))


def for_model(ticket: TicketSubmitted) -> TicketSubmitted:
    """The ticket as the reply model may see it: no customer contact field, only the first name to greet."""
    customer = ticket.data.customer
    anonymous = Customer.model_construct(
        first_name=customer.first_name,
        last_name="",
        full_name=customer.first_name,
        email="",
        company=customer.company,
    )
    data: TicketData = ticket.data.model_copy(update={"customer": anonymous})
    return ticket.model_copy(update={"data": data, "slack": None})


def redact_text(text: str, pii: PiiResult) -> str:
    """One free text (a rating comment) with every entity (score >= MIN_SCORE, type not kept) replaced."""
    spans = [
        (e.BeginOffset, e.EndOffset, e.Type)
        for e in pii.Entities
        if e.Score >= MIN_SCORE and e.Type not in KEPT_TYPES
    ]
    return _replace(text, spans)
