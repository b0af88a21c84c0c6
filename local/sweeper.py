"""The local retention sweeper: moto stores TTL attributes and lifecycle rules but never expires anything, so
the local stack deletes what its retention says is due, as DynamoDB TTL, S3 lifecycle rules and (on AWS) the
warehouse retention schedule (infra/components/retention.py) would.

- table: items whose TTL attribute (`expires_at`, epoch seconds) has passed: ticket items (stamped at
  triage, or when the ticket ends FAILED, from `retention.tickets`) and rate-limit counters;
- bucket: objects under the retained prefixes (contract/erasure.py RETAINED_PREFIXES) last written longer ago
  than their retention, every version (the local stack keeps no noncurrent window);
- warehouse: rows processed (tickets) or changed (ticket_lifecycle) longer ago than `retention.warehouse`:
  the DELETEs of contract/erasure.py RETAINED_TABLES, which Redshift's schedule runs too.

Retention comes from TMS_RETENTION_<STORE> (days, fractions allowed: tests use seconds), else
contract/defaults.py RETENTION_DAYS. It sweeps once at start, then every `interval_s`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contract import defaults, names
from contract.erasure import RETAINED_PREFIXES

log = logging.getLogger("tms.local.sweeper")
SWEEP_INTERVAL_S = 3600.0


def retention_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, timedelta]:
    """Each store's retention: TMS_RETENTION_<STORE> days, else the default."""
    out = {}
    for store, days in defaults.RETENTION_DAYS.items():
        raw = environ.get(f"{names.ENV_RETENTION_PREFIX}{store.upper()}")
        out[store] = timedelta(days=float(raw) if raw else days)
    return out


@dataclass
class Sweeper:
    """Deletes what is past its retention on the local stack."""

    dynamodb: Any
    s3: Any
    table: str
    bucket: str
    retention: dict[str, timedelta] = field(default_factory=retention_from_env)
    # Opens the local warehouse (None: no warehouse sweep); closed after each sweep, so `tms etl` and
    # `tms customer forget` in other processes find the DuckDB file free between sweeps.
    warehouse: Callable[[], Any] | None = None
    interval_s: float = SWEEP_INTERVAL_S
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    swept: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep now, then every interval, in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="tms-local-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:  # the endpoint is going away or the warehouse is busy: next round
                if not self._stop.is_set():
                    log.warning("retention sweep failed; retrying at the next interval", exc_info=True)
            self._stop.wait(self.interval_s)

    def sweep(self) -> dict[str, int]:
        """One pass over every store; what it deleted per store (also added to `swept`)."""
        now = self.clock()
        done = {"table": self._sweep_table(now), "bucket": self._sweep_bucket(now)}
        if self.warehouse is not None:
            done.update(self._sweep_warehouse(now - self.retention["warehouse"]))
        for k, v in done.items():
            self.swept[k] = self.swept.get(k, 0) + v
        return done

    def _sweep_table(self, now: datetime) -> int:
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="#ttl <= :now",
            ExpressionAttributeNames={"#ttl": names.TABLE_TTL_ATTR, "#k": "ticket_id"},
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            ProjectionExpression="#k",
        )
        keys = [i["ticket_id"] for p in pages for i in p.get("Items", [])]
        for key in keys:
            self.dynamodb.delete_item(TableName=self.table, Key={"ticket_id": key})
        return len(keys)

    def _sweep_bucket(self, now: datetime) -> int:
        deleted = 0
        for _rule, prefix, setting in RETAINED_PREFIXES:
            cutoff = now - self.retention[setting]
            versions: dict[str, list[dict[str, Any]]] = {}
            pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    versions.setdefault(v["Key"], []).append(v)
            for key, vs in versions.items():
                if max(v["LastModified"] for v in vs) > cutoff:
                    continue
                for v in vs:
                    self.s3.delete_object(Bucket=self.bucket, Key=key, VersionId=v["VersionId"])
                deleted += 1
        return deleted

    def _sweep_warehouse(self, cutoff: datetime) -> dict[str, int]:
        assert self.warehouse is not None  # noqa: S101 - the caller checked
        wh = self.warehouse()
        try:
            return dict(wh.sweep(cutoff.astimezone(UTC).replace(tzinfo=None)))
        finally:
            wh.close()
