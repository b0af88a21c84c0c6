"""The knowledge base follows a folder of the stack bucket (issue 30.1): documents put under kb/docs/ are
ingested, changed ones re-ingested, deleted ones removed, by a scheduled function (and `tms kb sync`).

Why ETags: the listing gives every object's ETag for one LIST request per 1,000 keys, and the index records
the ETag each document was read from, so a run fetches (GET) and embeds only what changed since it was last
read. Documents from elsewhere (files `tms kb ingest` read, precedents) have other origins and are never
touched: the sync owns exactly the documents whose origin is under its prefix.

Why bounded: a first sync of a large folder embeds every passage and sentence of every document (Titan: one
call per text). A run reads and ingests at most `max_documents` changed objects and leaves the rest to the
next run (the report counts them as `deferred`), so no run nears the function's timeout.

A file that cannot become a document (not Markdown/HTML/text, not UTF-8, no title source or link, a name
another document already has) is skipped with its reason, logged by the caller, and the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Protocol

from contract import defaults
from contract.errors import KnowledgeDocumentError
from pipeline.domain.kb_documents import SUFFIXES, parse_document, supported
from pipeline.domain.knowledge import Document, DocumentInfo, IngestReport


@dataclass(frozen=True)
class SourceObject:
    """One object under the synced prefix, as a listing shows it."""

    key: str
    etag: str
    size: int = 0  # bytes, as the listing gives them


class DocumentSource(Protocol):
    """Port: the folder the knowledge base follows (kb/docs/ of the stack bucket)."""

    def uri(self, key: str) -> str:
        """Where an object is, as a document's origin records it (s3://bucket/key)."""
        ...

    def objects(self) -> Iterable[SourceObject]:
        """Every object under the prefix (every page of the listing)."""
        ...

    def read(self, key: str) -> tuple[bytes, str]:
        """An object's body and the ETag of what was read."""
        ...


class SyncedKnowledgeBase(Protocol):
    """The part of the knowledge base the sync uses."""

    def documents(self) -> list[DocumentInfo]: ...

    def ingest(self, documents: list[Document]) -> IngestReport: ...

    def remove(self, keys: list[str]) -> list[str]: ...


@dataclass
class Skipped:
    """A file left out of the knowledge base, and why (it is looked at again when its ETag changes)."""

    key: str
    reason: str


@dataclass
class SyncReport:
    """What one run changed, skipped and left for the next run."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0  # documents whose ETag the index already records (not fetched)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    deferred: int = 0  # changed objects left to the next run (max_documents)
    fetched: int = 0  # GET requests made


def sync_documents(
    source: DocumentSource,
    kb: SyncedKnowledgeBase,
    *,
    origin_prefix: str,
    base_url: str | None,
    max_documents: int,
    max_bytes: int = defaults.KB_DOCUMENT_MAX_BYTES,
) -> SyncReport:
    """Bring the knowledge base's documents from `origin_prefix` in line with the objects of `source`."""
    report = SyncReport()
    listed = list(source.objects())
    everything = kb.documents()
    stored = [d for d in everything if d.origin.startswith(origin_prefix)]
    by_origin = {d.origin: d for d in stored}

    # Gone: a document from the prefix whose object is no longer listed (or no longer an article).
    present = {source.uri(o.key) for o in listed if supported(o.key)}
    gone = sorted(d.doc_id for d in stored if d.origin not in present)

    candidates: list[SourceObject] = []
    for obj in sorted(listed, key=lambda o: o.key):
        if obj.key.endswith("/"):
            continue  # a "folder" placeholder the console makes
        if not supported(obj.key):
            if PurePosixPath(obj.key).name.lower() != "readme.md":
                report.skipped.append(
                    Skipped(obj.key, f"not a Markdown, HTML or text file ({', '.join(SUFFIXES)})")
                )
            continue
        known = by_origin.get(source.uri(obj.key))
        if known is not None and known.source_etag == obj.etag:
            report.unchanged += 1
            continue
        if obj.size > max_bytes:
            report.skipped.append(
                Skipped(obj.key, f"{obj.size:,} bytes, over the {max_bytes:,} a document may have: split it")
            )
            continue
        candidates.append(obj)
    report.deferred = max(0, len(candidates) - max_documents)

    documents: list[Document] = []
    # Who holds each document id once this run is done (ids are unique in the index): files, precedents,
    # and the prefix's documents that stay.
    owners = {d.doc_id: d.origin for d in everything if d.doc_id not in gone}
    for obj in candidates[:max_documents]:
        body, etag = source.read(obj.key)
        report.fetched += 1
        origin = source.uri(obj.key)
        try:
            text = body.decode("utf-8")
            doc = parse_document(obj.key, text, origin=origin, base_url=base_url)
        except UnicodeDecodeError:
            report.skipped.append(Skipped(obj.key, "not UTF-8 text"))
            continue
        except KnowledgeDocumentError as e:
            report.skipped.append(Skipped(obj.key, str(e)))
            continue
        owner = owners.setdefault(doc.doc_id, origin)
        if owner != origin:
            report.skipped.append(
                Skipped(obj.key, f"the knowledge base already has a document named {doc.doc_id!r} ({owner})")
            )
            continue
        documents.append(replace(doc, source_etag=etag))

    if gone:
        report.removed = kb.remove(gone)
    if documents:
        ingested = kb.ingest(documents)
        report.added, report.replaced = ingested.added, ingested.replaced
        report.unchanged += len(ingested.unchanged)
    return report
