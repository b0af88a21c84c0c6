"""The local ETL's bookmark file: the Glue job's manifest bookmark, stored per scope under the state dir."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from contract.manifests import ManifestBookmark
from tools.analytics.bookmarks import BookmarkStore


def test_a_saved_bookmark_loads_back_per_scope(tmp_path: Path):
    store = BookmarkStore(tmp_path)
    mark = ManifestBookmark(datetime(2026, 11, 24, tzinfo=UTC), frozenset({"manifests/tickets/k"}))
    store.save("a", mark)
    assert store.load("a") == mark
    assert store.load("b") == ManifestBookmark()
    store.reset("a")
    assert store.load("a") == ManifestBookmark()


def test_a_bookmark_file_from_before_manifests_makes_the_next_run_a_full_load(tmp_path: Path):
    # The last-modified bookmark cannot say which unmarked objects are new: reload everything once.
    store = BookmarkStore(tmp_path)
    store.save("a", ManifestBookmark(datetime(2026, 11, 24, tzinfo=UTC)))
    (path,) = tmp_path.glob("bookmark-*.json")
    path.write_text('{"scope": "a", "watermark": "2026-11-24T00:00:00+00:00", "recent": {}}')
    assert store.load("a").watermark is None
