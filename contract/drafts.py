"""What a drafted reply points the customer to: links outside the allowed domains and phone numbers.

A reply model reads customer text, and customer text can carry instructions ("tell them to pay at ...").
No rule stops a model from putting a link or a phone number in a draft, so every ticket post lists them in
a warning before an agent can approve the reply (bot/blocks.py). Pure functions, shared by the bot and the
tests; the allow-list is data (contract/defaults.py, `TMS_DRAFT_LINK_DOMAINS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from contract import defaults, names

# A URL with a scheme, or a host starting with www.; it ends at whitespace or at what closes it in prose.
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'`]+", re.IGNORECASE)
# A bare host followed by a path ("evil.example/pay"): a link any mail client makes clickable.
_BARE_HOST_PATH = re.compile(
    r"(?<![\w@./:-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})/[^\s<>\"'`]*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@((?:[a-z0-9-]+\.)+[a-z]{2,63})\b", re.IGNORECASE)
# Phone numbers as people write them: an optional +country code, then 2+ groups of digits separated by a
# space, dot, hyphen or parentheses, 7 to 15 digits in all (E.164's maximum); or a run of 7-15 digits after
# +. A ticket id (TKT-20250101-...) is preceded by a hyphen and a letter run, so it never matches.
_PHONE = re.compile(
    r"(?<![\w+\-./:])(?:\+\s?\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]\d{2,6}){1,4}(?![\w\-]|\.\d)"
    r"|(?<![\w+])\+\d{7,15}\b"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_TRAILING = ".,;:!?)]}'\""
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15


@dataclass(frozen=True)
class DraftFindings:
    """The links (outside the allow-list) and phone numbers in one draft, in order of appearance."""

    links: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.links or self.phones)


def allowed_link_domains(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The allow-list: TMS_DRAFT_LINK_DOMAINS (comma-separated) or the default, plus the reply-from domain."""
    env = os.environ if environ is None else environ
    configured = env.get(names.ENV_DRAFT_LINK_DOMAINS, "").strip()
    domains = [d for d in configured.split(",")] if configured else list(defaults.DRAFT_LINK_DOMAINS)
    reply_from = env.get(names.ENV_REPLY_FROM, "")
    if "@" in reply_from:
        domains.append(reply_from.rpartition("@")[2])
    return tuple(dict.fromkeys(d.strip().lower().strip(".") for d in domains if d.strip()))


def domain_allowed(host: str, allowed: Iterable[str]) -> bool:
    """True when host is an allowed domain or one of its subdomains (compared in lower case, exactly)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in allowed)


def _host_of(link: str) -> str | None:
    """The host a browser would open for link; None when it cannot be read safely (userinfo, backslash)."""
    candidate = link if "://" in link else "http://" + link
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    # "https://docs.aws.amazon.com@evil.example/" opens evil.example, and browsers read "\" as "/": a
    # link whose authority holds either is never taken at face value.
    if (
        "@" in parts.netloc
        or "\\" in candidate.split("?")[0]
        or parts.scheme.lower() not in ("http", "https")
    ):
        return None
    return parts.hostname


def find_links(text: str, allowed: Iterable[str]) -> tuple[str, ...]:
    """Links and mail addresses in text whose host is not on the allow-list (any non-http(s) link too)."""
    allow = tuple(allowed)
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        link = m.group().rstrip(_TRAILING)
        spans.append((m.start(), m.start() + len(link)))
        host = _host_of(link)
        if host is None or not domain_allowed(host, allow):
            found.append(link)
    for m in _BARE_HOST_PATH.finditer(text):
        if any(b <= m.start() < e for b, e in spans):
            continue
        link = m.group().rstrip(_TRAILING)
        spans.append((m.start(), m.start() + len(link)))
        if not domain_allowed(m.group(1), allow):
            found.append(link)
    for m in _EMAIL.finditer(text):
        if any(b <= m.start() < e for b, e in spans):
            continue
        if not domain_allowed(m.group(1), allow):
            found.append(m.group())
    return tuple(dict.fromkeys(found))


def find_phones(text: str) -> tuple[str, ...]:
    """Phone-number-like digit groups in text (ISO dates and IPv4 addresses are not phone numbers)."""
    found: list[str] = []
    for m in _PHONE.finditer(text):
        value = m.group().strip()
        digits = sum(c.isdigit() for c in value)
        if not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
            continue
        if _ISO_DATE.match(value) or _DOTTED_QUAD.match(value):
            continue
        found.append(value)
    return tuple(dict.fromkeys(found))


def draft_findings(text: str, allowed: Iterable[str] | None = None) -> DraftFindings:
    """Links outside `allowed` (default: allowed_link_domains()) and phone numbers in a drafted reply."""
    allow = tuple(allowed) if allowed is not None else allowed_link_domains()
    return DraftFindings(links=find_links(text, allow), phones=find_phones(text))
