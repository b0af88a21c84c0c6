"""Routing (issue 32): new tickets go to an on-call agent, and an unanswered one moves once to the next.

Who gets a ticket: among the on-call agents (TMS_ONCALL) who are not away (`/ticket away`), the one with the
fewest open tickets; among equals, the one assigned longest ago (round-robin). Each agent has a load item in
the tickets table (`routing#<user id>`: the open tickets they own, their count, when they last got one, the
away flag). Taking a ticket is a conditional write on that item that expects the count the router read, so
two tickets routed at once cannot both land on one agent because both read the same counts: the second
write fails, the router reads the loads again and picks again.

The load follows the tickets: the ticket-lifecycle function sees every change of a ticket item on the table's
stream and moves the ticket between load items when its owner changes (Take it, Reassign) or it stops being
open (resolved, failed). Those moves are idempotent (a set of ticket ids, changed only when the id is or is
not in it), so a redelivered stream record changes nothing.

Where: the workflow's ArmSlaTimers step (the sla-timer function), before Notify, so the ticket's first Slack
post already names its owner and the assignment is retried with the step (docs/routing.md says why).

Reassignment: a timer (the same Scheduler group as the SLA timers) fires at `reassign_fraction` of the
first-response target. If the routed owner still has not given the first response (`first_response_at`, as
pipeline.domain.sla defines it) and nobody changed the owner, the ticket goes to the next agent, once; the
notifier says so in the thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from contract import defaults, names
from contract.errors import SlaConfigError
from contract.models import Priority, SlaArm, TicketStatus, format_utc, is_ticket_id
from contract.models.routing import ReassignDue, TicketReassignedMessage, reassign_schedule_name
from pipeline.domain.sla import SlaPolicy

S = TicketStatus
# A ticket counts towards its owner's load while someone still has to act on it.
OPEN = frozenset(
    {S.TRIAGED, S.APPROVED, S.SENDING, S.SENT, S.SEND_FAILED, S.WAITING_CUSTOMER, S.CUSTOMER_REPLIED}
)
MAX_PASSES = 128  # read-pick-write passes per routing before giving up (see Router._reserve)
ROUTER = "routing"  # the actor of automatic assignments in the ticket's history
ASSIGNED_BY_ROUTING = "routing"  # item attribute assigned_by for tickets the router assigned
_ID_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")  # as bot.logic.roles accepts


def load_key(user_id: str) -> str:
    """The tickets-table key of one agent's load item."""
    return f"{names.ROUTING_KEY_PREFIX}{user_id}"


def parse_oncall(raw: str, *, setting: str = names.ENV_ONCALL) -> tuple[str, ...]:
    """The on-call user ids in the written order (user groups are skipped: routing needs people; the notifier
    still mentions a group). ValueError naming `setting` for anything that is not a Slack id."""
    ids: list[str] = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        if not _ID_RE.match(item):
            raise ValueError(f"{setting}: {item!r} is not a Slack user id (U…/W…) or user-group id (S…)")
        if item[0] != "S" and item not in ids:
            ids.append(item)
    return tuple(ids)


