"""Reading help-centre files into knowledge-base documents: Markdown, HTML and plain text (issue 30).

The readers live in pipeline/domain/kb_documents.py, where the sync function uses them too; this module
finds the files on disk and reads them. A document without its own link gets the base URL (`--base-url`,
else TMS_KB_BASE_URL) + its file name.
"""

from __future__ import annotations

import os
from pathlib import Path

from contract import defaults, names
from contract.errors import ConfigurationError, KnowledgeDocumentError
from pipeline.domain.kb_documents import SKIP_FILES, SUFFIXES, parse_document
from pipeline.domain.knowledge import Document

ENV_KB_BASE_URL = names.ENV_KB_BASE_URL
__all__ = ["ENV_KB_BASE_URL", "SKIP_FILES", "SUFFIXES", "discover", "read_document"]


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The files to ingest under the given files and folders, and the folders (for replace-under)."""
    files: list[Path] = []
    folders: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folders.append(str(path.resolve()))
            files.extend(
                f
                for f in sorted(path.rglob("*"))
                if f.is_file() and f.suffix.lower() in SUFFIXES and f.name.lower() not in SKIP_FILES
            )
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise ConfigurationError(f"{raw}: not a Markdown, HTML or text file ({', '.join(SUFFIXES)})")
            files.append(path)
        else:
            raise ConfigurationError(f"{raw}: no such file or folder")
    return files, folders


def read_document(path: Path, base_url: str | None = None) -> Document:
    """One file as a Document (ConfigurationError names the file and what is wrong: too large, not UTF-8,
    no title or link...); the same rules as the kb-sync function's."""
    size = path.stat().st_size
    if size > defaults.KB_DOCUMENT_MAX_BYTES:
        raise KnowledgeDocumentError(
            f"{path}: {size:,} bytes, over the {defaults.KB_DOCUMENT_MAX_BYTES:,} a document may have: split it"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise KnowledgeDocumentError(f"{path}: not UTF-8 text (byte {e.start}): save it as UTF-8") from e
    return parse_document(
        str(path), text, origin=str(path.resolve()), base_url=base_url or os.environ.get(ENV_KB_BASE_URL, "")
    )
