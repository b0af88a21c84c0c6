"""Which archive objects an ETL run reads (contract/manifests.py), shared by the Glue job and `tms etl`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contract import manifests, names
from contract.manifests import OVERLAP, ManifestBookmark, marker_key, parse_marker, select
from glue import job
from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
FEED = names.ARCHIVE_PREFIX
BUCKET = "tms-archive-test"


class FakeBucket:
    """Keys in S3's order; `list` behaves like ListObjectsV2 with Prefix and StartAfter."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.listed: list[tuple[str, str | None]] = []

    def write(self, key: str, at: datetime, nonce: str = "n1") -> None:
        """What a producer does: the object, then its marker."""
        self.keys.add(key)
        feed = names.LIFECYCLE_PREFIX if key.startswith(names.LIFECYCLE_PREFIX) else FEED
        self.keys.add(marker_key(key, feed, at, nonce))

    def list(self, prefix: str, start_after: str | None) -> Iterator[str]:
        self.listed.append((prefix, start_after))
        yield from (
            k for k in sorted(self.keys) if k.startswith(prefix) and (not start_after or k > start_after)
        )


def ticket(n: int, day: str = "2026-10-01") -> str:
    return f"{FEED}submitted_date={day}/TKT-{n:06d}.json"


def test_incremental_run_reads_exactly_the_new_objects_and_a_reprocessed_old_ticket():
    # Given a history loaded a day ago, and since then two new tickets and one old ticket processed again
    bucket = FakeBucket()
    for n in range(200):
        bucket.write(ticket(n, "2026-01-05"), T0 - timedelta(days=300) + timedelta(minutes=n))
    loaded = select(bucket.list, FEED, ManifestBookmark(), T0)
    later = T0 + timedelta(days=1)
    bucket.write(ticket(1000), later + timedelta(minutes=1))
    bucket.write(ticket(1001), later + timedelta(minutes=2))
    bucket.write(ticket(7, "2026-01-05"), later + timedelta(minutes=3), nonce="again")  # same key, new marker

    # When the next run selects
    chosen = select(bucket.list, FEED, loaded.bookmark, later + timedelta(hours=1))

    # Then it reads those three objects and nothing of the history, listing only the markers since then
    assert not chosen.full
    assert sorted(chosen.keys) == sorted([ticket(1000), ticket(1001), ticket(7, "2026-01-05")])
    assert chosen.listed == 3
    assert bucket.listed[-1][0] == f"{names.MANIFEST_PREFIX}{FEED}"


def test_an_archive_without_markers_loads_fully_on_the_first_run():
    # Given objects written before markers existed (no marker at all)
    bucket = FakeBucket()
    bucket.keys |= {ticket(n) for n in range(5)} | {f"{FEED}submitted_date=2026-10-01/"}

    # When the first run selects (no bookmark)
    chosen = select(bucket.list, FEED, ManifestBookmark(), T0)

    # Then it is a full load of every object under the prefix, and the next run starts from now
    assert chosen.full and chosen.reason == "no bookmark"
    assert sorted(chosen.keys) == sorted(ticket(n) for n in range(5))
    assert chosen.bookmark.watermark == T0
    bucket.write(ticket(9), T0 + timedelta(minutes=5))
    assert select(bucket.list, FEED, chosen.bookmark, T0 + timedelta(hours=1)).keys == [ticket(9)]


def test_objects_loaded_by_a_full_load_are_not_read_again_by_the_next_run():
    # Given markers written just before a full load
    bucket = FakeBucket()
    for n in range(3):
        bucket.write(ticket(n), T0 - timedelta(minutes=5 - n))
    full = select(bucket.list, FEED, ManifestBookmark(), T0, full=True)
    assert full.full and full.reason == "requested" and len(full.keys) == 3

    # When the next incremental run lists the overlap window again
    again = select(bucket.list, FEED, full.bookmark, T0 + timedelta(minutes=10))

    # Then the markers it already accounted for are skipped
    assert again.keys == [] and not again.full


def test_a_marker_that_arrives_late_inside_the_overlap_is_still_picked_up():
    # Given a run that loaded a marker at T0, and a writer whose clock is ten minutes behind
    bucket = FakeBucket()
    bucket.write(ticket(1), T0)
    first = select(bucket.list, FEED, ManifestBookmark(T0 - timedelta(hours=1)), T0 + timedelta(seconds=1))
    assert first.keys == [ticket(1)]
    bucket.write(ticket(2), T0 - timedelta(minutes=10))

    # When the next run selects
    second = select(bucket.list, FEED, first.bookmark, T0 + timedelta(hours=2))

    # Then the late marker is read and the already loaded one is not
    assert second.keys == [ticket(2)]
    assert timedelta(minutes=10) < OVERLAP


def test_two_markers_of_one_object_read_it_once():
    bucket = FakeBucket()
    bucket.write(ticket(1), T0 + timedelta(minutes=1), nonce="a")
    bucket.write(ticket(1), T0 + timedelta(minutes=2), nonce="b")
    chosen = select(bucket.list, FEED, ManifestBookmark(T0), T0 + timedelta(hours=1))
    assert chosen.keys == [ticket(1)] and chosen.listed == 2


