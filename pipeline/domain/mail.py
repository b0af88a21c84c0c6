"""Customer mail, pure: building the reply (RFC 5322, multipart text + HTML) and reading the answer.

No I/O here. The mailer and the inbound function (pipeline.domain.mailflow) call these; the adapters send
and store the bytes.
"""

from __future__ import annotations

import codecs
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
# Hostile input (issue 27.6): bounds that no mail a person sends comes near, each with a defined outcome.
MAX_HEADER_BYTES = 64_000  # the whole header section (a long Received chain is a few KB): else malformed
MAX_HEADER_VALUE_CHARS = 2_000  # Subject/From read beyond this are cut (decoding cost grows with length)
MAX_MIME_DEPTH = 8  # multiparts nested deeper than this are dropped with a note
MAX_PARTS = 64  # leaf parts read; the rest are dropped with a note
MAX_REFERENCES = 50  # Message-IDs kept from In-Reply-To/References (the newest)
# Charsets whose text is never a customer's: Python's idna codec cannot decode with errors="replace"
# (UnicodeError), utf-7 is the classic filter-evasion encoding ("+ADw-script+AD4-"), the escape codecs turn
# bytes into other characters than they show. A part in one of them is dropped with a note.
REFUSED_CHARSETS = frozenset(
    {"idna", "punycode", "utf-7", "unicode-escape", "raw-unicode-escape", "undefined"}
)


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
    # Sender authentication inputs (pipeline.domain.mail_trust): how many From addresses the mail names
    # (more than one is never a customer's), the topmost Return-Path (the envelope sender the receiving
    # server recorded; a fallback when the receipt event lacks it) and the d= domains of DKIM signatures.
    from_count: int = 1
    return_path: str = ""
    dkim_domains: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()  # To, Cc and Delivered-To addresses (lowercase)


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


def _part_text(part: Message) -> tuple[str | None, str]:
    """The part's text, or None and why it was dropped (a charset we refuse or cannot read, broken
    base64). Never raises: an undecodable part is one dropped part, not a lost mail."""
    try:
        payload = part.get_payload(decode=True)
    except Exception as e:  # hostile bytes; the stdlib decoder's failures are not a contract
        return None, f"undecodable transfer encoding ({type(e).__name__})"
    if not isinstance(payload, bytes):
        return "", ""
    if any(type(d).__name__.startswith("InvalidBase64") for d in part.defects):
        return None, "broken base64"
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:  # e.g. an RFC 2231 charset parameter naming nothing
        return None, "unreadable charset parameter"
    try:
        codec = codecs.lookup(charset)
    except (LookupError, ValueError):
        # An unknown name: UTF-8 replacing what does not fit (what mail clients show for it too).
        return payload.decode("utf-8", errors="replace"), ""
    if codec.name in REFUSED_CHARSETS or not getattr(codec, "_is_text_encoding", True):
        return None, f"charset {clip_header(charset, 40)!r} not accepted"
    try:
        return payload.decode(codec.name, errors="replace"), ""
    except (UnicodeError, LookupError, ValueError) as e:
        return None, f"charset {clip_header(charset, 40)!r} could not be decoded ({type(e).__name__})"


def clip_header(value: str, limit: int = MAX_HEADER_VALUE_CHARS) -> str:
    """A header value cut to `limit` characters (hostile mail carries megabyte headers)."""
    return value if len(value) <= limit else value[:limit]


def _leaf_parts(msg: Message, notes: list[str]) -> tuple[list[Message], int]:
    """The non-multipart parts, depth-first, iteratively: bounded depth and count (Message.walk recurses).
    Also how many were dropped for that."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    dropped_deep = dropped_many = 0
    while stack:
        part, depth = stack.pop()
        if not part.is_multipart():
            if len(leaves) >= MAX_PARTS:
                dropped_many += 1
            else:
                leaves.append(part)
            continue
        if depth >= MAX_MIME_DEPTH:
            dropped_deep += 1
            continue
        children = part.get_payload()
        if isinstance(children, list):
            stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
    if dropped_deep:
        notes.append(f"dropped {dropped_deep} multipart(s) nested deeper than {MAX_MIME_DEPTH} levels")
    if dropped_many:
        notes.append(f"dropped {dropped_many} part(s) beyond the first {MAX_PARTS}")
    return leaves, dropped_deep + dropped_many


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]{1,250}>", value or ""))[-MAX_REFERENCES:]


def _header_section_size(raw: bytes) -> int:
    """Bytes before the blank line that ends the headers (the whole message when there is none)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)


# C0 controls but tab and newline, and DEL: no one types them; NUL breaks more consumers than it helps.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DKIM_D_RE = re.compile(r"(?:^|;)\s*d\s*=\s*([A-Za-z0-9.-]{1,253})\s*(?:;|$)")


def dkim_domains(msg: Message) -> tuple[str, ...]:
    """The signing domains (d=) of every DKIM-Signature header, lowercase."""
    found: list[str] = []
    for value in msg.get_all("DKIM-Signature") or []:
        m = _DKIM_D_RE.search(re.sub(r"\s+", " ", str(value)))
        if m:
            found.append(m.group(1).lower().rstrip("."))
    return tuple(found)


