"""Retrying a FAILED ticket: the same input through the workflow again, under a new execution name.

A ticket fails when its retries run out (sustained throttling, an answer that breaks the reply policy).
The trigger kept its execution input under inputs/ before starting it (an Express execution cannot be
described afterwards). A retry starts `<ticket id>-retry-<UTC time>` with that input; the workflow's claim
accepts a FAILED item (and nothing else), so a retry can never run a ticket twice at once or redo a
TRIAGED one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from contract.models import EXECUTION_NAME_MAX, TicketStatus, execution_name, is_ticket_id
from contract.names import INPUTS_RETENTION_DAYS
from pipeline.domain.intake import input_key


class RetryOutcome(StrEnum):
    STARTED = "started"
    NOT_FAILED = "not_failed"  # TRIAGED or still PROCESSING: nothing to retry
    NOT_FOUND = "not_found"
    INPUT_GONE = "input_gone"  # no stored input: expired, or the ticket failed before inputs were kept
    ALREADY_STARTED = "already_started"  # a retry of this name is already running or ran
    INVALID_ID = "invalid_id"


@dataclass(frozen=True)
class RetryResult:
    """What happened to one ticket id."""

    ticket_id: str
    outcome: RetryOutcome
    detail: str
    execution_name: str | None = None

    @property
    def started(self) -> bool:
        """True when a retry execution was started."""
        return self.outcome is RetryOutcome.STARTED


class TicketStatuses(Protocol):
    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket's item (status, error, ...) or None."""
        ...


class StoredInputs(Protocol):
    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket's execution input as the trigger kept it, or None when there is none (any more)."""
        ...


class Executions(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start `name`; False when an execution of that name already exists."""
        ...


def retry_name(ticket_id: str, now: datetime) -> str:
    """The retry's execution name: the ticket's execution name, then the UTC time, within Step Functions'
    80 characters (a long id keeps its start and a digest of the whole, so two ids never share a name)."""
    suffix = f"-retry-{now.strftime('%Y%m%dT%H%M%SZ')}"
    base = execution_name(ticket_id)
    if len(base) + len(suffix) > EXECUTION_NAME_MAX:
        digest = hashlib.sha256(ticket_id.encode()).hexdigest()[:12]
        base = f"{base[: EXECUTION_NAME_MAX - len(suffix) - len(digest) - 1]}-{digest}"
    return base + suffix


def retry_ticket(
    ticket_id: str, tickets: TicketStatuses, inputs: StoredInputs, executions: Executions, now: datetime
) -> RetryResult:
    """Start a retry of one FAILED ticket, or say exactly why not."""
    if not is_ticket_id(ticket_id):
        return RetryResult(
            ticket_id, RetryOutcome.INVALID_ID, "not a ticket id (letters, digits and - _ . :, up to 64)"
        )
    item = tickets.get(ticket_id)
    if item is None:
        return RetryResult(ticket_id, RetryOutcome.NOT_FOUND, "no such ticket")
    status = str(item.get("status", ""))
    if status != TicketStatus.FAILED:
        return RetryResult(ticket_id, RetryOutcome.NOT_FAILED, f"status is {status or 'unknown'}, not FAILED")
    payload = inputs.get(ticket_id)
    if payload is None:
        return RetryResult(
            ticket_id,
            RetryOutcome.INPUT_GONE,
            f"no stored input ({input_key(ticket_id)} expires after {INPUTS_RETENTION_DAYS} days, and tickets "
            "that failed before inputs were kept have none): it stays FAILED; resubmit it",
        )
    # The original input, completed with what the workflow reads since it was started (sentiment):
    # a ticket that failed before a deploy is retried by the workflow as deployed now.
    payload = {**_current_input(payload), **payload}
    name = retry_name(ticket_id, now)
    if not executions.start(name, payload):
        return RetryResult(ticket_id, RetryOutcome.ALREADY_STARTED, f"{name} already exists", name)
    return RetryResult(
        ticket_id, RetryOutcome.STARTED, f"was FAILED ({item.get('error', 'no reason')}); retrying", name
    )


def _current_input(payload: dict[str, Any]) -> dict[str, Any]:
    """The execution input intake would build today for the ticket in `payload` ({} when it has no valid
    one: the original input then goes as it is, and the workflow fails it with the reason as before)."""
    from pydantic import ValidationError

    from contract.models import TicketSubmitted
    from pipeline.domain.intake import execution_input

    try:
        return execution_input(TicketSubmitted.model_validate(payload.get("ticket")))
    except ValidationError:
        return {}
