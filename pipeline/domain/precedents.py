"""Precedents (issue 30.2): a ticket resolved after a reply was sent becomes a knowledge-base document, so
the next similar ticket's draft starts from what an agent actually approved.

Where: the ticket-lifecycle stream function, on the change that makes an item RESOLVED. Every way a ticket
is resolved (the Resolve button, `tms ticket resolve`, an incident resolved with its members) is a write to
the tickets table, so the stream sees them all without each path having to remember; the stream retries a
failed record, and adding the same precedent again replaces it (the knowledge base keys it by ticket id),
so a redelivery is harmless. The reply path stays as fast as before: embedding happens off it.

What: the subject, the description and the reply as sent, each through the same PII detector as intake
(Comprehend DetectPiiEntities; its offline twin locally): a precedent is shown to other customers' agents
and quoted into other drafts. Retrieval then cleans it like any passage (grounding.clean_passage) and the
reply model reads it as an untrusted quotation, so a planted instruction stays data.

How long: no longer than its ticket. A precedent carries the item's `expires_at` (retention.tickets, the
table's TTL attribute), so retrieval stops quoting it the moment the ticket's retention ends and every write
of the index drops it; and when the item itself goes (DynamoDB TTL on AWS, the sweeper locally, or erasure),
the stream's REMOVE record takes the precedent out of the index at once (`forget_precedent`).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from contract import defaults, names
from contract.models import PiiResult, TicketStatus
from pipeline.domain.knowledge import Document
from pipeline.domain.redaction import placeholder, redact_text

# A precedent's origin: no path on disk, and nothing about the customer (erasure finds it by ticket id).
ORIGIN_PREFIX = "precedent:"


class PiiDetector(Protocol):
    """Port: the PII detector of intake (Comprehend DetectPiiEntities; the offline one locally)."""

    def detect(self, text: str) -> PiiResult:
        """Entities in Comprehend's response shape."""


class PrecedentStore(Protocol):
    """The part of the knowledge base precedents use: one document in, or out, at a time."""

    def ingest(self, documents: list[Any], *, replace_under: Any = ()) -> Any: ...

    def remove(self, keys: Any) -> list[str]: ...


def precedent_id(ticket_id: str) -> str:
    """The knowledge-base document id of a ticket's precedent."""
    return f"{names.KB_PRECEDENT_ID_PREFIX}{ticket_id}"


def newly_resolved(new: dict[str, Any] | None, old: dict[str, Any] | None) -> bool:
    """True for the change that resolves a ticket whose reply was sent (not a later write to it)."""
    if not new or new.get("status") != TicketStatus.RESOLVED:
        return False
    if old is not None and old.get("status") == TicketStatus.RESOLVED:
        return False
    return bool(new.get("sent_at")) and bool(str(new.get("response_text") or "").strip())


def _known_identifiers(item: dict[str, Any]) -> list[tuple[str, str]]:
    """The customer's own name and address from the item, longest first: replaced even where the detector
    misses them (the offline detector does not know "Dear Priya"), since the item says whose they are."""
    found: list[tuple[str, str]] = []
    full = str(item.get("customer_full_name") or "").strip()
    if full:
        found.append((full, placeholder("NAME")))
        found += [(part, placeholder("NAME")) for part in full.split() if len(part) >= 3]
    for key in ("customer_email", "customer_first_name"):
        if value := str(item.get(key) or "").strip():
            found.append((value, placeholder("EMAIL" if "@" in value else "NAME")))
    return sorted(set(found), key=lambda pair: -len(pair[0]))


def _redacted(text: str, pii: PiiDetector, known: list[tuple[str, str]]) -> str:
    if not text.strip():
        return ""
    text = redact_text(text, pii.detect(text))
    for value, marker in known:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", marker, text, flags=re.IGNORECASE)
    return text


def _excerpt(text: str, limit: int = defaults.KB_PRECEDENT_QUESTION_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " ..."


def precedent(item: dict[str, Any], pii: PiiDetector, base_url: str) -> Document:
    """The precedent document of a resolved ticket's item: redacted question and redacted sent reply."""
    ticket_id = str(item["ticket_id"])
    known = _known_identifiers(item)
    subject = " ".join(str(item.get("subject") or "").split())
    description = _excerpt(str(item.get("description") or ""))
    reply = str(item.get("response_text") or "").strip()
    # No heading between question and answer: the knowledge base cuts passages at headings, and retrieval
    # quotes a document's best passage, which must hold the answer and not only the question.
    composed = f"# {subject}\n\nThe customer wrote: {description}\n\nThe reply an agent sent: {reply}\n"
    # One detector call on the whole document, not one per field: Comprehend bills each call 3 units at
    # least, and the document is exactly what is stored and shown (docs/cost.md, precedents).
    text = _redacted(composed, pii, known)
    subject = text.split("\n", 1)[0].removeprefix("# ")
    return Document(
        doc_id=precedent_id(ticket_id),
        title=f"resolved {ticket_id}: {subject}",
        uri=f"{base_url.rstrip('/')}/{ticket_id}",  # Document refuses anything but https://
        origin=f"{ORIGIN_PREFIX}{ticket_id}",
        text=text,
        products=(str(item["product"]),) if item.get("product") else (),
        issue_types=(str(item["issue_type"]),) if item.get("issue_type") else (),
        updated=str(item.get("resolved_at") or ""),
        expires_at=_expires_at(item),
    )


def _expires_at(item: dict[str, Any]) -> int | None:
    """The item's TTL (epoch seconds; a stream image may carry it as a Decimal), or None when it has none."""
    raw = item.get(names.TABLE_TTL_ATTR)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def record_precedent(
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    kb: PrecedentStore,
    pii: PiiDetector,
    base_url: str,
) -> str | None:
    """Add the precedent of a ticket this change resolved (one document, not a re-index), or take out the
    precedent of a ticket whose item was removed; the precedent's id, or None when nothing changed."""
    if new is None:
        return forget_precedent(old, kb)
    if not newly_resolved(new, old):
        return None
    doc = precedent(new, pii, base_url)
    report = kb.ingest([doc])
    stored = [*report.added, *report.replaced, *report.unchanged]
    return doc.doc_id if doc.doc_id in stored else None  # not stored: its ticket's retention had passed


def forget_precedent(old: dict[str, Any] | None, kb: PrecedentStore) -> str | None:
    """The item of a ticket that may have a precedent is gone (its retention ended, or the customer was
    erased): its precedent leaves the index too. Only items that were resolved with a reply sent are looked
    up, so the expiry of every other ticket costs no S3 request."""
    if not old or old.get("status") != TicketStatus.RESOLVED or not old.get("sent_at"):
        return None
    removed = kb.remove([precedent_id(str(old["ticket_id"]))])
    return removed[0] if removed else None