def test_a_bookmark_older_than_the_marker_retention_falls_back_to_a_full_load():
    bucket = FakeBucket()
    bucket.keys.add(ticket(1))  # its marker has expired
    old = ManifestBookmark(T0 - timedelta(days=manifests.RETENTION_DAYS))
    chosen = select(bucket.list, FEED, old, T0)
    assert chosen.full and "older than" in chosen.reason
    assert chosen.keys == [ticket(1)]


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "not json",
        '{"watermark": "2026-11-01T09:00:00+00:00", "recent": {"tickets/a.json": "etag"}}',  # before manifests
        '{"format": "manifest-v1", "watermark": "yesterday"}',
    ],
)
def test_a_missing_unreadable_or_pre_manifest_bookmark_means_a_full_load(stored: str | None):
    assert ManifestBookmark.from_json(stored) == ManifestBookmark()


def test_the_bookmark_survives_its_stored_form():
    mark = ManifestBookmark(T0, frozenset({"manifests/tickets/x"}))
    assert ManifestBookmark.from_json(mark.to_json()) == mark


@pytest.mark.parametrize("key", [ticket(1), f"{FEED}submitted_date=2026-10-01/crm:case.42.json"])
def test_a_marker_names_its_object_and_sorts_by_processing_time(key: str):
    first = marker_key(key, FEED, T0 + timedelta(minutes=59, seconds=59), "zz")
    second = marker_key(ticket(0), FEED, T0 + timedelta(hours=1), "aa")
    assert first.startswith(f"{names.MANIFEST_PREFIX}{FEED}2026/11/01/09/")
    assert first < second
    parsed = parse_marker(first, FEED)
    assert parsed is not None and parsed.target == key
    assert parsed.written_at == T0 + timedelta(minutes=59, seconds=59)
    assert parse_marker(f"{names.MANIFEST_PREFIX}{FEED}2026/11/01/09/garbage", FEED) is None


def test_manifest_prefix_is_the_one_infra_names():
    assert manifests.MANIFEST_PREFIX == names.MANIFEST_PREFIX


def test_the_glue_job_and_the_local_runner_select_with_the_same_code():
    from tools.analytics import runner

    assert runner.select is manifests.select is job.select
    assert runner.s3_lister is manifests.s3_lister is job.s3_lister


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _writer(s3: Any, feed: str, at: list[datetime]) -> ManifestedStore:
    return ManifestedStore(S3ArchiveStore(BUCKET, s3), feed, clock=lambda: at[0])


def test_the_archive_writer_puts_a_marker_after_each_object_and_none_for_other_prefixes(s3: Any):
    now = [T0]
    store = _writer(s3, FEED, now)
    store.put(ticket(1), '{"a": 1}')
    now[0] = T0 + timedelta(hours=3)
    store.put(ticket(1), '{"a": 2}')
    store.put(f"{names.ORIGINALS_PREFIX}x.json", "{}")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    markers = [k for k in keys if k.startswith(names.MANIFEST_PREFIX)]
    assert len(markers) == 2
    assert [parse_marker(k, FEED).target for k in markers] == [ticket(1), ticket(1)]  # type: ignore[union-attr]
    assert not any(names.ORIGINALS_PREFIX.rstrip("/") in k for k in markers)


def test_the_glue_job_keeps_its_bookmark_in_s3_and_then_reads_only_new_and_reprocessed_objects(s3: Any):
    # Given an archive written by the pipeline's writer, loaded once by the job
    now = [T0]
    store = _writer(s3, FEED, now)
    for n in range(5):
        store.put(ticket(n), "{}")
    args = {
        "manifest_path": f"s3://{BUCKET}/{names.MANIFEST_PREFIX}",
        "state_path": f"s3://{BUCKET}/etl-state/",
    }
    source = f"s3://{BUCKET}/{FEED}"
    first = job.select_objects(s3, source, args, T0 + timedelta(minutes=1))
    assert first.full and job.read_paths(source, first) == [source]
    job.save_bookmark(s3, source, args, first)

    # When a new ticket arrives and an old one is re-processed, hours later
    now[0] = T0 + timedelta(hours=5)
    store.put(ticket(10), "{}")
    store.put(ticket(2), '{"again": true}')
    second = job.select_objects(s3, source, args, T0 + timedelta(hours=6))

    # Then the job reads exactly those two objects
    assert not second.full
    assert sorted(job.read_paths(source, second)) == sorted(f"s3://{BUCKET}/{ticket(n)}" for n in (10, 2))
    assert s3.get_object(Bucket=BUCKET, Key="etl-state/bookmarks/tickets.json")["Body"].read()
    # And --full still reloads everything
    assert job.select_objects(s3, source, {**args, "full": "true"}, T0 + timedelta(hours=6)).full
