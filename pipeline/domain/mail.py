"""Customer mail, pure: building the reply (RFC 5322, multipart text + HTML) and reading the answer.

No I/O here. The mailer and the inbound function (pipeline.domain.mailflow) call these; the adapters send
and store the bytes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr

from contract.models import CROCKFORD_ALPHABET, TICKET_ID_RANDOM_CHARS

# `[TKT-20250102-ABCDEFGHJK]` anywhere in a subject (Re:, Fwd:, [EXT] prefixes and all).
SUBJECT_TICKET_RE = re.compile(rf"\[(TKT-\d{{8}}-[{CROCKFORD_ALPHABET}]{{{TICKET_ID_RANDOM_CHARS}}})\]")
# Our Message-IDs: <TKT-...-XXXXXXXXXX.<seq>@domain>; replies quote them in In-Reply-To/References.
MESSAGE_ID_TICKET_RE = re.compile(
    rf"<(TKT-\d{{8}}-[{CROCKFORD_ALPHABET}]{{{TICKET_ID_RANDOM_CHARS}}})\.(\d+)@([^>]+)>"
)
MAX_TEXT_BYTES = 4000  # what is kept of a customer's answer (it fits the history and a Slack section)
MAX_PART_BYTES = 1_000_000  # a text part larger than this is not a message someone typed: ignored


@dataclass(frozen=True)
class OutgoingReply:
    """What the mailer sends: everything needed to build one reply mail."""

    ticket_id: str
    sequence: int  # 1 for the first mail of the ticket, 2 for the next...
    subject: str
    body: str
    to_name: str
    to_address: str
    from_address: str
    reply_to: str
    sent_at: datetime
    # Message-IDs already in the conversation, oldest first (ours and the customer's).
    references: tuple[str, ...] = ()


def message_id(ticket_id: str, sequence: int, from_address: str) -> str:
    """The stable Message-ID of mail `sequence` of a ticket: a resend of the same mail has the same id."""
    domain = from_address.rpartition("@")[2] or "tms.invalid"
    return f"<{ticket_id}.{sequence}@{domain}>"


def reply_subject(ticket_id: str, subject: str) -> str:
    """`[<ticket id>] <subject>` (`Re:` for follow-ups is added by the customer's client, not by us)."""
    return f"[{ticket_id}] {subject}"


def _html_body(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    inner = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.4">\n'
        f"{inner}\n</body></html>\n"
    )


def build_reply(reply: OutgoingReply) -> EmailMessage:
    """The reply as a multipart/alternative RFC 5322 message, threaded under the earlier mails."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = reply_subject(reply.ticket_id, reply.subject)
    msg["From"] = reply.from_address
    msg["To"] = Address(display_name=reply.to_name, addr_spec=reply.to_address)
    if reply.reply_to:
        msg["Reply-To"] = reply.reply_to
    msg["Date"] = format_datetime(reply.sent_at)
    msg["Message-ID"] = message_id(reply.ticket_id, reply.sequence, reply.from_address)
    if reply.references:
        msg["In-Reply-To"] = reply.references[-1]
        msg["References"] = " ".join(reply.references)
    msg["X-TMS-Ticket-ID"] = reply.ticket_id
    # RFC 3834: tells well-behaved auto-responders not to answer (our side of loop prevention).
    msg["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps the message 7-bit clean whatever the language (some relays still mangle 8bit).
    msg.set_content(reply.body + "\n", cte="quoted-printable")
    msg.add_alternative(_html_body(reply.body), subtype="html", cte="quoted-printable")
    return msg


# --- Inbound ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundMail:
    """A customer's mail as tms needs it."""

    message_id: str
    from_address: str
    from_name: str
    subject: str
    text: str  # the new text only: quoted history and signature removed
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    automated: str = ""  # why it is an automatic message (auto-reply, bounce), "" for a person's mail
    notes: tuple[str, ...] = field(default_factory=tuple)  # what was dropped (attachments, ...)


class MalformedMailError(ValueError):
    """The bytes are not a mail tms can read (no sender, nothing readable)."""


_QUOTE_HEADER_RES = (
    re.compile(r"^On .{0,300}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^Am .{0,300}schrieb .{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^Le .{0,300}a écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*Forwarded message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^From:\s.+$"),  # Outlook puts the quoted mail's headers under a rule
    re.compile(r"^_{10,}\s*$"),
)
_SIGNATURE_RES = (
    re.compile(r"^--\s?$"),  # RFC 3676 signature separator "-- "
    re.compile(r"^Sent from my \w+", re.IGNORECASE),
    re.compile(r"^Get Outlook for ", re.IGNORECASE),
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: stops at the first quote header, quoted block or signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if any(r.match(stripped) for r in _QUOTE_HEADER_RES) or any(r.match(line) for r in _SIGNATURE_RES):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    result = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", result)


class _TextFromHtml:
    """HTML to plain text with the stdlib parser: block elements become line breaks, scripts vanish."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"})

    def __init__(self) -> None:
        from html.parser import HTMLParser

        outer = self
        self.parts: list[str] = []
        self.skip = 0
        self.quote_depth = 0

        class P(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                classes = dict(attrs).get("class") or ""
                if tag in ("script", "style", "head"):
                    outer.skip += 1
                elif tag == "blockquote" or "gmail_quote" in classes:
                    outer.quote_depth += 1
                if tag in outer.BLOCKS:
                    outer.parts.append("\n")

            def handle_endtag(self, tag: str) -> None:
                if tag in ("script", "style", "head"):
                    outer.skip = max(0, outer.skip - 1)
                elif tag == "blockquote":
                    outer.quote_depth = max(0, outer.quote_depth - 1)
                if tag in outer.BLOCKS:
                    outer.parts.append("\n")

            def handle_data(self, data: str) -> None:
                if not outer.skip and not outer.quote_depth:
                    outer.parts.append(data)

        self.parser = P(convert_charrefs=True)

    def convert(self, markup: str) -> str:
        self.parser.feed(markup)
        self.parser.close()
        text = "".join(self.parts)
        lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str) -> str:
    """Readable text from an HTML mail body (quoted blocks dropped)."""
    return _TextFromHtml().convert(markup)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: read it as UTF-8, replacing what does not fit
        return payload.decode("utf-8", errors="replace")


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", value or ""))


def automated_reason(msg: Message) -> str:
    """Why this mail was sent by a machine (RFC 3834 and the usual vendor headers); "" for a person."""
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "auto-reply header"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get_content_type() == "multipart/report":
        return "delivery status report (bounce)"
    sender = parseaddr(msg.get("From") or "")[1].lower()
    local = sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster") or (msg.get("Return-Path") or "").strip() == "<>":
        return "bounce (null sender)"
    return ""


def parse_inbound(raw: bytes) -> InboundMail:
    """Read a raw RFC 5322 message; MalformedMailError when it has no sender or nothing readable."""
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception as e:  # the stdlib parser is lenient; anything it raises means unreadable bytes
        raise MalformedMailError(f"not a mail message: {e}") from e
    senders = getaddresses([msg.get("From") or ""])
    name, address = senders[0] if senders else ("", "")
    if "@" not in address:
        raise MalformedMailError("the mail has no sender address")
    plain: list[str] = []
    htmls: list[str] = []
    notes: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").lower()
        ctype = part.get_content_type()
        raw_size = len(str(part.get_payload()))
        if "attachment" in disposition or ctype not in ("text/plain", "text/html"):
            notes.append(f"ignored {ctype} part ({part.get_filename() or 'unnamed'}, ~{raw_size} bytes)")
            continue
        if raw_size > MAX_PART_BYTES:
            notes.append(f"ignored an oversized {ctype} part (~{raw_size} bytes)")
            continue
        (plain if ctype == "text/plain" else htmls).append(_part_text(part))
    if plain:
        text = strip_quoted("\n".join(plain))
    elif htmls:
        text = strip_quoted(html_to_text("\n".join(htmls)))
        notes.append("HTML-only mail converted to text")
    else:
        text = ""
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_TEXT_BYTES:
        text = encoded[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore") + " [...]"
        notes.append("text shortened")
    return InboundMail(
        message_id=(_ids(msg.get("Message-ID")) or ("",))[0],
        from_address=address.lower(),
        from_name=_decode_header(name),
        subject=_decode_header(msg.get("Subject") or ""),
        text=text,
        in_reply_to=_ids(msg.get("In-Reply-To")),
        references=_ids(msg.get("References")),
        automated=automated_reason(msg),
        notes=tuple(notes),
    )


def _decode_header(value: str) -> str:
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value))).strip()
    except (UnicodeDecodeError, LookupError, ValueError):
        return value.strip()


def find_ticket_id(mail: InboundMail, our_domain: str) -> str | None:
    """The ticket this mail answers: our Message-IDs in In-Reply-To/References first, else `[id]` in the
    subject. Only ids minted under our own domain count, so a forged header from elsewhere matches nothing."""
    for ref in (*mail.in_reply_to, *reversed(mail.references)):
        m = MESSAGE_ID_TICKET_RE.fullmatch(ref)
        if m and m.group(3).lower() == our_domain.lower():
            return m.group(1)
    m = SUBJECT_TICKET_RE.search(mail.subject)
    return m.group(1) if m else None
