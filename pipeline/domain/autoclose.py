"""Auto-close with a nudge (issue 32): a ticket whose mailed reply waits on the customer gets one polite
reminder after half the waiting period and is CLOSED after all of it, each at most once per wait.

The timers are the SLA timers' (EventBridge Scheduler one-time schedules, the same function and group). A
timer only acts through one conditional write that names the wait it was armed for: a customer's answer
(the status leaves SENT/WAITING_CUSTOMER), a later reply (a new `awaiting_since`), an earlier firing of the
same timer (`nudged_for` set) or unverified mail about the ticket (`autoclose_paused_at` set) each make it do
nothing. The write comes before the mail: a crash in between loses one reminder, never sends two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from contract import defaults, names
from contract.models import (
    AutoCloseFire,
    AwaitCustomer,
    MailEventKind,
    format_utc,
)
from contract.models.sla import AUTOCLOSE_TIMERS, autoclose_schedule_name
from pipeline.domain.lifecycle import StatusChange, Step
from pipeline.domain.mailflow import (
    AWAITING_SINCE,
    NUDGED_FOR,
    PAUSED_AT,
    SYSTEM_ACTOR,
    Events,
    Lifecycle,
    MailConfig,
    MailSender,
    TransitionRefusedError,
    publish_followup,
    send_followup,
)
from pipeline.domain.sla import Timers, format_duration, parse_duration

OFF = "off"
CLOSE_REASON_NO_ANSWER = "no_answer"  # closed by tms: the customer did not answer in the waiting period
CLOSE_REASON_RESOLVED = "resolved"  # an agent resolved it


@dataclass(frozen=True)
class AutoClosePolicy:
    """How long a ticket waits on its customer before it closes; None: never (auto-close off)."""

    after: timedelta | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AutoClosePolicy:
        """TMS_AUTOCLOSE_AFTER: a duration ("7d", "60s", "1d12h") or "off"; default contract.defaults."""
        raw = (environ.get(names.ENV_AUTOCLOSE_AFTER) or defaults.AUTOCLOSE_AFTER).strip()
        if raw.lower() == OFF:
            return cls(None)
        return cls(parse_duration(raw, setting=names.ENV_AUTOCLOSE_AFTER))

    def nudge_at(self, since: datetime) -> datetime:
        """Half-way through the wait."""
        return since + (self.after or timedelta(0)) / 2

    def close_at(self, since: datetime) -> datetime:
        """At the end of the wait."""
        return since + (self.after or timedelta(0))


class RatingQuestion(Protocol):
    """Port: ask the customer to rate a ticket that ended (pipeline.domain.csat.CsatService.ask)."""

    def ask(self, ticket_id: str, now: datetime) -> str:
        """Send the one rating question; what happened (asked | already_asked | ...)."""


def nudge_text(item: Mapping[str, object], after: timedelta) -> str:
    """The reminder: polite, short, and says what happens next."""
    name = str(item.get("customer_first_name") or item.get("customer_full_name") or "").split(" ")[0]
    greeting = f"Hello {name}," if name else "Hello,"
    left = format_duration(after / 2)
    return (
        f"{greeting}\n\n"
        "We wanted to check whether our last reply solved your problem. If you still need help, simply "
        "answer this mail and the same person will pick it up.\n\n"
        f"If we do not hear from you in the next {left}, we will close this ticket. You can always write "
        "to us again later.\n\n"
        "Thank you,\nThe support team"
    )


@dataclass(frozen=True)
class AutoCloseService:
    """Arming and firing the two timers of a wait."""

    policy: AutoClosePolicy
    store: Lifecycle
    timers: Timers
    sender: MailSender
    events: Events
    config: MailConfig
    rating: RatingQuestion | None = None

    def arm(self, command: AwaitCustomer) -> list[str]:
        """Create (or move) the nudge and close schedules of the wait that started at `command.since`."""
        if self.policy.after is None:
            return []
        armed = []
        for step, at in (
            ("nudge", self.policy.nudge_at(command.since)),
            ("close", self.policy.close_at(command.since)),
        ):
            fire = AutoCloseFire(ticket_id=command.ticket_id, step=step, since=command.since)  # type: ignore[arg-type]
            name = autoclose_schedule_name(command.ticket_id, step)  # type: ignore[arg-type]
            self.timers.arm(name, at, fire.model_dump(mode="json"))
            armed.append(name)
        return armed

    def cancel(self, ticket_id: str) -> None:
        """Delete both schedules (a timer that fires anyway finds its wait over and does nothing)."""
        for step in AUTOCLOSE_TIMERS:
            self.timers.cancel(autoclose_schedule_name(ticket_id, step))

    def fire(self, event: AutoCloseFire, now: datetime) -> str:
        """One timer fired: nudged | closed | skipped (the wait is over, paused, or this already ran)."""
        if event.step == "nudge":
            return self._nudge(event, now)
        return self._close(event, now)

    def _nudge(self, event: AutoCloseFire, now: datetime) -> str:
        since = format_utc(event.since)
        claim = StatusChange(
            event.ticket_id,
            Step.NUDGED,
            SYSTEM_ACTOR,
            now,
            set_fields={NUDGED_FOR: since, "nudged_at": format_utc(now)},
            expect={AWAITING_SINCE: since, NUDGED_FOR: "", PAUSED_AT: ""},
            increment="mail_seq",
            detail={"waiting_since": since},
        )
        try:
            item = self.store.apply(claim)
        except TransitionRefusedError:
            return "skipped"
        sent = send_followup(
            MailEventKind.NUDGE_SENT,
            item,
            nudge_text(item, self.policy.after or timedelta(0)),
            to=str(item.get("customer_email", "")),
            sender=self.sender,
            events=self.events,
            config=self.config,
            now=now,
        )
        return "nudged" if sent else "nudge_failed"

    def _close(self, event: AutoCloseFire, now: datetime) -> str:
        since = format_utc(event.since)
        change = StatusChange(
            event.ticket_id,
            Step.AUTO_CLOSED,
            SYSTEM_ACTOR,
            now,
            set_fields={
                "closed_at": format_utc(now),
                "closed_by": SYSTEM_ACTOR,
                "close_reason": CLOSE_REASON_NO_ANSWER,
            },
            expect={AWAITING_SINCE: since, PAUSED_AT: ""},
            detail={"waiting_since": since, "reason": CLOSE_REASON_NO_ANSWER},
        )
        try:
            item = self.store.apply(change)
        except TransitionRefusedError:
            return "skipped"
        after = format_duration(self.policy.after or timedelta(0))
        publish_followup(
            self.events, MailEventKind.AUTO_CLOSED, item, now, text=f"no answer from the customer in {after}"
        )
        if self.rating is not None:
            self.rating.ask(event.ticket_id, now)
        return "closed"
