"""Who is writing in (issue 27.2), pure: is an inbound mail's sender authenticated for its From domain, and
which ticket does a signed reply address name.

Only the customer speaks for the customer: a mail counts as the customer's when its From is the ticket's
customer (or a contact on the ticket) *and* the sender is authenticated (`authenticate`). The first half
needs the ticket and lives in pipeline.domain.mailflow; this module knows nothing of tickets.

Authentication, from SES's receipt verdicts (no DNS here: SES did the lookups):
- DMARC PASS;
- or no DMARC record for the domain (SES reports GRAY): SPF PASS with the envelope sender (MAIL FROM /
  Return-Path) aligned with the From domain, or DKIM PASS with every DKIM signature's d= aligned (SES gives
  one DKIM verdict for all signatures, so an unaligned passing signature could otherwise lend its pass to a
  forged aligned one);
- or a From domain on the configured allow-list (mail from these domains is trusted on its From alone:
  list only domains whose mail reaches SES through a path you control).
Anything else, a missing verdict included, is not authenticated.

Alignment is relaxed (RFC 7489 3.1): the same organisational domain. The organisational domain here is the
last two labels, or three under a known multi-label public suffix (MULTI_LABEL_SUFFIXES), not the full
Public Suffix List: a domain under an unlisted multi-label suffix (e.g. `example.city.kawasaki.jp`) aligns
with too much (`city.kawasaki.jp`), never with another registrable domain under a listed one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

MISSING = ""  # a verdict the receipt event did not carry: never a pass
PASS, FAIL, GRAY = "PASS", "FAIL", "GRAY"

# Public suffixes of two labels under which organisations register (a short list, see the module doc).
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "nhs.uk", "sch.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz", "govt.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.cn", "net.cn", "org.cn",
        "com.hk", "com.tw", "com.sg", "com.my", "co.in", "net.in", "org.in", "co.id", "co.th", "com.ph",
        "com.br", "net.br", "org.br", "com.ar", "com.mx", "com.co", "com.pe", "co.za", "org.za",
        "com.tr", "co.il", "org.il", "ac.il", "com.ua", "com.pl", "co.at", "or.at", "com.es", "com.pt",
        "com.gr", "com.ru", "com.sa", "com.eg", "co.ke", "com.ng",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Verdicts:
    """SES receipt verdicts (PASS, FAIL, GRAY, PROCESSING_FAILED, DISABLED; MISSING when not reported) and
    the domain's published DMARC policy (none, quarantine, reject)."""

    spf: str = MISSING
    dkim: str = MISSING
    spam: str = MISSING
    virus: str = MISSING
    dmarc: str = MISSING
    dmarc_policy: str = MISSING

    @classmethod
    def passing(cls) -> Verdicts:
        """Every check passed (a customer writing from a domain with DMARC)."""
        return cls(PASS, PASS, PASS, PASS, PASS)

    def refusal(self) -> str:
        """Why the mail is refused outright ("" when it is not): spam or a virus. SPF, DKIM and DMARC decide
        trust, not acceptance (a forwarded mail fails SPF and may still be the customer's: it is shown)."""
        failed = [n for n, v in (("spam", self.spam), ("virus", self.virus)) if v.upper() == FAIL]
        return f"{', '.join(failed)} verdict FAIL" if failed else ""


@dataclass(frozen=True)
class SenderCheck:
    """Whether the From domain is authenticated, and the reason shown to agents either way."""

    authenticated: bool
    reason: str


def domain_of(address: str) -> str:
    """The lowercase domain of an address ("" when there is none)."""
    return address.rpartition("@")[2].strip().strip(".").lower() if "@" in address else ""


