"""The knowledge base: documents cut into passages, and the port every store answers (issue 30).

Pure logic only: the chunker, the ranking of stored passage vectors against a query vector, and the
`KnowledgeBase` protocol. Reading files is laptop tooling (tools/kb.py); storing vectors is an adapter
(pipeline/adapters/knowledge_store.py on the stack's S3; Bedrock Knowledge Bases on AWS later).

Why rank documents and not passages: an agent needs the three *articles* most likely to answer, not three
paragraphs of the same one, so a document scores its best passage and shows that passage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from contract import defaults
from contract.errors import ConfigurationError

if TYPE_CHECKING:  # numpy loads where passages are ranked, not in every function that names a Document
    import numpy as np

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A sentence ends at a line break or at . ! ? before a capital, a digit or a code mark; list markers and bold
# marks are not part of its text.
_SENTENCE = re.compile(r"\n+|(?<=[.!?])\s+(?=[A-Z0-9`\"(*])")
_MARKUP = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+|\*\*|__")
_WORD = re.compile(r"[a-z0-9][a-z0-9_.:/-]*[a-z0-9]|[a-z0-9]", re.IGNORECASE)
# Words that say nothing about what a ticket asks: never counted as shared terms.
STOP_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "this",
        "that",
        "with",
        "our",
        "we",
        "you",
        "your",
        "my",
        "i",
        "from",
        "at",
        "by",
        "as",
        "not",
        "no",
        "can",
        "cannot",
        "do",
        "does",
        "did",
        "have",
        "has",
        "but",
        "if",
        "when",
        "what",
        "why",
        "how",
        "so",
        "all",
        "any",
    ]
)


@dataclass(frozen=True)
class Document:
    """One source document, read and normalised: the text is plain prose with Markdown headings."""

    doc_id: str
    title: str
    uri: str  # the HTTPS link an agent sees; never an s3:// key
    origin: str  # where it was ingested from (an absolute path), so a folder re-ingest can drop the gone
    text: str
    products: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    updated: str = ""
    # When the document must stop being retrieved (epoch seconds): a precedent carries its ticket's
    # `expires_at` (retention.tickets), so it does not outlive the ticket. None: the team's articles, kept.
    expires_at: int | None = None
    # The ETag of the object it was read from (the sync of kb/docs/): an unchanged ETag is not fetched again.
    # Not part of the content: a new ETag on the same text re-embeds nothing. "" for files and precedents.
    source_etag: str = ""

    def __post_init__(self) -> None:
        if not self.uri.startswith("https://"):
            raise ConfigurationError(f"{self.origin}: a source link must be https://, got {self.uri!r}")


@dataclass(frozen=True)
class Passage:
    """One chunk of a document: the unit that is embedded and quoted to the reply model."""

    passage_id: str  # "<doc_id>#<n>"
    doc_id: str
    heading: str
    text: str

    def embedding_text(self, title: str) -> str:
        """What is embedded: the document title and section heading give a short paragraph its subject."""
        head = title if not self.heading or self.heading == title else f"{title}: {self.heading}"
        return f"{head}\n{self.text}"


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of a retrieved document with its cosine to the query (sentence vectors are stored at
    ingest, so scoring them is a matrix product, not an embedding call)."""

    passage_id: str
    text: str
    score: float


@dataclass(frozen=True)
class TermStats:
    """How common the query's terms are in the knowledge base: the lexical half of relevance."""

    passages: int  # passages in the knowledge base
    df: Mapping[str, int]  # passages containing each query term (absent: none)

    def idf(self, term: str) -> float:
        """The inverse document frequency of a term (BM25's, always positive)."""
        return math.log((self.passages + 1) / (self.df.get(term, 0) + 0.5))

    def rare(self, term: str) -> bool:
        """A term in the knowledge base but in few passages: an error code, a setting, a product feature."""
        return 0 < self.df.get(term, 0) <= max(1.0, defaults.KB_RARE_TERM_SHARE * self.passages)


@dataclass(frozen=True)
class Hit:
    """One retrieved document with its best passage and that passage's cosine score.

    `sentences` are all the document's sentences scored against the query, in document order, so a reply
    can be built from the sentence that answers even when it sits outside the best passage; `terms` are the
    query terms' frequencies in the whole knowledge base (the same for every hit of one search).
    """

    doc_id: str
    title: str
    uri: str
    score: float
    passage: Passage
    sentences: tuple[ScoredSentence, ...] = ()
    terms: TermStats | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document as `tms kb list` shows it."""

    doc_id: str
    title: str
    uri: str
    origin: str
    passages: int
    updated: str = ""
    expires_at: int | None = None
    source_etag: str = ""  # the sync's record of the object it read (Document.source_etag)


@dataclass
class IngestReport:
    """What an ingest changed."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    passages: int = 0


class Retriever(Protocol):
    """The part of the knowledge base the draft step uses."""

    def search(self, query: str, k: int = defaults.KB_TOP_K) -> list[Hit]:
        """The k best documents for the query, best first."""
        ...


