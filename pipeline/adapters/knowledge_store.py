"""The knowledge base on the stack's own S3 bucket: one index object, searched in memory.

Why this design: a help centre is tens to a few thousand articles (70 in examples/kb/: 272 passages,
a 0.55 MB index with Titan's 512-dimension float16 vectors, bench/kb_index.py), so one JSON object under `kb/` holds every passage, its text and its vector.
It lives in the stack's bucket, so the local stack keeps it across restarts the way it keeps tickets, and
there is no vector store to provision (on AWS too: docs/decisions/0020-knowledge-base-store.md). A process
loads it once, checks its ETag at most every `refresh_seconds` and re-reads it only when it changed; the
search is one matrix-vector product. Past ~25,000 passages (a ~50 MB index, ~2 s of cold start) this
should become a real vector store behind the same port (pipeline.domain.knowledge.KnowledgeBase).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from contract import defaults, names
from contract.errors import ConfigurationError, KnowledgeBaseConflictError
from pipeline.domain.knowledge import (
    Document,
    DocumentInfo,
    Hit,
    IngestReport,
    Passage,
    ScoredSentence,
    TermStats,
    chunk,
    rank,
    sentences,
    terms,
)
from pipeline.observability import logger

INDEX_KEY = names.KB_INDEX_KEY
# 2: every passage also stores its sentences and their vectors (the extractive reply and the relevance gate
# score sentences without an embedding call per ticket). An index of format 1 is re-embedded by the next ingest
# and searched meanwhile with each sentence scored like its passage.
FORMAT = 2
_FORBIDDEN = {"403", "AccessDenied", "Forbidden"}
_ABSENT = {"404", "NoSuchKey", "NotFound", *_FORBIDDEN}
# A conditional PutObject lost to another writer: 412 (the ETag no longer matches, or the object now exists),
# or 409 when S3 sees two conditional writes of the key at once.
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _digest(doc: Document) -> str:
    # The content only: the source ETag says where it was read from, and the same text under a new ETag
    # (an upload of the same file) re-embeds nothing. Indexes written before the field keep their digests.
    content = asdict(doc)
    del content["source_etag"]
    payload = json.dumps(content, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def _encode(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode()


def _decode(raw: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(raw), dtype="<f2").astype(np.float32)


def _expired(doc: dict[str, Any], now: float) -> bool:
    expires_at = doc.get("expires_at")
    return expires_at is not None and expires_at <= now


def _prune(stored: dict[str, Any], now: float) -> list[str]:
    """Drop the stored documents past their `expires_at` (precedents of expired tickets); their ids."""
    gone = [doc_id for doc_id, doc in stored.items() if _expired(doc, now)]
    for doc_id in gone:
        del stored[doc_id]
    return gone


def _embedded_passage(p: Passage, vector: np.ndarray, sentence_vectors: np.ndarray) -> dict[str, Any]:
    return {
        "id": p.passage_id,
        "heading": p.heading,
        "text": p.text,
        "vector": _encode(vector),
        "sentences": sentences(p.text),
        "sentence_vectors": _encode(sentence_vectors.reshape(-1)),
    }


def _under(origin: str, folder: str) -> bool:
    folder = os.path.join(os.path.abspath(folder), "")
    return origin == folder.rstrip(os.sep) or origin.startswith(folder)


class S3KnowledgeBase:
    """KnowledgeBase on one S3 object (`kb/index.json`) in the stack bucket, with any Embedder."""

    def __init__(
        self,
        bucket: str,
        s3: Any,
        embedder: Any,
        *,
        key: str = INDEX_KEY,
        refresh_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        strict: bool = True,
        write_attempts: int = defaults.KB_WRITE_ATTEMPTS,
    ):
        self._bucket, self._s3, self._embedder, self._key = bucket, s3, embedder, key
        self.embedding_model_id: str = embedder.model_id
        self._lock = threading.Lock()
        self._etag: str | None = None
        # 0 (the CLI): every read checks the ETag. The draft function passes KB_REFRESH_SECONDS.
        self._refresh_seconds, self._clock = refresh_seconds, clock
        self._now = now  # wall clock (epoch seconds) that documents' `expires_at` is compared with
        self._write_attempts = write_attempts
        self.conflicts = 0  # conditional writes another writer won (412/409), each followed by a re-read
        self._checked_at: float | None = None
        # Strict (the CLI): an index embedded by another model is an error. Not strict (the draft function):
        # it is logged and the ticket is drafted ungrounded.
        self._strict = strict
        self.reads = 0  # S3 HEAD and GET requests made, for the ticket's usage (TicketUsage.kb_reads)
        self._index: dict[str, Any] = self._empty()
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._rows: list[tuple[str, int]] = []  # (doc_id, passage number) of each matrix row
        self._row_expiry = np.zeros(0)  # each row's document's expires_at (inf: never)
        self._sentence_matrix = np.zeros((0, 0), dtype=np.float32)
        self._sentences: list[tuple[str, str]] = []  # (passage id, text) of each sentence-matrix row
        self._doc_sentences: dict[str, list[int]] = {}  # sentence-matrix rows of each document, in order
        self._df: dict[str, int] = {}  # passages containing each term

    # --- storage -------------------------------------------------------------------------------------

    def _empty(self) -> dict[str, Any]:
        return {"format": FORMAT, "model_id": self._embedder.model_id, "documents": {}}

    def _load(self, *, fresh: bool = False) -> dict[str, Any]:
        """The stored index (see `_read`)."""
        return self._read(fresh=fresh)[0]

    def _read(self, *, fresh: bool = False) -> tuple[dict[str, Any], str | None]:
        """The stored index and the ETag it was read with (None: no index yet): the ETag checked at most
        every `refresh_seconds` (always when `fresh`, as before a write), the object re-read only when the
        ETag changed."""
        with self._lock:
            now = self._clock()
            if not fresh and self._checked_at is not None and now - self._checked_at < self._refresh_seconds:
                return self._index, self._etag
            self._checked_at = now
            self.reads += 1
            try:
                head = self._s3.head_object(Bucket=self._bucket, Key=self._key)
            except ClientError as e:
                # S3 answers a HEAD of a missing key with 403, not 404, to a principal without s3:ListBucket:
                # the draft function may read kb/* only, so on AWS that 403 is how an absent index looks.
                # Absent means not grounded, as locally; a writer then puts with If-None-Match='*', which
                # S3 refuses if the index exists after all.
                if e.response.get("Error", {}).get("Code") in _ABSENT:
                    if e.response["Error"]["Code"] in _FORBIDDEN and self._etag is None:
                        logger.info("no readable knowledge-base index: drafts are not grounded")
                    self._etag, self._index = None, self._empty()
                    self._build_matrix()
                    return self._index, None
                raise
            if head["ETag"] != self._etag:
                self.reads += 1
                body = self._s3.get_object(Bucket=self._bucket, Key=self._key)
                self._index = json.loads(body["Body"].read())
                self._etag = body["ETag"]
                self._build_matrix()
            return self._index, self._etag

    def _update(self, change: Callable[[dict[str, Any], bool], bool]) -> None:
        """Apply `change` to a private copy of the stored index and write it back only if no one else wrote
        the object meanwhile: If-Match the ETag read, If-None-Match='*' when there was no index. On a 412
        (or 409) the index is read again and `change` applied again to it, at most `write_attempts` times.

        `change(index, existed)` edits the index in place and says whether to write; it must give the same
        result applied to any newer index (it is the caller's one change, re-applied, never a stale copy).
        Not a retry with backoff (STYLE rule 7): a lost conditional write means the other writer has
        finished, so the re-read sees its result at once; it is a compare-and-swap on the one object."""
        for _ in range(self._write_attempts):
            stored, etag = self._read(fresh=True)
            index = json.loads(json.dumps(stored))  # a private copy to edit
            if not change(index, etag is not None):
                return
            condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
            body = json.dumps(index, separators=(",", ":")).encode()
            try:
                self._s3.put_object(
                    Bucket=self._bucket, Key=self._key, Body=body, ContentType="application/json", **condition
                )
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in _CONFLICT:
                    raise
                self.conflicts += 1
                logger.info("knowledge-base index changed by another writer: re-reading it")
                continue
            with self._lock:
                self._etag = None  # the next read reloads (and rebuilds the matrix) once
                self._checked_at = None
            return
        raise KnowledgeBaseConflictError(
            f"s3://{self._bucket}/{self._key} changed under each of {self._write_attempts} writes: "
            "the change was not made; run it again"
        )

    def _build_matrix(self) -> None:
        rows, vectors, expiry = [], [], []
        sentence_rows: list[tuple[str, str]] = []
        sentence_vectors: list[np.ndarray] = []
        doc_sentences: dict[str, list[int]] = {}
        df: dict[str, int] = {}
        for doc_id, doc in self._index["documents"].items():
            expires_at = doc.get("expires_at")
            for n, p in enumerate(doc["passages"]):
                rows.append((doc_id, n))
                vector = _decode(p["vector"])
                vectors.append(vector)
                expiry.append(np.inf if expires_at is None else float(expires_at))
                texts = p.get("sentences") or sentences(p["text"])
                if "sentence_vectors" in p:
                    block = _decode(p["sentence_vectors"]).reshape(len(texts), -1)
                else:  # a format-1 index: each sentence scores like its passage until the next ingest
                    block = np.tile(vector, (len(texts), 1))
                start = len(sentence_rows)
                sentence_rows.extend((p["id"], t) for t in texts)
                sentence_vectors.append(block)
                doc_sentences.setdefault(doc_id, []).extend(range(start, len(sentence_rows)))
                for term in terms(
                    Passage(p["id"], doc_id, p["heading"], p["text"]).embedding_text(doc["title"])
                ):
                    df[term] = df.get(term, 0) + 1
        self._rows = rows
        self._row_expiry = np.asarray(expiry, dtype=np.float64)
        self._matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        self._sentences, self._doc_sentences, self._df = sentence_rows, doc_sentences, df
        self._sentence_matrix = (
            np.vstack(sentence_vectors) if sentence_rows else np.zeros((0, 0), dtype=np.float32)
        )

    # --- the port ------------------------------------------------------------------------------------

    def ingest(self, documents: list[Document], *, replace_under: Sequence[str] = ()) -> IngestReport:
        """Store the documents; a changed one replaces its passages; a folder re-ingest drops the gone; every
        expired document goes too (as with every write)."""
        seen: set[str] = set()
        for doc in documents:
            if doc.doc_id in seen:
                raise ConfigurationError(
                    f"two documents are both named {doc.doc_id!r} ({doc.origin}): rename one"
                )
            seen.add(doc.doc_id)
        entries: dict[str, dict[str, Any]] = {}  # embedded once, however often the change is re-applied
        report = IngestReport()

        def change(index: dict[str, Any], existed: bool) -> bool:
            nonlocal report
            report = IngestReport()
            stored: dict[str, Any] = index["documents"]
            # a new embedder or index format: every passage embedded again (and saved, even with no change)
            reembedded = index.get("model_id") != self._embedder.model_id or index.get("format") != FORMAT
            if reembedded:
                self._reembed(stored)
                index["model_id"], index["format"] = self._embedder.model_id, FORMAT
            now = self._now()
            report.removed += _prune(stored, now)
            retagged = False
            for doc in documents:
                if doc.expires_at is not None and doc.expires_at <= now:
                    continue  # a precedent of a ticket already past its retention (TTL deletes late)
                old = stored.get(doc.doc_id)
                if old and old["origin"] != doc.origin:
                    raise ConfigurationError(
                        f"{doc.origin}: the knowledge base already has {doc.doc_id!r} from {old['origin']}; "
                        "rename one or `tms kb remove` the other first"
                    )
                digest = _digest(doc)
                if old and old["digest"] == digest:
                    report.unchanged.append(doc.doc_id)
                    report.passages += len(old["passages"])
                    if doc.source_etag and old.get("source_etag") != doc.source_etag:
                        old["source_etag"] = doc.source_etag  # so the sync does not fetch it again
                        retagged = True
                    continue
                if entries.get(doc.doc_id, {}).get("digest") != digest:
                    entries[doc.doc_id] = self._entry(doc, digest)
                stored[doc.doc_id] = entries[doc.doc_id]
                (report.replaced if old else report.added).append(doc.doc_id)
                report.passages += len(stored[doc.doc_id]["passages"])
            for doc_id in list(stored):
                if doc_id not in seen and any(_under(stored[doc_id]["origin"], f) for f in replace_under):
                    del stored[doc_id]
                    report.removed.append(doc_id)
            changed = bool(report.added or report.replaced or report.removed)
            return reembedded or changed or retagged or not existed

        self._update(change)
        return report

    def remove(self, keys: Sequence[str]) -> list[str]:
        """Remove documents by id, link, or absolute file/folder path; the removed ids (none: empty). Expired
        documents go too, without being reported."""
        removed: list[str] = []

        def change(index: dict[str, Any], existed: bool) -> bool:
            stored: dict[str, Any] = index["documents"]
            removed[:] = [
                doc_id
                for doc_id, doc in stored.items()
                if any(
                    k in (doc_id, doc["uri"]) or (os.path.isabs(k) and _under(doc["origin"], k)) for k in keys
                )
            ]
            for doc_id in removed:
                del stored[doc_id]
            return bool(_prune(stored, self._now()) or removed)

        self._update(change)
        return removed

    def prune(self) -> list[str]:
        """Remove the documents whose `expires_at` has passed (precedents of expired tickets); their ids."""
        pruned: list[str] = []

        def change(index: dict[str, Any], existed: bool) -> bool:
            pruned[:] = _prune(index["documents"], self._now())
            return bool(pruned)

        self._update(change)
        return pruned

    def documents(self) -> list[DocumentInfo]:
        """Every stored document, by id."""
        docs = self._load()["documents"]
        return [
            DocumentInfo(
                doc_id=doc_id,
                title=d["title"],
                uri=d["uri"],
                origin=d["origin"],
                passages=len(d["passages"]),
                updated=d.get("updated", ""),
                expires_at=d.get("expires_at"),
                source_etag=d.get("source_etag", ""),
            )
            for doc_id, d in sorted(docs.items())
        ]

    def search(self, query: str, k: int = defaults.KB_TOP_K) -> list[Hit]:
        """The k best documents for the query, each with its best passage, best first."""
        index = self._load()
        if not self._rows:
            return []
        if index.get("model_id") != self._embedder.model_id:
            message = (
                f"the knowledge base was embedded with {index.get('model_id')}, the embedder is now "
                f"{self._embedder.model_id}: run `tms kb ingest` again to re-embed it"
            )
            if self._strict:
                raise ConfigurationError(message)
            # The draft function: a ticket is drafted without grounding rather than failed over the index.
            logger.error("knowledge base not searched", extra={"reason": message})
            return []
        matrix, rows = self._matrix, self._rows
        live = self._row_expiry > self._now()
        if not live.all():  # a precedent whose ticket's retention has passed is never quoted again
            matrix, rows = matrix[live], [r for r, keep in zip(rows, live, strict=True) if keep]
            if not rows:
                return []
        query_vector = self._embedder.embed([query])[0]
        stats = TermStats(
            passages=len(self._rows), df={t: self._df[t] for t in terms(query) if t in self._df}
        )
        hits = []
        for row, score in rank(query_vector, matrix, [d for d, _ in rows], k):
            doc_id, n = rows[row]
            doc = index["documents"][doc_id]
            p = doc["passages"][n]
            passage = Passage(passage_id=p["id"], doc_id=doc_id, heading=p["heading"], text=p["text"])
            in_doc = self._doc_sentences.get(doc_id, [])
            scores = self._sentence_matrix[in_doc] @ query_vector.astype(np.float32) if in_doc else []
            scored = tuple(
                ScoredSentence(*self._sentences[r], score=float(v))
                for r, v in zip(in_doc, scores, strict=True)
            )
            hits.append(
                Hit(
                    doc_id=doc_id,
                    title=doc["title"],
                    uri=doc["uri"],
                    score=score,
                    passage=passage,
                    sentences=scored,
                    terms=stats,
                )
            )
        return hits

    # --- helpers -------------------------------------------------------------------------------------

    def _entry(self, doc: Document, digest: str) -> dict[str, Any]:
        passages = chunk(doc)
        return {
            "title": doc.title,
            "uri": doc.uri,
            "origin": doc.origin,
            "products": list(doc.products),
            "issue_types": list(doc.issue_types),
            "updated": doc.updated,
            **({"expires_at": doc.expires_at} if doc.expires_at is not None else {}),
            **({"source_etag": doc.source_etag} if doc.source_etag else {}),
            "digest": digest,
            "passages": self._embed(passages, doc.title),
        }

    def _embed(self, passages: list[Passage], title: str) -> list[dict[str, Any]]:
        """Each passage with its vector (title and heading included) and its sentences' vectors, from one
        embedding call."""
        if not passages:
            return []
        split = [sentences(p.text) for p in passages]
        texts = [p.embedding_text(title) for p in passages] + [t for group in split for t in group]
        vectors = self._embedder.embed(texts)
        out, at = [], len(passages)
        for n, (p, group) in enumerate(zip(passages, split, strict=True)):
            out.append(_embedded_passage(p, vectors[n], vectors[at : at + len(group)]))
            at += len(group)
        return out

    def _reembed(self, stored: dict[str, Any]) -> None:
        """The embedder or the index format changed: every stored passage is embedded again."""
        for doc_id, doc in stored.items():
            passages = [Passage(p["id"], doc_id, p["heading"], p["text"]) for p in doc["passages"]]
            doc["passages"] = self._embed(passages, doc["title"])


class LazyEmbedder:
    """The process's embedder, built on the first embedding: a draft step with an empty knowledge base
    never loads a model."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def embed(self, texts: list[str]) -> np.ndarray:
        from pipeline.adapters.embeddings import embedder

        result: np.ndarray = embedder().embed(texts)
        return result


def sync_knowledge_base(bucket: str, s3: Any = None) -> S3KnowledgeBase:
    """The knowledge base the kb-sync function writes: the stack's embedder (Titan on AWS), built on the
    first document that changed, so a run with nothing to embed loads no model."""
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import load_embedding_settings

    model_id = str(load_embedding_settings().model_id)
    return S3KnowledgeBase(bucket, s3 if s3 is not None else aws_client("s3"), LazyEmbedder(model_id))


@functools.cache
def draft_knowledge_base() -> S3KnowledgeBase | None:
    """The knowledge base the draft step grounds in (TMS_KB_PROVIDER), or None when drafts are not grounded."""
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import load_embedding_settings

    provider = os.environ.get(names.ENV_KB_PROVIDER) or defaults.KB_PROVIDER
    if provider == "none":
        return None
    if provider != "s3":
        raise ConfigurationError(f"{names.ENV_KB_PROVIDER} must be none or s3, got {provider!r}")
    bucket = os.environ.get(names.ENV_BUCKET_NAME)
    if not bucket:
        raise ConfigurationError(f"{names.ENV_KB_PROVIDER}=s3 needs {names.ENV_BUCKET_NAME}")
    model_id = str(load_embedding_settings().model_id)
    raw = os.environ.get(names.ENV_KB_REFRESH_SECONDS) or str(defaults.KB_REFRESH_SECONDS)
    try:
        refresh = float(raw)
    except ValueError:
        refresh = -1.0
    if refresh < 0:
        raise ConfigurationError(
            f"{names.ENV_KB_REFRESH_SECONDS} must be a number of seconds >= 0, got {raw!r}"
        )
    return S3KnowledgeBase(
        bucket, aws_client("s3"), LazyEmbedder(model_id), refresh_seconds=refresh, strict=False
    )
