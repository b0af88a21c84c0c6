"""Limits on new work from one source (issue 27.5): a port any intake path counts through, and the defaults.

Mail counts new tickets per sender address and per sender domain; `/ticket`, API producers (by source) and
Slack messages can count through the same port with their own `Limit` names and keys. The adapter
(pipeline.adapters.limits) keeps one atomic counter per name, key and fixed window; a window's items expire.

Fixed windows: a burst straddling a window boundary can reach twice the limit, which is fine for a guard
against floods (it is not a billing meter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

DEFAULT_WINDOW = timedelta(hours=1)
# New tickets opened by mail per hour: from one sender address, and from one domain (freemail exempt).
DEFAULT_MAIL_TICKETS_PER_SENDER = 5
DEFAULT_MAIL_TICKETS_PER_DOMAIN = 50
# Mailbox providers shared by unrelated people: one user there must not throttle all the others, so their
# domains are exempt from the per-domain limit (the per-sender limit still applies).
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.net", "gmx.de", "gmx.at", "gmx.ch",
        "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "fastmail.com",
    }
)  # fmt: skip


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

    per_sender: Limit = Limit("mail-sender", DEFAULT_MAIL_TICKETS_PER_SENDER)
    per_domain: Limit = Limit("mail-domain", DEFAULT_MAIL_TICKETS_PER_DOMAIN)
    exempt_domains: frozenset[str] = FREEMAIL_DOMAINS

    @classmethod
    def of(cls, per_sender: int, per_domain: int) -> MailLimits:
        """Limits with these counts per window (the settings)."""
        return cls(Limit("mail-sender", per_sender), Limit("mail-domain", per_domain))
