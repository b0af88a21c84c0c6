"""The local ETL bookmark (Glue S3 semantics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.tools.analytics.bookmarks import Bookmark, ObjectRef


def test_advancing_the_bookmark_over_a_large_listing_stays_linear():
    # 50,000 objects all inside the settling band: quadratic bookkeeping would take minutes here.
    now = datetime(2026, 11, 24, tzinfo=UTC)
    listed = [
        ObjectRef(f"tickets/k{i}.json", f"e{i}", now + timedelta(milliseconds=i)) for i in range(50_000)
    ]
    first = Bookmark().advanced(listed)
    second = first.advanced(listed[:25_000])
    assert len(second.recent) == 50_000
    assert not any(second.is_new(o) for o in listed)
