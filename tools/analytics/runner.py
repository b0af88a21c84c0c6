"""The local ETL run: the Glue job's steps on local Spark, against the local stack and warehouse.

For each feed (the triage archive under tickets/ into `tickets`, then the lifecycle records under
lifecycle/ into `ticket_lifecycle`): select the objects to read with the Glue job's own code
(contract.manifests.select: the manifest markers written since the feed's bookmark, or the whole prefix on a
full load) -> copy to a temp dir -> glue.transforms -> Parquet -> staging + MERGE -> quarantine to S3 ->
save the bookmark. A bookmark moves only after the warehouse committed its feed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract import names
from contract.manifests import s3_lister, select
from glue.schema import TableSpec, lifecycle_spec, spec
from local.iam_record import GLUE_JOB, acting_as
from local.stack import StackInfo, state_dir
from tools.analytics.archive import copy_objects, s3_client, write_quarantine
from tools.analytics.bookmarks import BookmarkStore
from tools.analytics.warehouse import Batch, open_warehouse


@dataclass
class FeedResult:
    """What one feed's load did: records read, loaded (valid, staged), merged (changed rows), quarantined."""

    read: int = 0
    loaded: int = 0
    merged: int = 0
    quarantined: int = 0
    objects: int = 0
    # How the objects were chosen: "incremental", or "full (<reason>)"; and how many keys the listing saw.
    selection: str = ""
    listed: int = 0

    def counts(self) -> dict[str, int]:
        """The four counts."""
        return {
            "read": self.read,
            "loaded": self.loaded,
            "merged": self.merged,
            "quarantined": self.quarantined,
        }


@dataclass
class EtlResult(FeedResult):
    """What one run did: the tickets feed's counts, and the lifecycle feed's under `lifecycle`."""

    lifecycle: FeedResult = field(default_factory=FeedResult)
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """What `tms etl --json` prints: the tickets counts, and the lifecycle counts under "lifecycle"."""
        return {**self.counts(), "lifecycle": self.lifecycle.counts()}


@dataclass(frozen=True)
class Feed:
    """One prefix of the bucket and the warehouse table it loads into."""

    prefix: str
    table: TableSpec


def feeds() -> tuple[Feed, Feed]:
    """The triage archive (tickets) and the lifecycle records (ticket_lifecycle), in that order."""
    return Feed(names.ARCHIVE_PREFIX, spec()), Feed(names.LIFECYCLE_PREFIX, lifecycle_spec())


def bookmark_store() -> BookmarkStore:
    """Bookmarks live next to the embedded warehouse, under the state dir."""
    return BookmarkStore(state_dir() / "etl")


def run_etl(info: StackInfo, *, full: bool = False, warehouse_url: str | None = None) -> EtlResult:
    """Load new archive and lifecycle objects of the stack's bucket into the warehouse (all of them with
    `full`)."""
    result = EtlResult()
    clock = _Clock(result.timings)
    client = s3_client(info)
    warehouse = open_warehouse(warehouse_url)
    store = bookmark_store()
    tickets_feed, lifecycle_feed = feeds()
    lister = s3_lister(client, info.bucket_name)
    try:
        # The twin's S3 calls are the Glue job's (its role on AWS): recorded so with TMS_IAM_RECORD set.
        with acting_as(GLUE_JOB):
            for feed, feed_result in ((tickets_feed, result), (lifecycle_feed, result.lifecycle)):
                scope = f"{info.endpoint_url or 'aws'}|{info.bucket_name}|{feed.prefix}|{warehouse.url}"
                # --full ignores the bookmark but still merges: the warehouse ends the same, only slower.
                current = store.load(scope)
                with clock("list"):
                    chosen = select(lister, feed.prefix, current, datetime.now(UTC), full=full)
                feed_result.objects = len(chosen.keys)
                feed_result.listed = chosen.listed
                feed_result.selection = f"full ({chosen.reason})" if chosen.full else "incremental"
                if chosen.keys:
                    with tempfile.TemporaryDirectory(prefix="tms-etl-") as tmp:
                        _load(client, info, chosen.keys, Path(tmp), warehouse, feed, feed_result, clock)
                with clock("bookmark"):
                    store.save(scope, chosen.bookmark)
    finally:
        warehouse.close()
    return result


def _load(
    client: Any,
    info: StackInfo,
    new: list[str],
    tmp: Path,
    warehouse: Any,
    feed: Feed,
    result: FeedResult,
    clock: _Clock,
) -> None:
    from glue import transforms
    from tools.analytics.spark import get_spark

    with clock("copy"):
        staged = copy_objects(client, info.bucket_name, new, tmp / "in")
        sources_file = tmp / "sources.txt"
        sources_file.write_text("".join(s + "\n" for s in staged.sources))
    with clock("spark_start"):
        spark = get_spark()
    with clock("transform"):
        lines = spark.read.schema("source STRING, value STRING").json([str(f) for f in staged.files])
        # Two cheap passes over the local copy beat caching: Spark's cache build compiles slowly for wide rows.
        validated = transforms.validate(transforms.parse_lines(lines, feed.table), feed.table)
        rejects = [
            {"source": r[transforms.SOURCE], "reason": r[transforms.REASON], "record": r[transforms.VALUE]}
            for r in transforms.rejected_rows(validated).collect()
        ]
        batch_dir = tmp / "batch"
        transforms.for_staging(validated, feed.table).write.mode("overwrite").parquet(str(batch_dir))
    result.read = staged.records
    result.quarantined = len(rejects)
    has_rows = any(batch_dir.glob("*.parquet"))
    with clock("merge"):
        _staged, merged = warehouse.load(
            Batch(str(batch_dir / "*.parquet") if has_rows else None, rejects, sources_file), table=feed.table
        )
    result.loaded = result.read - result.quarantined
    result.merged = merged
    with clock("quarantine"):
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        write_quarantine(client, info.bucket_name, run_id, rejects)


class _Clock:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    def __call__(self, name: str) -> _Timer:
        return _Timer(self.timings, name)


class _Timer:
    def __init__(self, timings: dict[str, float], name: str):
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.start


def warehouse_counts(
    warehouse_url: str | None = None, *, ticket_ids: Collection[str] | None = None
) -> dict[str, int]:
    """Rows in the warehouse and quarantined archive records (for `tms demo`). With `ticket_ids`,
    `warehouse_rows` counts those tickets' rows and `warehouse_total_rows` every row."""
    warehouse = open_warehouse(warehouse_url)
    try:
        counts = warehouse.counts()
        if ticket_ids is None:
            return counts
        wanted = set(ticket_ids)
        _, rows = warehouse.query("SELECT ticket_id FROM tickets")
        return {
            "warehouse_rows": sum(1 for (ticket_id,) in rows if ticket_id in wanted),
            "warehouse_total_rows": counts["warehouse_rows"],
            "quarantined_rows": counts["quarantined_rows"],
        }
    finally:
        warehouse.close()


def result_dict(result: EtlResult) -> dict[str, Any]:
    """Everything about a run, timings included (for the bench)."""
    return asdict(result)