@dataclass(frozen=True)
class RoutingPolicy:
    """Who is on call, and when an unanswered routed ticket moves on."""

    oncall: tuple[str, ...] = ()
    reassign_fraction: float = defaults.ROUTING_REASSIGN_FRACTION

    def __post_init__(self) -> None:
        if not 0 < self.reassign_fraction < 1:
            raise SlaConfigError(
                f"{names.ENV_ROUTING_REASSIGN_FRACTION}: {self.reassign_fraction} must be between 0 and 1"
                " (e.g. 0.5)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RoutingPolicy:
        """TMS_ONCALL (else the deprecated TMS_SLA_ONCALL_GROUP) and TMS_ROUTING_REASSIGN_FRACTION."""
        setting = names.ENV_ONCALL if environ.get(names.ENV_ONCALL) else names.ENV_SLA_ONCALL_GROUP
        try:
            oncall = parse_oncall(environ.get(setting, ""), setting=setting)
        except ValueError as e:
            raise SlaConfigError(str(e)) from e
        raw = environ.get(names.ENV_ROUTING_REASSIGN_FRACTION) or str(defaults.ROUTING_REASSIGN_FRACTION)
        try:
            fraction = float(raw)
        except ValueError as e:
            raise SlaConfigError(f"{names.ENV_ROUTING_REASSIGN_FRACTION}: {raw!r} is not a number") from e
        return cls(oncall=oncall, reassign_fraction=fraction)

    @property
    def enabled(self) -> bool:
        """Routing runs only when someone is on call."""
        return bool(self.oncall)


@dataclass(frozen=True)
class AgentLoad:
    """One on-call agent as the router sees them (read consistently before a conditional write)."""

    user_id: str
    open_count: int = 0
    last_assigned_at: str = ""  # ISO UTC; "" never assigned (sorts first)
    away: bool = False
    exists: bool = False  # whether the load item exists (the conditional write differs)
    tickets: frozenset[str] = frozenset()  # the open tickets counted on this agent


def choose(loads: Sequence[AgentLoad], exclude: Iterable[str] = ()) -> AgentLoad | None:
    """The agent to get the next ticket: not away, not excluded, fewest open tickets, then the one assigned
    longest ago, then the on-call order. None when nobody is available."""
    skip = set(exclude)
    order = {load.user_id: i for i, load in enumerate(loads)}
    candidates = [load for load in loads if not load.away and load.user_id not in skip]
    return min(candidates, key=lambda a: (a.open_count, a.last_assigned_at, order[a.user_id]), default=None)


def owner_of(item: Mapping[str, Any] | None) -> str:
    """Whose load an item counts towards: its assignee while the ticket is open, else nobody."""
    if not item or str(item.get("status") or "") not in OPEN:
        return ""
    return str(item.get(names.ASSIGNEE_ATTR) or "")


# --- ports ---------------------------------------------------------------------------------------------


class RoutingStore(Protocol):
    """Port: agents' load items and the ticket's owner, changed by conditional writes only."""

    def loads(self, user_ids: Sequence[str]) -> list[AgentLoad]:
        """The load of each agent, in the given order (consistent reads; a missing item is an empty load)."""

    def reserve(self, load: AgentLoad, ticket_id: str, now: datetime) -> bool:
        """Add the ticket to the agent's load if the load is still `load` (count unchanged, not away)."""

    def count(self, user_id: str, ticket_id: str) -> bool:
        """Add the ticket to the agent's load unless it is there already; whether it changed."""

    def release(self, user_id: str, ticket_id: str) -> bool:
        """Remove the ticket from the agent's load if it is there; whether it changed."""

    def set_away(self, user_id: str, away: bool, now: datetime) -> None:
        """Mark the agent away (routing skips them) or back."""

    def assign(
        self, ticket_id: str, user_id: str, now: datetime, *, previous: str = ""
    ) -> dict[str, Any] | None:
        """Make `user_id` the ticket's owner, with a history entry. Without `previous`: only an open ticket
        nobody owns. With it: only while `previous` still owns it unanswered and it was never reassigned.
        The item after the write, or None when the condition fails."""

    def mark_announced(self, ticket_id: str) -> None:
        """The reassignment message was published (a redelivered timer then says nothing)."""

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket item."""


class ReassignTimers(Protocol):
    """Port: the one-time timers (pipeline.domain.sla.Timers)."""

    def arm(self, name: str, at: datetime, payload: dict[str, Any]) -> None: ...


class ReassignPublisher(Protocol):
    """Port: tell Slack (through the tickets topic) that a ticket moved."""

    def publish(self, message: TicketReassignedMessage) -> None: ...


# --- use cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Router:
    """Assigns new tickets, reassigns unanswered ones once, and keeps agents' loads in step."""

    policy: RoutingPolicy
    store: RoutingStore
    timers: ReassignTimers
    publisher: ReassignPublisher
    sla: SlaPolicy = field(default_factory=SlaPolicy)

    def _reserve(self, ticket_id: str, now: datetime, exclude: Iterable[str] = ()) -> str:
        """Reserve the ticket on the chosen agent's load; "" when nobody is available.

        A compare-and-swap loop, not a retry of a failed call: each pass reads the loads again and a lost
        write means another ticket (or a load sync) just changed that agent's load. Nothing sleeps; passes are
        bounded by MAX_PASSES, well above what a burst needs (40 tickets racing over 5 agents on moto with
        atomic writes: at most 25 losses for one ticket), and running out leaves the ticket unassigned, never
        misassigned.
        """
        for _ in range(MAX_PASSES):
            loads = self.store.loads(self.policy.oncall)
            held = next((a.user_id for a in loads if ticket_id in a.tickets and a.user_id not in exclude), "")
            if held:
                return held  # reserved by an attempt that stopped before assigning (a retried step)
            pick = choose(loads, exclude)
            if pick is None:
                return ""
            if self.store.reserve(pick, ticket_id, now):
                return pick.user_id
        return ""

    def route(self, command: SlaArm, now: datetime) -> str:
        """Route a ticket whose SLA timers were just armed (the workflow's ArmSlaTimers step): the reassignment
        timer fires at the policy's share of its first-response target, counted from its submission."""
        if not self.policy.enabled:
            return ""
        item = self.store.get(command.ticket_id) or {}
        submitted = _parse_time(item.get("submitted_at")) or now
        at = self.sla.share_at(submitted, command.priority, self.policy.reassign_fraction)
        return self.assign_new(command.ticket_id, at, now, item=item)

    def assign_new(
        self, ticket_id: str, reassign_at: datetime, now: datetime, *, item: Mapping[str, Any] | None = None
    ) -> str:
        """Route a triaged ticket nobody owns; arm its reassignment timer. Idempotent (a retried workflow
        step finds the owner and only re-arms). The owner, or "" (routing off, nobody available, or an agent
        took it first)."""
        if not self.policy.enabled:
            return ""
        item = item if item is not None else (self.store.get(ticket_id) or {})
        owner = str(item.get(names.ASSIGNEE_ATTR) or "")
        if owner:
            if item.get("assigned_by") == ASSIGNED_BY_ROUTING and not item.get("reassigned_at"):
                self._arm(ticket_id, owner, reassign_at)
            return owner
        user = self._reserve(ticket_id, now)
        if not user:
            return ""
        if self.store.assign(ticket_id, user, now) is None:
            self._unreserve(ticket_id, user)  # someone took it first (or it is closed already)
            return ""
        self._arm(ticket_id, user, reassign_at)
        return user

    def _unreserve(self, ticket_id: str, user: str) -> None:
        """Take back a reservation whose assignment lost, unless the ticket went to that agent anyway (they
        clicked Take it meanwhile: then it stays on their load)."""
        if owner_of(self.store.get(ticket_id)) != user:
            self.store.release(user, ticket_id)

    def _arm(self, ticket_id: str, user: str, at: datetime) -> None:
        due = ReassignDue(ticket_id=ticket_id, assignee=user, fire_at=at)
        self.timers.arm(reassign_schedule_name(ticket_id), at, due.model_dump(mode="json"))

    def reassign(self, due: ReassignDue, now: datetime) -> TicketReassignedMessage | None:
        """The reassignment timer fired: move the ticket to the next agent if its routed owner has still not
        given the first response; else nothing."""
        item = self.store.get(due.ticket_id)
        if item is None:
            return None
        if item.get("reassigned_from") == due.assignee and not item.get("reassign_announced"):
            return self._announce(item, due.assignee, now)  # moved, but the message was not published
        if (
            item.get(names.ASSIGNEE_ATTR) != due.assignee
            or item.get("first_response_at")
            or item.get("reassigned_at")
            or str(item.get("status") or "") not in OPEN
        ):
            return None
        user = self._reserve(due.ticket_id, now, exclude={due.assignee})
        if not user:
            return None  # nobody else is available: the owner keeps it (the SLA warning still comes)
        moved = self.store.assign(due.ticket_id, user, now, previous=due.assignee)
        if moved is None:
            self._unreserve(due.ticket_id, user)
            return None
        self.store.release(due.assignee, due.ticket_id)
        return self._announce(moved, due.assignee, now)

    def _announce(self, item: Mapping[str, Any], previous: str, now: datetime) -> TicketReassignedMessage:
        message = TicketReassignedMessage(
            ticket_id=str(item["ticket_id"]),
            priority=Priority(str(item.get("priority") or Priority.NORMAL)),
            previous=previous,
            assignee=str(item.get(names.ASSIGNEE_ATTR) or ""),
            due_at=str(item.get("sla_due_at") or format_utc(now)),  # type: ignore[arg-type]
            at=str(item.get("reassigned_at") or format_utc(now)),  # type: ignore[arg-type]
        )
        self.publisher.publish(message)
        self.store.mark_announced(message.ticket_id)
        return message


def sync_load(store: RoutingStore, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """One change of a ticket item (the table's stream): move the ticket between agents' loads when its
    owner changed or it stopped (or started again) being open. Idempotent. Whether anything was due."""
    ticket = (new or old or {}).get("ticket_id")
    if not isinstance(ticket, str) or not is_ticket_id(ticket):
        return False
    before, after = owner_of(old), owner_of(new)
    if before == after:
        return False
    if before:
        store.release(before, ticket)
    if after:
        store.count(after, ticket)
    return True


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
