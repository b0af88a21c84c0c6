"""Which archive objects a load reads, shared by the Glue job (glue/job.py) and `tms etl`
(tools/analytics/runner.py): the same listing, selection and bookmark on both runtimes.

Every time a producer writes an object the warehouse loads (the archive step under tickets/, the lifecycle
feed under lifecycle/), it also writes an empty *marker* keyed by processing time:

    manifests/<feed prefix><yyyy>/<mm>/<dd>/<hh>/<stamp>.<nonce>/<object key after the feed prefix>
    manifests/tickets/2026/11/28/01/20261128T010203123456Z.3f9a1c2e/submitted_date=2026-03-01/TKT-...json

Keys sort by processing time, so an incremental run lists only the markers written since its bookmark (one
`ListObjectsV2` with `StartAfter`), however large the history. A re-processed old ticket overwrites its
object under the old key but writes a NEW marker now, so it is picked up (pruning the object listing by key
prefix could not see that). The marker key names its object, so selection needs no GET per marker.

The bookmark is ours, not Glue's: the newest marker time loaded plus the markers inside a short overlap
window below it (clock skew between writers, a put that becomes visible late), de-duplicated by marker key;
the MERGE makes a re-read harmless anyway. A run without a bookmark, with an unreadable or old-format one,
or with one older than the markers' retention is a full load: it lists the whole feed prefix (the recovery
path, and how an archive written before markers existed is loaded).

Standard library only: Glue ships glue/ as --extra-py-files and the Lambda code asset carries this file for
`marker_key` (infra/components/lambdas.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MANIFEST_PREFIX = "manifests/"
# S3 lifecycle expiry of markers (infra/components/storage.py); a bookmark older than MAX_BOOKMARK_AGE may
# have lost markers to it, so that run is a full load.
RETENTION_DAYS = 30
MAX_BOOKMARK_AGE = timedelta(days=RETENTION_DAYS - 2)
# Markers written up to this long before the newest marker already loaded are listed again (and skipped
# by key): the same settling band Glue's own S3 bookmark uses (MaxBand, 900 s).
OVERLAP = timedelta(minutes=15)
BOOKMARK_FORMAT = "manifest-v1"

_STAMP = "%Y%m%dT%H%M%S%fZ"


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def feed_manifest_prefix(feed_prefix: str, manifest_prefix: str = MANIFEST_PREFIX) -> str:
    """Where the markers of one feed live: manifests/tickets/, manifests/lifecycle/."""
    return f"{manifest_prefix}{feed_prefix}"


def _time_key(feed_prefix: str, at: datetime, manifest_prefix: str) -> str:
    at = _utc(at)
    return f"{feed_manifest_prefix(feed_prefix, manifest_prefix)}{at:%Y/%m/%d/%H}/{at.strftime(_STAMP)}"


def marker_key(
    key: str, feed_prefix: str, at: datetime, nonce: str, manifest_prefix: str = MANIFEST_PREFIX
) -> str:
    """The marker of one write of `key` (under `feed_prefix`) at processing time `at`; `nonce` keeps two
    writes in the same microsecond apart."""
    if not key.startswith(feed_prefix):
        raise ValueError(f"{key!r} is not under {feed_prefix!r}")
    if not nonce or "/" in nonce or "." in nonce:
        raise ValueError(f"nonce must be a non-empty token without '/' or '.', got {nonce!r}")
    return f"{_time_key(feed_prefix, at, manifest_prefix)}.{nonce}/{key.removeprefix(feed_prefix)}"


@dataclass(frozen=True)
class Marker:
    """One listed marker: its key, the object it names and when that object was written."""

    key: str
    target: str
    written_at: datetime


def parse_marker(key: str, feed_prefix: str, manifest_prefix: str = MANIFEST_PREFIX) -> Marker | None:
    """The marker behind a listed key, or None for a key that is not one (ignored, never fatal)."""
    base = feed_manifest_prefix(feed_prefix, manifest_prefix)
    if not key.startswith(base):
        return None
    parts = key[len(base) :].split("/", 5)
    if len(parts) != 6 or not parts[5]:
        return None
    stamp, _, nonce = parts[4].partition(".")
    try:
        written_at = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    if not nonce:
        return None
    return Marker(key, feed_prefix + parts[5], written_at)


@dataclass(frozen=True)
class ManifestBookmark:
    """What a feed has loaded: the newest marker time, and the marker keys inside the overlap below it."""

    watermark: datetime | None = None
    seen: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> str:
        """The stored form (a small JSON object)."""
        return json.dumps(
            {
                "format": BOOKMARK_FORMAT,
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "seen": sorted(self.seen),
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes | None) -> ManifestBookmark:
        """The stored bookmark; an empty one (a full load) when absent, unreadable or of an older format
        (the last-modified bookmark from before markers cannot say which unmarked objects are new)."""
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict) or data.get("format") != BOOKMARK_FORMAT or not data.get("watermark"):
            return cls()
        try:
            return cls(_utc(datetime.fromisoformat(data["watermark"])), frozenset(data.get("seen") or ()))
        except (TypeError, ValueError):
            return cls()


# (prefix, start_after or None) -> every key under prefix after start_after, in key order.
Lister = Callable[[str, str | None], Iterable[str]]


@dataclass(frozen=True)
class Selection:
    """What one run reads and the bookmark to save once the warehouse committed it."""

    full: bool
    keys: list[str]
    bookmark: ManifestBookmark
    listed: int
    reason: str = ""


def full_reason(bookmark: ManifestBookmark, now: datetime, *, full: bool = False) -> str:
    """Why this run must list the whole feed ("" when an incremental run is safe)."""
    if full:
        return "requested"
    if bookmark.watermark is None:
        return "no bookmark"
    if _utc(now) - bookmark.watermark > MAX_BOOKMARK_AGE:
        return f"bookmark older than {MAX_BOOKMARK_AGE.days} days (markers expire after {RETENTION_DAYS})"
    return ""


def select(
    lister: Lister,
    feed_prefix: str,
    bookmark: ManifestBookmark,
    now: datetime,
    *,
    full: bool = False,
    manifest_prefix: str = MANIFEST_PREFIX,
) -> Selection:
    """The objects of one feed to load now.

    Incremental: list the feed's markers after (watermark - OVERLAP), skip the ones already seen, read each
    named object once. Full: list the feed prefix itself. A full load first lists the markers of the last
    OVERLAP before `now` and counts them as seen: each names an object written before its marker, so
    before the prefix listing that follows, which therefore includes it; the next incremental run does not
    read those again."""
    reason = full_reason(bookmark, now, full=full)
    floor = _utc(now) if reason or bookmark.watermark is None else bookmark.watermark
    start = _time_key(feed_prefix, floor - OVERLAP, manifest_prefix)
    base = feed_manifest_prefix(feed_prefix, manifest_prefix)
    markers = [
        m
        for m in (parse_marker(k, feed_prefix, manifest_prefix) for k in lister(base, start))
        if m is not None
    ]
    watermark = max([floor, *(m.written_at for m in markers)])
    seen = frozenset(m.key for m in markers if m.written_at >= watermark - OVERLAP)
    if reason:
        keys = [k for k in lister(feed_prefix, None) if not k.endswith("/")]
        return Selection(True, keys, ManifestBookmark(watermark, seen), len(keys) + len(markers), reason)
    fresh = [m for m in markers if m.key not in bookmark.seen]
    keys = list(dict.fromkeys(m.target for m in fresh))
    return Selection(False, keys, ManifestBookmark(watermark, seen), len(markers))


# S3 returns at most 1,000 keys a page whatever MaxKeys asks; moto returns what is asked, and it scans and
# sorts the whole bucket for every page, so 1,000-key pages made listing 100,000 objects quadratic (4 min).
LIST_PAGE_SIZE = 100_000


def s3_lister(s3: Any, bucket: str) -> Lister:
    """A Lister over a boto3 S3 client (ListObjectsV2 pages; StartAfter when given)."""

    def listing(prefix: str, start_after: str | None) -> Iterator[str]:
        extra = {"StartAfter": start_after} if start_after else {}
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}, **extra
        )
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"]

    return listing


class S3BookmarkStore:
    """Bookmarks as small JSON objects under a state prefix of the bucket (the Glue job's)."""

    def __init__(self, s3: Any, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def _key(self, feed_prefix: str) -> str:
        return f"{self.prefix}bookmarks/{feed_prefix.strip('/')}.json"

    def load(self, feed_prefix: str) -> ManifestBookmark:
        """The feed's bookmark, or an empty one (a full load) when there is none yet."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(feed_prefix))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return ManifestBookmark()
        return ManifestBookmark.from_json(body)

    def save(self, feed_prefix: str, bookmark: ManifestBookmark) -> None:
        """Persist the feed's bookmark (only after the warehouse committed the load)."""
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self._key(feed_prefix),
            Body=bookmark.to_json().encode(),
            ContentType="application/json",
        )