def organisational_domain(domain: str) -> str:
    """The registrable domain: the last two labels, three under a MULTI_LABEL_SUFFIXES suffix."""
    labels = [label for label in domain.lower().strip(".").split(".") if label]
    keep = 3 if ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment: both domains share their organisational domain."""
    return bool(domain and from_domain) and organisational_domain(domain) == organisational_domain(
        from_domain
    )


def parse_domains(value: str) -> frozenset[str]:
    """A comma- or space-separated domain list (the allow-list setting), lowercase."""
    return frozenset(d.strip().strip(".").lower() for d in re.split(r"[,\s]+", value) if d.strip())


def authenticate(
    from_address: str,
    verdicts: Verdicts,
    *,
    envelope_from: str,
    dkim_domains: tuple[str, ...],
    trusted_domains: frozenset[str] = frozenset(),
    from_count: int = 1,
) -> SenderCheck:
    """Is the sender of this From address authenticated (see the module doc)?"""
    from_domain = domain_of(from_address)
    if from_count != 1:
        return SenderCheck(False, f"the mail names {from_count} From addresses")
    if not from_domain:
        return SenderCheck(False, "no From domain")
    if from_domain in trusted_domains:
        return SenderCheck(True, f"{from_domain} is on the trusted-domain list")
    dmarc = verdicts.dmarc.upper()
    if dmarc == PASS:
        return SenderCheck(True, "DMARC PASS")
    if dmarc == GRAY:
        spf_domain = domain_of(envelope_from)
        if verdicts.spf.upper() == PASS and aligned(spf_domain, from_domain):
            return SenderCheck(True, f"no DMARC record; SPF PASS for {spf_domain}, aligned")
        if (
            verdicts.dkim.upper() == PASS
            and dkim_domains
            and all(aligned(d, from_domain) for d in dkim_domains)
        ):
            return SenderCheck(True, f"no DMARC record; DKIM PASS for d={dkim_domains[0]}, aligned")
        return SenderCheck(
            False,
            f"no DMARC record, and no aligned SPF or DKIM pass (SPF {verdicts.spf or 'missing'} for "
            f"{spf_domain or 'no envelope sender'}, DKIM {verdicts.dkim or 'missing'} for "
            f"{', '.join(dkim_domains) or 'no signature'})",
        )
    if dmarc == MISSING:
        return SenderCheck(False, "no DMARC verdict")
    policy = f" (policy {verdicts.dmarc_policy})" if verdicts.dmarc_policy else ""
    return SenderCheck(False, f"DMARC {dmarc}{policy}")


# --- Signed reply addresses -------------------------------------------------------------------------------
# Replies go out with Reply-To `support+<ticket id>.<tag>@domain`, the tag an HMAC of the ticket id under a
# key only tms holds: an answer names its ticket without trusting its subject, and nobody can mint the
# address of a ticket they were not sent. Lowercase, because relays may fold the local part's case; the
# ticket id's Crockford alphabet and base32 are case-insensitive.

REPLY_TAG_CHARS = 16  # 80 bits of HMAC-SHA256, base32
_TOKEN_RE = re.compile(rf"^(tkt-\d{{8}}-[0-9a-z]{{10}})\.([a-z2-7]{{{REPLY_TAG_CHARS}}})$")


def _tag(key: bytes, ticket_id: str) -> str:
    digest = hmac.new(key, ticket_id.upper().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:REPLY_TAG_CHARS]


def reply_address(base: str, ticket_id: str, key: bytes) -> str:
    """`local+<ticket id>.<tag>@domain` for `base` = `local@domain`; `base` itself without a key."""
    if not key or "@" not in base:
        return base
    local, _, domain = base.rpartition("@")
    return f"{local}+{ticket_id.lower()}.{_tag(key, ticket_id)}@{domain}"


@dataclass(frozen=True)
class TokenMatch:
    """The ticket a recipient's signed tag names ("" for none), and whether a tag was there but forged."""

    ticket_id: str = ""
    forged: bool = False


def ticket_from_recipients(recipients: tuple[str, ...], base: str, key: bytes) -> TokenMatch:
    """The ticket named by a correctly signed `base`+tag recipient. A tag whose signature does not verify
    names nothing (forged=True, for the log)."""
    if not key or "@" not in base:
        return TokenMatch()
    local, _, domain = base.lower().rpartition("@")
    forged = False
    for recipient in recipients:
        r_local, _, r_domain = recipient.lower().rpartition("@")
        base_local, plus, tag = r_local.partition("+")
        if r_domain != domain or base_local != local or not plus:
            continue
        m = _TOKEN_RE.match(tag)
        if m and hmac.compare_digest(m.group(2), _tag(key, m.group(1))):
            return TokenMatch(m.group(1).upper())
        forged = True
    return TokenMatch(forged=forged)
