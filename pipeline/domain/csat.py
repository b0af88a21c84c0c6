"""Customer satisfaction (issue 32): one rating question per ended ticket, answered through a signed link.

The mail carries a link with a token: the ticket id, a random nonce stored on the ticket when it was asked,
and an expiry, signed with HMAC-SHA256 (the key in Secrets Manager on AWS, a file in the state dir locally).
Mail scanners open links before people do, so GET only shows a plain HTML form; the POST records the answer,
in one conditional write that requires the stored nonce and no earlier answer. A forged, expired or reused
token records nothing and gets a page saying which. The pages say nothing about the ticket.

The comment is customer text: redacted by the PII detector used at intake before it is stored or posted,
escaped wherever it is rendered, and erased with the ticket item.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from contract import defaults, names
from contract.errors import SlaConfigError
from contract.models import MailEventKind, PiiResult, format_utc
from pipeline.domain.lifecycle import StatusChange, Step
from pipeline.domain.mailflow import (
    SYSTEM_ACTOR,
    Events,
    Lifecycle,
    MailConfig,
    MailSender,
    TransitionRefusedError,
    publish_followup,
    send_followup,
)
from pipeline.domain.redaction import redact_text
from pipeline.domain.sla import parse_duration

RATINGS = ("1", "2", "3", "4", "5", "up", "down")
SATISFIED = frozenset({"4", "5", "up"})  # what counts toward the CSAT share (Zendesk's definition)
COMMENT_MAX = 1000  # characters
TOKEN_MAX = 512  # longer input is not one of ours: refused before any decoding
NONCE_ATTR = "csat_nonce"
RATING_ATTR = "csat_rating"


class Verdict(StrEnum):
    OK = "ok"
    FORGED = "forged"  # not signed by our key, or not a token at all
    EXPIRED = "expired"
    USED = "used"  # already answered (or the ticket was asked again and this is the older link)
    INVALID = "invalid"  # a valid token with a form that does not say a rating


@dataclass(frozen=True)
class Token:
    ticket_id: str
    nonce: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(token: Token, key: bytes) -> str:
    """The link's token: base64url(ticket|nonce|expiry) "." base64url(HMAC-SHA256)."""
    if not key:
        raise ValueError("no CSAT key: rating links cannot be signed")
    payload = f"{token.ticket_id}|{token.nonce}|{int(token.expires_at.timestamp())}".encode()
    return f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest())}"


def verify(text: str, key: bytes, now: datetime) -> tuple[Verdict, Token | None]:
    """FORGED unless our key signed it; EXPIRED after its expiry; else OK with what it says."""
    if not key or not text or len(text) > TOKEN_MAX or text.count(".") != 1:
        return Verdict.FORGED, None
    body, _, mac = text.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except ValueError:
        return Verdict.FORGED, None
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), given):
        return Verdict.FORGED, None
    # rsplit: a producer's ticket id may hold any character; the nonce and the expiry never hold "|".
    ticket_id, nonce, expiry = payload.decode("utf-8", errors="replace").rsplit("|", 2)
    token = Token(ticket_id, nonce, datetime.fromtimestamp(int(expiry), UTC))
    if now >= token.expires_at:
        return Verdict.EXPIRED, token
    return Verdict.OK, token


def link_validity(environ: Mapping[str, str]) -> timedelta:
    """TMS_CSAT_LINK_VALID (a duration; default contract.defaults.CSAT_LINK_VALID)."""
    raw = environ.get(names.ENV_CSAT_LINK_VALID) or defaults.CSAT_LINK_VALID
    return parse_duration(raw, setting=names.ENV_CSAT_LINK_VALID)


def rating_link(base_url: str, token: str) -> str:
    """Where the mail points: the rating page with the token in the query."""
    if not base_url.startswith(("https://", "http://")):
        raise SlaConfigError(f"{names.ENV_CSAT_BASE_URL}: {base_url!r} is not an http(s) URL")
    return f"{base_url.rstrip('/')}/rate?t={token}"


def question_text(item: Mapping[str, object], link: str) -> str:
    """The one question, in the mail."""
    name = str(item.get("customer_full_name") or "").split(" ")[0]
    return (
        f"{'Hello ' + name + ',' if name else 'Hello,'}\n\n"
        "Your request is closed. How satisfied are you with the help you got? One click on the page below "
        "and an optional comment tell us (it takes a few seconds and is the only time we ask):\n\n"
        f"{link}\n\n"
        "If your problem is not solved, just answer this mail.\n\n"
        "Thank you,\nThe support team"
    )


class PiiDetector(Protocol):
    """Port: the PII detector of intake (Comprehend DetectPiiEntities; the offline one locally)."""

    def detect(self, text: str) -> PiiResult:
        """Entities in Comprehend's response shape."""


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    ticket_id: str = ""
    rating: str = ""


