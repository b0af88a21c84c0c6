"""The local ETL's bookmarks: the same manifest bookmark the Glue job keeps (contract/manifests.py), stored in
a JSON file per (endpoint, bucket, feed, warehouse) under the state dir instead of an S3 object, so two
local warehouses each load the whole archive once.

The bookmark is saved only after the warehouse commit; a crash in between re-reads a batch, which the
MERGE makes harmless.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from contract.manifests import ManifestBookmark


class BookmarkStore:
    """Bookmarks in a JSON file, one per scope, written atomically."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, scope: str) -> Path:
        digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
        return self.directory / f"bookmark-{digest}.json"

    def load(self, scope: str) -> ManifestBookmark:
        """The saved bookmark, or an empty one (a full load). A bookmark from before manifests (a
        last-modified watermark) reads as empty: the first run after the upgrade is a full load."""
        try:
            return ManifestBookmark.from_json(self._path(scope).read_text())
        except OSError:
            return ManifestBookmark()

    def save(self, scope: str, bookmark: ManifestBookmark) -> None:
        """Persist the bookmark (call only after the load committed)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(scope)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(bookmark.to_json())
        tmp.replace(path)

    def reset(self, scope: str) -> None:
        """Forget the bookmark (a full reload)."""
        self._path(scope).unlink(missing_ok=True)
