"""The ticket lifecycle in the warehouse: one record per change of a ticket's item."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import (
    Field,
)

from contract.models.ticket import (
    MaxBytes,
    Priority,
    TicketId,
    TicketStatus,
    UtcDatetime,
    _byte_limit,
    _Strict,
    text,
)

# --- The ticket lifecycle in the warehouse (issues 13 and 14) ---------------------------------------
# The archive record above is written once, at triage; everything after it (approval, sending, the
# customer's answer, ownership, SLA) happens on the DynamoDB item. The table's stream feeds the
# ticket-lifecycle function, which writes one TicketLifecycle per item change under lifecycle/ in the
# bucket; the warehouse load MERGEs them into ticket_lifecycle (one row per ticket, the latest revision).
# Only ids, statuses, Slack user ids and times: no free text and no customer data (nothing to redact).

LIFECYCLE_PREFIX: Final = "lifecycle/"
REVISION_MAX = 64
ACTOR_MAX = 64  # a Slack user id, or the name of the function that acted ("mailer", "inbound-mail")
CLOSE_REASON_MAX = 16
CSAT_RATING_MAX = 8
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
    # Issue 32: how the ticket ended and what the customer thought of it (no comment: it is customer text).
    nudged_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    close_reason: text(CLOSE_REASON_MAX) | None = None  # type: ignore[valid-type]  # "no_answer" (auto-close)
    reopen_count: int = Field(default=0, ge=0)
    csat_rating: text(CSAT_RATING_MAX) | None = None  # type: ignore[valid-type]  # "1".."5", "up", "down"
    csat_at: UtcDatetime | None = None
    # Issue 30.5, measured acceptance: how much the agent changed the drafted reply before it was sent (a
    # normalised word-level edit distance, 0 = sent as drafted; pipeline/domain/acceptance.py). Numbers, no
    # text: category, model and grounding come from the ticket's archive record (the tickets table).
    reply_edit_distance: float | None = Field(default=None, ge=0, le=1)
    sent_unchanged: bool | None = None

    def archive_key(self) -> str:
        """Deterministic S3 key per stream record: a redelivered record overwrites its own object."""
        return f"{LIFECYCLE_PREFIX}{self.ticket_id}/{self.revision}.json"

    def to_json_line(self) -> str:
        """One JSON Lines record, newline-terminated."""
        return self.model_dump_json() + "\n"
