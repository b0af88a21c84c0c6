"""Limits on new work from one source (issue 27.5): a port any intake path counts through, and the defaults.

Mail counts new tickets per sender address and per sender domain; `/ticket`, API producers (by source) and
Slack messages can count through the same port with their own `Limit` names and keys. The adapter
(pipeline.adapters.limits) keeps one atomic counter per name, key and fixed window; a window's items expire.

Fixed windows: a burst straddling a window boundary can reach twice the limit, which is fine for a guard
against floods (it is not a billing meter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from contract import defaults
from contract.models import TicketSubmitted

DEFAULT_WINDOW = timedelta(hours=1)
FREEMAIL_DOMAINS = defaults.FREEMAIL_DOMAINS


@dataclass(frozen=True)
class Limit:
    """At most `max_count` hits per `window` for one key (a sender, a domain, a source)."""

    name: str  # the counter's family, e.g. "mail-sender"; part of the stored key
    max_count: int
    window: timedelta = DEFAULT_WINDOW

    def window_start(self, now: datetime) -> int:
        """The epoch second the window containing `now` starts at."""
        seconds = max(1, int(self.window.total_seconds()))
        t = int(now.timestamp())
        return t - t % seconds


@dataclass(frozen=True)
class Decision:
    """One counted hit: allowed or not, and what the window holds."""

    allowed: bool
    count: int  # the window's allowed hits (this one included when allowed)
    first_refusal: bool = False  # the window's first refused hit: announce the limit once, here
    refs: tuple[str, ...] = ()  # what the allowed hits were for (e.g. the tickets opened), oldest first


class RateLimiter(Protocol):
    """Port: count one hit against a limit, atomically."""

    def hit(self, limit: Limit, key: str, now: datetime, ref: str = "") -> Decision:
        """Allowed while the window's count is under the limit; `ref` is remembered with an allowed hit."""


@dataclass(frozen=True)
class MailLimits:
    """The limits on tickets opened by mail."""

    per_sender: Limit = Limit("mail-sender", defaults.TICKETS_PER_SENDER_HOUR)
    per_domain: Limit = Limit("mail-domain", defaults.TICKETS_PER_DOMAIN_HOUR)
    exempt_domains: frozenset[str] = FREEMAIL_DOMAINS

    @classmethod
    def of(cls, per_sender: int, per_domain: int) -> MailLimits:
        """Limits with these counts per window (the settings)."""
        return cls(Limit("mail-sender", per_sender), Limit("mail-domain", per_domain))


def count_new_ticket(
    limiter: RateLimiter,
    per_sender: Limit,
    per_domain: Limit,
    sender: str,
    now: datetime,
    *,
    ref: str = "",
    key_prefix: str = "",
    exempt_domains: frozenset[str] = FREEMAIL_DOMAINS,
    organisation: str = "",
) -> tuple[Limit, str, Decision] | None:
    """Count one new ticket from `sender` against both limits: None when allowed, else the limit it is over,
    the key counted and the decision. The per-sender limit is counted first, so a refused sender does not
    use up the domain's allowance. `organisation` replaces the sender's domain as the second key when the
    source knows better (a Slack customer's team)."""
    sender = sender.strip().lower()
    by_sender = limiter.hit(per_sender, f"{key_prefix}{sender}", now, ref=ref)
    if not by_sender.allowed:
        return per_sender, sender, by_sender
    domain = organisation.strip().lower() or sender.rpartition("@")[2]
    if not domain or domain in exempt_domains:
        return None
    by_domain = limiter.hit(per_domain, f"{key_prefix}{domain}", now)
    return None if by_domain.allowed else (per_domain, domain, by_domain)


class LimitAlerts(Protocol):
    """Port: say once per window that a limit was hit (the alerts channel)."""

    def limit_hit(self, subject: str, message: str) -> None:
        """Announce it."""


@dataclass
class IntakeGate:
    """The same limits on every way a ticket comes in that has no door of its own (`/ticket`, API producers,
    Slack messages): counted in the trigger, per source and customer address and per source and domain.
    Mail is counted at its own door, which joins or holds what is over; tms's own load tool is exempt."""

    limiter: RateLimiter
    per_sender: Limit = Limit("intake-sender", defaults.TICKETS_PER_SENDER_HOUR)
    per_domain: Limit = Limit("intake-domain", defaults.TICKETS_PER_DOMAIN_HOUR)
    exempt_sources: frozenset[str] = frozenset(defaults.LIMIT_EXEMPT_SOURCES)
    exempt_domains: frozenset[str] = FREEMAIL_DOMAINS
    alerts: LimitAlerts | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def refusal(self, ticket: TicketSubmitted) -> str | None:
        """Why this new ticket is over a limit (announced once a window), or None when it may go on."""
        if ticket.source.value in self.exempt_sources:
            return None
        over = count_new_ticket(
            self.limiter,
            self.per_sender,
            self.per_domain,
            ticket.data.customer.email,
            self.clock(),
            ref=ticket.ticketId,
            key_prefix=f"{ticket.source.value}:",
            exempt_domains=self.exempt_domains,
            organisation=_slack_organisation(ticket),
        )
        if over is None:
            return None
        limit, key, decision = over
        reason = (
            f"rate_limited: over the limit of {limit.max_count} new {ticket.source.value} tickets per hour "
            f"from {key}"
        )
        if decision.first_refusal and self.alerts is not None:
            self.alerts.limit_hit(
                f"Intake limit hit: {limit.name} {ticket.source.value}:{key}",
                f"{reason}. Until the hour is over, more such tickets go to the dead-letter queue with this "
                "reason (`tms dlq` lists them; resubmit them with `tms submit` once it is over). One message per hour.",
            )
        return reason


def _slack_organisation(ticket: TicketSubmitted) -> str:
    """A customer's own Slack message counts against their Slack organisation (the team they write from),
    not an email domain: Slack Connect users often show no email, and the placeholder addresses would all
    share one domain (docs/slack-intake.md)."""
    slack = ticket.slack
    if slack is None or not slack.answered_in_slack:
        return ""
    return f"slack-team-{slack.user_team_id or slack.team_id}"