@dataclass(frozen=True)
class CsatService:
    """Asking once, and recording the answer once."""

    store: Lifecycle
    sender: MailSender
    events: Events
    config: MailConfig
    key: bytes
    base_url: str
    valid: timedelta
    pii: PiiDetector

    def ask(self, ticket_id: str, now: datetime) -> str:
        """Mail the rating question: asked | already_asked | no_mail (no customer address) | not_sent."""
        item = self.store.get(ticket_id)
        if item is None or not item.get("customer_email") or item.get("reply_via") == "slack":
            return "no_mail"
        nonce = secrets.token_urlsafe(12)
        expires = now + self.valid
        try:
            item = self.store.apply(
                StatusChange(
                    ticket_id,
                    Step.CSAT_ASKED,
                    SYSTEM_ACTOR,
                    now,
                    set_fields={
                        NONCE_ATTR: nonce,
                        "csat_asked_at": format_utc(now),
                        "csat_expires_at": format_utc(expires),
                    },
                    expect_absent=(NONCE_ATTR,),
                    increment="mail_seq",
                )
            )
        except TransitionRefusedError:
            return "already_asked"
        link = rating_link(self.base_url, sign(Token(ticket_id, nonce, expires), self.key))
        sent = send_followup(
            MailEventKind.CSAT_ASKED,
            item,
            question_text(item, link),
            to=str(item["customer_email"]),
            sender=self.sender,
            events=self.events,
            config=self.config,
            now=now,
        )
        return "asked" if sent else "not_sent"

    def check(self, token_text: str, now: datetime) -> Outcome:
        """What a GET of the link shows: the form (OK) or why not."""
        verdict, token = verify(token_text, self.key, now)
        if token is None or verdict is not Verdict.OK:
            return Outcome(verdict)
        item = self.store.get(token.ticket_id) or {}
        if item.get(NONCE_ATTR) != token.nonce or item.get(RATING_ATTR):
            return Outcome(Verdict.USED, token.ticket_id)
        return Outcome(Verdict.OK, token.ticket_id)

    def record(self, token_text: str, rating: str, comment: str, now: datetime) -> Outcome:
        """The POST: the answer recorded once (the nonce must match and no rating be there yet)."""
        verdict, token = verify(token_text, self.key, now)
        if token is None or verdict is not Verdict.OK:
            return Outcome(verdict)
        rating = rating.strip().lower()
        if rating not in RATINGS:
            return Outcome(Verdict.INVALID, token.ticket_id)
        comment = " ".join(comment.split())[:COMMENT_MAX]  # one paragraph; no layout to smuggle
        redacted = redact_text(comment, self.pii.detect(comment)) if comment else ""
        try:
            item = self.store.apply(
                StatusChange(
                    token.ticket_id,
                    Step.CSAT_RECORDED,
                    "customer",
                    now,
                    set_fields={RATING_ATTR: rating, "csat_comment": redacted, "csat_at": format_utc(now)},
                    expect={NONCE_ATTR: token.nonce},
                    expect_absent=(RATING_ATTR,),
                    detail={"rating": rating},
                )
            )
        except TransitionRefusedError:
            return Outcome(Verdict.USED, token.ticket_id)
        publish_followup(self.events, MailEventKind.CSAT_RECEIVED, item, now, rating=rating, text=redacted)
        return Outcome(Verdict.OK, token.ticket_id, rating)


# --- the pages (plain HTML, no JavaScript, nothing about the ticket) ---------------------------------------

_STYLE = "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # No script, no outside resource, only posts to itself, never framed, never cached, no referrer.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LABELS = {
    "5": "5 - very satisfied",
    "4": "4",
    "3": "3",
    "2": "2",
    "1": "1 - very dissatisfied",
    "up": "\N{THUMBS UP SIGN} good",
    "down": "\N{THUMBS DOWN SIGN} not good",
}
MESSAGES = {
    Verdict.FORGED: (400, "This link is not valid", "This rating link was not issued by us. Nothing was recorded."),
    Verdict.EXPIRED: (410, "This link has expired", "Rating links are valid for a limited time. Nothing was recorded."),
    Verdict.USED: (409, "Already answered", "This ticket has been rated already; only the first answer counts. Nothing new was recorded."),
    Verdict.INVALID: (400, "Please choose a rating", "The form did not say a rating. Nothing was recorded; open the link again to answer."),
}  # fmt: skip


def _page(title: str, inner: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{inner}</body></html>"
    )


def form_page(token_text: str) -> str:
    """The question: radio buttons and an optional comment, posted back to the same address."""
    options = "".join(
        f'<label><input type="radio" name="rating" value="{v}" required> {html.escape(label)}</label><br>'
        for v, label in _LABELS.items()
    )
    return _page(
        "How did we do?",
        '<form method="post">'
        f'<input type="hidden" name="t" value="{html.escape(token_text, quote=True)}">'
        f"<fieldset><legend>How satisfied are you with the help you got?</legend>{options}</fieldset>"
        f'<p><label>Comment (optional)<br><textarea name="comment" rows="4" cols="40" '
        f'maxlength="{COMMENT_MAX}"></textarea></label></p>'
        '<p><button type="submit">Send</button></p></form>',
    )


def result_page(outcome: Outcome) -> tuple[int, str]:
    """Status code and page after a POST (or a GET that cannot show the form)."""
    if outcome.verdict is Verdict.OK:
        return 200, _page("Thank you", "<p>Your answer was recorded. It helps us help you better.</p>")
    status, title, text = MESSAGES[outcome.verdict]
    return status, _page(title, f"<p>{html.escape(text)}</p>")
