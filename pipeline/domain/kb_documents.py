"""Help-centre documents as knowledge-base Documents: Markdown, HTML and plain text (issue 30).

The one reader both ways in use: `tms kb ingest` on files (tools/kb.py) and the sync function on objects
under kb/docs/ of the stack bucket (pipeline/handlers/kb_sync.py). Pure: it gets a name and the text, never
a path or a client.

Markdown and text carry YAML front matter (`title`, `url`, `products`, `issue_types`, `updated`); HTML
carries `<title>`, `<link rel="canonical">` and `<meta name="kb:...">`, its text is the `<article>` (or
`<main>`, else `<body>`) without navigation, scripts or footer. Every document needs an HTTPS link: its
own (`url` / canonical) or the configured base URL + its file name (`--base-url`, TMS_KB_BASE_URL); never
where it was read from (an `s3://` key is no link an agent can open).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

import yaml

from contract.errors import ConfigurationError, KnowledgeDocumentError
from pipeline.domain.knowledge import Document

SUFFIXES = (".md", ".markdown", ".html", ".htm", ".txt")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
SKIP_FILES = {"readme.md"}  # a folder's README describes the folder, it is not an article


def supported(name: str) -> bool:
    """Whether a file of this name is read as an article (Markdown, HTML or text, and not a README)."""
    path = PurePosixPath(name)
    return path.suffix.lower() in SUFFIXES and path.name.lower() not in SKIP_FILES


def parse_document(name: str, text: str, *, origin: str, base_url: str | None = None) -> Document:
    """One file's text as a Document. `name` is the file name or path (its suffix picks the reader, its stem
    is the id and the end of a base-URL link, and errors name it); `origin` is where it was read from.
    KnowledgeDocumentError names the file and what is missing."""
    meta: dict[str, Any]
    path = PurePosixPath(name.replace("\\", "/"))
    if path.suffix.lower() in (".html", ".htm"):
        meta, body = _read_html(text)
    else:
        meta, body = _read_front_matter(name, text)
    stem = path.stem
    uri = str(meta.get("url") or "")
    if not uri:
        if not base_url:
            raise KnowledgeDocumentError(
                f"{name}: no link for this document: give it a `url:` (front matter) or a canonical "
                "link, or a base URL (tms kb ingest --base-url, or set TMS_KB_BASE_URL)"
            )
        uri = base_url.rstrip("/") + "/" + stem
    title = str(meta.get("title") or _first_heading(body) or stem.replace("-", " "))
    try:
        return Document(
            doc_id=stem,
            title=title,
            uri=uri,
            origin=origin,
            text=body,
            products=tuple(_as_list(meta.get("products"))),
            issue_types=tuple(_as_list(meta.get("issue_types"))),
            updated=str(meta.get("updated") or ""),
        )
    except ConfigurationError as e:  # the Document's own check: an http:// or s3:// link
        raise KnowledgeDocumentError(str(e)) from e


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _first_heading(body: str) -> str:
    m = re.search(r"^#{1,6}\s+(.+)$", body, re.M)
    return m.group(1).strip() if m else ""


def _read_front_matter(name: str, text: str) -> tuple[dict[str, Any], str]:
    m = FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise KnowledgeDocumentError(f"{name}: the front matter is not valid YAML ({e})") from e
    if not isinstance(meta, dict):
        raise KnowledgeDocumentError(f"{name}: the front matter must be `key: value` lines")
    return meta, text[m.end() :]


class _HtmlReader(HTMLParser):
    """Metadata from <head>; text of <article> (else <main>, else <body>) with headings as Markdown."""

    SKIP = {"script", "style", "nav", "footer", "header", "aside", "noscript"}
    BLOCK = {"p", "li", "div", "section", "tr", "pre", "blockquote", "br", "dd", "dt"}
    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, Any] = {}
        self.parts: dict[str, list[str]] = {"article": [], "main": [], "body": []}
        self._open: list[str] = []
        self._skip = 0
        self._in_title = False
        self._title: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in a.get("rel", "").split():
            self.meta["url"] = a.get("href", "")
        elif tag == "meta" and a.get("name", "").startswith("kb:"):
            name = a["name"][3:]
            key = {"product": "products", "issue_type": "issue_types"}.get(name, name)
            if key in ("products", "issue_types"):
                self.meta.setdefault(key, []).append(a.get("content", ""))
            else:
                self.meta[key] = a.get("content", "")
        if tag in self.SKIP:
            self._skip += 1
        if tag in self.parts:
            self._open.append(tag)
        if tag in self.HEADINGS:
            self._emit("\n\n" + "#" * self.HEADINGS[tag] + " ")
        elif tag in self.BLOCK:
            self._emit("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        if tag in self.parts and tag in self._open:
            self._open.remove(tag)
        if tag in self.HEADINGS or tag == "p":
            self._emit("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        self._emit(re.sub(r"\s+", " ", data))

    def _emit(self, text: str) -> None:
        if self._skip:
            return
        for part in self._open:
            self.parts[part].append(text)

    def result(self) -> tuple[dict[str, Any], str]:
        if self._title and "title" not in self.meta:
            self.meta["title"] = " ".join("".join(self._title).split())
        for part in ("article", "main", "body"):
            text = "".join(self.parts[part])
            if text.strip():
                lines = [line.strip() for line in text.splitlines()]
                return self.meta, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        return self.meta, ""


def _read_html(text: str) -> tuple[dict[str, Any], str]:
    reader = _HtmlReader()
    reader.feed(text)
    reader.close()
    return reader.result()