class KnowledgeBase(Retriever, Protocol):
    """The port: the local S3 store and (on AWS) Bedrock Knowledge Bases answer it."""

    def ingest(self, documents: list[Document], *, replace_under: Sequence[str] = ()) -> IngestReport:
        """Store the documents (a changed one replaces its passages); drop stored documents whose origin is
        under one of `replace_under` and that are not in `documents` (a folder re-ingest)."""
        ...

    def remove(self, keys: Sequence[str]) -> list[str]:
        """Remove documents by id, link or origin path (a folder removes all under it); the removed ids."""
        ...

    def prune(self) -> list[str]:
        """Remove the documents whose `expires_at` has passed; their ids."""
        ...

    def documents(self) -> list[DocumentInfo]:
        """Every stored document."""
        ...


def chunk(doc: Document, max_chars: int = defaults.KB_PASSAGE_MAX_CHARS) -> list[Passage]:
    """Cut a document at its headings, then into paragraphs packed up to `max_chars` per passage.

    A heading starts a new passage and is kept as its `heading`; paragraphs (blank-line separated) are
    never split unless one alone is longer than `max_chars`, then at sentence ends.
    """
    sections: list[tuple[str, list[str]]] = [("", [])]
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            # A list item starts a new line (a step of its own); wrapped prose lines are joined.
            lines: list[str] = []
            for line in paragraph:
                if LIST_ITEM.match(line) or not lines:
                    lines.append(line.strip())
                else:
                    lines[-1] = f"{lines[-1]} {line.strip()}"
            sections[-1][1].append("\n".join(lines).strip())
            paragraph.clear()

    for line in doc.text.splitlines():
        m = HEADING.match(line.strip())
        if m:
            close_paragraph()
            sections.append((m.group(2).strip(), []))
        elif not line.strip():
            close_paragraph()
        else:
            paragraph.append(line)
    close_paragraph()

    passages: list[Passage] = []
    for heading, paragraphs in sections:
        pieces = [p for para in paragraphs if para for p in _split_long(para, max_chars)]
        current = ""
        for piece in pieces:
            if current and len(current) + 1 + len(piece) > max_chars:
                passages.append(_passage(doc, len(passages), heading, current))
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
        if current:
            passages.append(_passage(doc, len(passages), heading, current))
    return passages


def _passage(doc: Document, n: int, heading: str, text: str) -> Passage:
    return Passage(passage_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, heading=heading, text=text)


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    if "\n" in paragraph:  # a list: cut between items first, keeping each item on its own line
        return [piece for line in paragraph.split("\n") for piece in _split_long(line, max_chars)]
    out: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        while len(sentence) > max_chars:  # one unbroken run longer than a passage: cut it
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        out.append(current)
    return out


def sentences(text: str) -> list[str]:
    """A passage's sentences (list items are sentences of their own), without list or bold markup."""
    out = [" ".join(_MARKUP.sub("", piece).split()) for piece in _SENTENCE.split(text)]
    return [sentence for sentence in out if sentence]


def terms(text: str) -> set[str]:
    """The lower-cased words of a text that can carry meaning (identifiers like `aws:SourceVpce` whole)."""
    return {word.lower() for word in _WORD.findall(text)} - STOP_WORDS


def rank(
    query_vector: np.ndarray, matrix: np.ndarray, passage_docs: list[str], k: int
) -> list[tuple[int, float]]:
    """The best passage (row, score) of each of the k best documents, best first.

    `matrix` holds one unit vector per passage, `passage_docs` the document of each row.
    """
    import numpy as np

    if matrix.shape[0] == 0 or k <= 0:
        return []
    scores = matrix @ query_vector.astype(np.float32)
    best: dict[str, tuple[int, float]] = {}
    for row in np.argsort(-scores):
        doc = passage_docs[int(row)]
        if doc not in best:
            best[doc] = (int(row), float(scores[row]))
            if len(best) == k:
                break
    return list(best.values())


RELEVANCE_FEATURES = ("top_score", "best_sentence", "coverage", "rare_terms")


def relevance_gate(model_id: str) -> Mapping[str, float]:
    """The calibrated relevance rule (bias and feature weights) for this embedding model."""
    try:
        gate = defaults.KB_RELEVANCE_GATES[model_id]
    except KeyError as e:
        known = ", ".join(sorted(defaults.KB_RELEVANCE_GATES))
        raise ConfigurationError(
            f"no knowledge-base relevance gate for embedding model {model_id!r} (known: {known}); "
            "calibrate one with bench/kb.py and add it to contract/defaults.KB_RELEVANCE_GATES"
        ) from e
    unknown = set(gate) - {"bias", *RELEVANCE_FEATURES}
    if unknown:
        raise ConfigurationError(
            f"KB_RELEVANCE_GATES[{model_id!r}] names unknown features {sorted(unknown)}; "
            f"known: {', '.join(RELEVANCE_FEATURES)}"
        )
    return gate