def automated_reason(msg: Message) -> str:
    """Why this mail was sent by a machine (RFC 3834 and the usual vendor headers); "" for a person."""
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "auto-reply header"
    precedence = str(msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get_content_type() == "multipart/report":
        return "delivery status report (bounce)"
    sender = parseaddr(clip_header(str(msg.get("From") or "")))[1].lower()
    local = sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster") or str(msg.get("Return-Path") or "").strip() == "<>":
        return "bounce (null sender)"
    return ""


def parse_inbound(raw: bytes) -> InboundMail:
    """Read a raw RFC 5322 message; MalformedMailError when it has no sender, nothing readable, or is built
    to hurt the reader (headers over MAX_HEADER_BYTES, nesting the parser cannot follow). Never anything
    else: an undecodable part is dropped with a note."""
    if _header_section_size(raw) > MAX_HEADER_BYTES:
        raise MalformedMailError(f"the header section is over {MAX_HEADER_BYTES} bytes")
    try:
        return _parse(raw)
    except MalformedMailError:
        raise
    except Exception as e:  # the stdlib parser's failures on hostile bytes (RecursionError on
        # deep nesting, IndexError/AttributeError in header folding) are not a contract; all mean unreadable.
        raise MalformedMailError(f"not a readable mail message ({type(e).__name__})") from e


def _addresses(msg: Message, *headers: str) -> list[tuple[str, str]]:
    values = [clip_header(str(v)) for h in headers for v in (msg.get_all(h) or [])]
    return [(n, a) for n, a in getaddresses(values) if a]


def _parse(raw: bytes) -> InboundMail:
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    senders = _addresses(msg, "From")
    name, address = senders[0] if senders else ("", "")
    if "@" not in address:
        raise MalformedMailError("the mail has no sender address")
    plain: list[str] = []
    htmls: list[str] = []
    notes: list[str] = []
    leaves, undecodable = _leaf_parts(msg, notes)
    for part in leaves:
        disposition = str(part.get("Content-Disposition") or "").lower()
        ctype = part.get_content_type()
        raw_size = len(str(part.get_payload()))
        if "attachment" in disposition or ctype not in ("text/plain", "text/html"):
            notes.append(f"ignored {ctype} part ({_filename(part)}, ~{raw_size} bytes)")
            continue
        if raw_size > MAX_PART_BYTES:
            notes.append(f"ignored an oversized {ctype} part (~{raw_size} bytes)")
            continue
        text, why = _part_text(part)
        if text is None:
            undecodable += 1
            notes.append(f"dropped a {ctype} part: {why}")
            continue
        (plain if ctype == "text/plain" else htmls).append(text)
    if undecodable and not plain and not htmls:
        raise MalformedMailError(f"no readable text: {'; '.join(notes)[:300]}")
    if plain:
        text = strip_quoted("\n".join(plain))
    elif htmls:
        text = strip_quoted(html_to_text("\n".join(htmls)))
        notes.append("HTML-only mail converted to text")
    else:
        text = ""
    text = _CONTROL_RE.sub("", text)
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_TEXT_BYTES:
        text = encoded[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore") + " [...]"
        notes.append("text shortened")
    return_paths = _addresses(msg, "Return-Path")
    return InboundMail(
        message_id=(_ids(msg.get("Message-ID")) or ("",))[0],
        from_address=address.lower(),
        from_name=_decode_header(name),
        subject=_decode_header(clip_header(str(msg.get("Subject") or ""))),
        text=text,
        in_reply_to=_ids(msg.get("In-Reply-To")),
        references=_ids(msg.get("References")),
        automated=automated_reason(msg),
        notes=tuple(notes),
        from_count=len({a.lower() for _, a in senders}),
        return_path=return_paths[0][1].lower() if return_paths else "",
        dkim_domains=dkim_domains(msg),
        recipients=tuple(dict.fromkeys(a.lower() for _, a in _addresses(msg, "To", "Cc", "Delivered-To"))),
    )


def _filename(part: Message) -> str:
    try:
        return clip_header(part.get_filename() or "unnamed", 100)
    except Exception:  # a hostile RFC 2231 filename parameter
        return "unnamed"


def _decode_header(value: str) -> str:
    """RFC 2047 encoded words decoded; a header using a refused charset (utf-7, idna...) stays as written."""
    from email.header import decode_header, make_header

    try:
        chunks = decode_header(value)
        if any(cs and codecs.lookup(cs).name in REFUSED_CHARSETS for _, cs in chunks):
            return _CONTROL_RE.sub("", value).strip()
        return _CONTROL_RE.sub("", str(make_header(chunks))).strip()
    except Exception:  # any encoded word we cannot read (unknown charsets) stays raw
        return _CONTROL_RE.sub("", value).strip()


def find_ticket_id(mail: InboundMail, our_domain: str) -> str | None:
    """The ticket this mail answers: our Message-IDs in In-Reply-To/References first, else `[id]` in the
    subject. Only ids minted under our own domain count, so a forged header from elsewhere matches nothing."""
    for ref in (*mail.in_reply_to, *reversed(mail.references)):
        m = MESSAGE_ID_TICKET_RE.fullmatch(ref)
        if m and m.group(3).lower() == our_domain.lower():
            return m.group(1)
    m = SUBJECT_TICKET_RE.search(mail.subject)
    return m.group(1) if m else None
