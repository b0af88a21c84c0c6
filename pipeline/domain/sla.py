"""First-response SLAs: due times per priority (optionally in business hours of a time zone), timers that
warn at a share of the target and escalate at the target, each at most once per ticket and timer.

"First response" = the reply was sent to the customer (the mailer's SENT write, pipeline.domain.mailflow), or
the ticket was resolved. Whatever path sends or resolves records it once and stops the timers
(`record_first_response`); a timer that fires after it (a race with the deletion of its schedule) does nothing,
because every firing is a conditional write that requires `first_response_at` to be absent.

Pure logic and ports only: the scheduler, the table and the topics are adapters (pipeline/adapters/sla.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract import defaults, names
from contract.errors import SlaConfigError
from contract.models import (
    Priority,
    SlaAlertMessage,
    SlaArm,
    SlaFire,
    SlaTimerKind,
    format_utc,
)
from contract.models.sla import SLA_TIMERS, schedule_name

DEFAULT_WARN_FRACTION = defaults.SLA_WARN_FRACTION
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
WORKDAYS = frozenset(range(5))  # Monday..Friday
_MAX_DAYS = 3660  # a target never spans ten years of business days: stop rather than loop


def parse_duration(value: str, *, setting: str = "duration") -> timedelta:
    """'45s', '30m', '8h', '1d', '1h30m' as a timedelta; SlaConfigError naming the setting otherwise."""
    text = value.strip().lower()
    match = _DURATION_RE.match(text)
    if not text or not match or not any(match.groups()):
        raise SlaConfigError(
            f"{setting}: {value!r} is not a duration; write a whole number with a unit, e.g. 45s, 30m, 8h, 1d"
            " or 1h30m"
        )
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    duration = timedelta(days=d, hours=h, minutes=m, seconds=s)
    if duration <= timedelta(0):
        raise SlaConfigError(f"{setting}: {value!r} must be longer than zero")
    return duration


# The targets as timedeltas, from the one default (contract/defaults.py).
DEFAULT_TARGETS: Mapping[Priority, timedelta] = {
    Priority(p): parse_duration(v, setting=f"defaults.SLA_TARGETS[{p}]")
    for p, v in defaults.SLA_TARGETS.items()
}


def format_duration(value: timedelta) -> str:
    """A duration the way people write it ('1h', '8h', '1h30m', '45s')."""
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class BusinessHours:
    """Working hours each working day (Monday to Friday) in a time zone."""

    opens: time
    closes: time
    tz: ZoneInfo
    workdays: frozenset[int] = WORKDAYS

    @classmethod
    def parse(cls, hours: str, timezone: str) -> BusinessHours:
        """'09:00-17:00' in an IANA time zone such as 'Europe/Lisbon'."""
        match = _HOURS_RE.match(hours.strip())
        if not match:
            raise SlaConfigError(f"business hours: {hours!r} is not HH:MM-HH:MM (e.g. 09:00-17:00)")
        oh, om, ch, cm = (int(g) for g in match.groups())
        opens = time(oh, om)
        closes = time.max if (ch, cm) == (24, 0) else time(ch, cm)
        if closes <= opens:
            raise SlaConfigError(f"business hours: {hours!r} must close after it opens on the same day")
        return cls(opens, closes, zone(timezone))

    def _window(self, day: date) -> tuple[datetime, datetime]:
        # Wall-clock times in the zone, then UTC: arithmetic on aware datetimes of one zone is wall-clock
        # arithmetic in Python, which is wrong across a DST change.
        opens = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of working time after `start` (time outside working hours does not count)."""
        start = start.astimezone(UTC)
        remaining = duration
        day = start.astimezone(self.tz).date()
        for _ in range(_MAX_DAYS):
            if day.weekday() in self.workdays:
                opens, closes = self._window(day)
                begin = max(start, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise SlaConfigError("an SLA target does not fit in ten years of business hours")


def zone(name: str) -> ZoneInfo:
    """An IANA time zone, or SlaConfigError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise SlaConfigError(f"time zone: {name!r} is not an IANA time zone name (e.g. Europe/Lisbon)") from e


@dataclass(frozen=True)
class SlaPolicy:
    """First-response targets per priority, the warning share and the optional business hours."""

    targets: Mapping[Priority, timedelta] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    warn_fraction: float = DEFAULT_WARN_FRACTION
    business_hours: BusinessHours | None = None

    def __post_init__(self) -> None:
        if not 0 < self.warn_fraction < 1:
            raise SlaConfigError(f"warn fraction: {self.warn_fraction} must be between 0 and 1 (e.g. 0.8)")
        missing = [p.value for p in Priority if p not in self.targets]
        if missing:
            raise SlaConfigError(f"no SLA target for {', '.join(missing)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlaPolicy:
        """TMS_SLA_<PRIORITY>, TMS_SLA_WARN_FRACTION, TMS_SLA_BUSINESS_HOURS + TMS_SLA_TIMEZONE (defaults:
        HIGH 1h, MEDIUM 8h, NORMAL 24h, 0.8, around the clock)."""
        targets = dict(DEFAULT_TARGETS)
        for p in Priority:
            var = f"{names.ENV_SLA_PREFIX}{p.value}"
            if environ.get(var):
                targets[p] = parse_duration(environ[var], setting=var)
        raw_fraction = environ.get(names.ENV_SLA_WARN_FRACTION) or str(DEFAULT_WARN_FRACTION)
        try:
            fraction = float(raw_fraction)
        except ValueError as e:
            raise SlaConfigError(f"{names.ENV_SLA_WARN_FRACTION}: {raw_fraction!r} is not a number") from e
        hours = environ.get(names.ENV_SLA_BUSINESS_HOURS, "").strip()
        business = BusinessHours.parse(hours, environ.get(names.ENV_SLA_TIMEZONE) or "UTC") if hours else None
        return cls(targets=targets, warn_fraction=fraction, business_hours=business)

    def _after(self, start: datetime, duration: timedelta) -> datetime:
        if self.business_hours is None:
            return start.astimezone(UTC) + duration
        return self.business_hours.add(start, duration)

    def due_at(self, start: datetime, priority: Priority) -> datetime:
        """When the first response is due for a ticket submitted at `start`."""
        return self._after(start, self.targets[Priority(priority)])

    def warn_at(self, start: datetime, priority: Priority) -> datetime:
        """When agents are warned: `warn_fraction` of the target (of working time) after `start`."""
        return self._after(start, self.targets[Priority(priority)] * self.warn_fraction)

    def share_at(self, start: datetime, priority: Priority, fraction: float) -> datetime:
        """`fraction` of the target (of working time) after `start` (routing's reassignment, issue 32)."""
        return self._after(start, self.targets[Priority(priority)] * fraction)

    def arm(self, ticket_id: str, start: datetime, priority: Priority) -> SlaArm:
        """The timers a ticket needs."""
        return SlaArm(
            ticket_id=ticket_id,
            priority=priority,
            sla_due_at=self.due_at(start, priority),
            sla_warn_at=self.warn_at(start, priority),
        )


def at_expression(when: datetime) -> str:
    """EventBridge Scheduler's one-time expression, in UTC, rounded UP to the second (never early)."""
    when = when.astimezone(UTC)
    whole = when.replace(microsecond=0)
    if whole < when:
        whole += timedelta(seconds=1)
    return f"at({whole:%Y-%m-%dT%H:%M:%S})"


def parse_at(expression: str) -> datetime | None:
    """The UTC instant of an `at(...)` expression, None for rate()/cron()."""
    match = re.fullmatch(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)", expression.strip())
    return datetime.fromisoformat(match[1]).replace(tzinfo=UTC) if match else None


# --- ports ---------------------------------------------------------------------------------------------


class Timers(Protocol):
    """Port: one-time timers that invoke the timer function with a payload."""

    def arm(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        """Create (or move) the one-time timer `name`; idempotent."""

    def cancel(self, name: str) -> None:
        """Delete the timer; a timer that no longer exists is fine."""


class SlaStore(Protocol):
    """Port: the SLA attributes of ticket items, changed by conditional writes."""

    def claim_alert(
        self, ticket_id: str, timer: SlaTimerKind, due_at: datetime, now: datetime
    ) -> dict | None:
        """Record that `timer` fired for an unanswered ticket still due at `due_at` and not yet alerted;
        the item after the write, or None when the condition fails (answered, re-armed or already sent)."""

    def mark_alert_sent(self, ticket_id: str, timer: SlaTimerKind) -> None:
        """Record that the alert was published (a later redelivery then does nothing)."""

    def record_first_response(self, ticket_id: str, at: datetime, by: str) -> dict | None:
        """Set first_response_at unless it is set; the item after the write (None: no such ticket)."""

    def rearm(self, ticket_id: str, due_at: datetime, warn_at: datetime) -> dict | None:
        """Move the due time of an unanswered, unbreached ticket; the item, or None when it may not move."""

    def get(self, ticket_id: str) -> dict | None:
        """The ticket item."""


class AlertPublisher(Protocol):
    """Port: tell people (Slack through the tickets topic; escalation subscribers by email)."""

    def publish(self, message: SlaAlertMessage) -> None:
        """Publish one warning or breach."""


# --- use cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaService:
    """The SLA use cases over the ports."""

    policy: SlaPolicy
    store: SlaStore
    timers: Timers
    publisher: AlertPublisher

    def arm(self, command: SlaArm) -> list[str]:
        """Create the warning and breach timers of a ticket whose due time is stored; their names."""
        armed = []
        for timer, at in (("warn", command.sla_warn_at), ("breach", command.sla_due_at)):
            fire = SlaFire(ticket_id=command.ticket_id, timer=timer, due_at=command.sla_due_at, fire_at=at)  # type: ignore[arg-type]
            name = schedule_name(command.ticket_id, timer)  # type: ignore[arg-type]
            self.timers.arm(name, at, fire.model_dump(mode="json"))
            armed.append(name)
        return armed

    def fire(self, event: SlaFire, now: datetime) -> SlaAlertMessage | None:
        """A timer fired: alert once if the ticket is still unanswered and still due then; else nothing."""
        item = self.store.claim_alert(event.ticket_id, event.timer, event.due_at, now)
        if item is None:
            return None
        message = SlaAlertMessage(
            event_type=names.EVENT_SLA_WARNING if event.timer == "warn" else names.EVENT_SLA_BREACHED,  # type: ignore[arg-type]
            ticket_id=event.ticket_id,
            priority=Priority(str(item.get("priority") or Priority.NORMAL)),
            subject=str(item.get("subject") or "")[:256],
            due_at=event.due_at,
            fired_at=now,
            assignee=str(item.get("assignee") or ""),
        )
        self.publisher.publish(message)
        self.store.mark_alert_sent(event.ticket_id, event.timer)
        return message

    def record_first_response(self, ticket_id: str, at: datetime, by: str = "") -> dict | None:
        """The first response happened: record it (once) and delete the ticket's timers."""
        return record_first_response(self.store, self.timers, ticket_id, at, by)

    def reprioritise(self, ticket_id: str, priority: Priority) -> SlaArm | None:
        """Compute the due time for the new priority from the submission time and re-arm the timers."""
        item = self.store.get(ticket_id)
        if item is None or not item.get("submitted_at"):
            return None
        submitted = datetime.fromisoformat(str(item["submitted_at"]).replace("Z", "+00:00"))
        command = self.policy.arm(ticket_id, submitted, priority)
        if self.store.rearm(ticket_id, command.sla_due_at, command.sla_warn_at) is None:
            return None  # answered or already breached: nothing to re-arm
        self.arm(command)
        return command


def record_first_response(
    store: SlaStore, timers: Timers, ticket_id: str, at: datetime, by: str = ""
) -> dict | None:
    """THE first-response hook: record `first_response_at` once (the earliest call wins) and delete the
    ticket's timers. Safe to call again and from any path (approve, resolve, a reply sent by email)."""
    item = store.record_first_response(ticket_id, at, by)
    for timer in SLA_TIMERS:
        timers.cancel(schedule_name(ticket_id, timer))
    return item


def sla_fields(command: SlaArm) -> dict[str, str]:
    """The item attributes that carry the due times."""
    return {"sla_due_at": format_utc(command.sla_due_at), "sla_warn_at": format_utc(command.sla_warn_at)}
