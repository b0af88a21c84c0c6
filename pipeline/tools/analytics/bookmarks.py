"""A local job bookmark with Glue's S3 semantics: a last-modified watermark plus the objects seen inside
a settling band below it (Glue's MaxBand), so late-visible writes and overwrites are still picked up.

The bookmark is saved only after the warehouse commit; a crash in between re-reads a batch, which the
MERGE makes harmless.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

# Glue's default MaxBand: objects modified within this window of the watermark are tracked by key+ETag.
SETTLING_BAND = timedelta(seconds=900)


@dataclass(frozen=True)
class ObjectRef:
    """One archive object as a listing returns it."""

    key: str
    etag: str
    last_modified: datetime
    size: int = 0


@dataclass
class Bookmark:
    """What has been loaded: a watermark and the key -> ETag of objects inside the band below it."""

    watermark: datetime | None = None
    recent: dict[str, str] = field(default_factory=dict)

    def is_new(self, obj: ObjectRef) -> bool:
        """True when the object was not loaded yet (or was overwritten since)."""
        if self.watermark is None or obj.last_modified > self.watermark:
            return self.recent.get(obj.key) != obj.etag
        if obj.last_modified < self.watermark - SETTLING_BAND:
            return False
        return self.recent.get(obj.key) != obj.etag

    def advanced(self, listed: list[ObjectRef]) -> Bookmark:
        """The bookmark after a successful load of everything new in `listed`."""
        if not listed:
            return Bookmark(self.watermark, dict(self.recent))
        top = max(o.last_modified for o in listed)
        watermark = top if self.watermark is None else max(top, self.watermark)
        floor = watermark - SETTLING_BAND
        loaded = {o.key for o in listed}  # built once: inside the comprehension it made this O(n*m)
        recent = {k: v for k, v in self.recent.items() if k not in loaded}
        recent.update({o.key: o.etag for o in listed if o.last_modified >= floor})
        return Bookmark(watermark, recent)


class BookmarkStore:
    """Bookmarks in a JSON file, one per (bucket, prefix, warehouse), written atomically."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, scope: str) -> Path:
        digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
        return self.directory / f"bookmark-{digest}.json"

    def load(self, scope: str) -> Bookmark:
        """The saved bookmark, or an empty one (load everything)."""
        try:
            data = json.loads(self._path(scope).read_text())
        except (OSError, ValueError):
            return Bookmark()
        mark = data.get("watermark")
        return Bookmark(datetime.fromisoformat(mark) if mark else None, dict(data.get("recent", {})))

    def save(self, scope: str, bookmark: Bookmark) -> None:
        """Persist the bookmark (call only after the load committed)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(scope)
        tmp = path.with_suffix(".tmp")
        data = {
            "scope": scope,
            "watermark": bookmark.watermark.isoformat() if bookmark.watermark else None,
            "recent": bookmark.recent,
        }
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def reset(self, scope: str) -> None:
        """Forget the bookmark (a full reload)."""
        self._path(scope).unlink(missing_ok=True)
