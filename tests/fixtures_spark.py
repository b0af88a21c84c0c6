"""Shared fixtures and builders for the analytics tests: one SparkSession per test process, and archive
records shaped exactly like the pipeline writes them (`ProcessedRecord.model_dump_json()`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contract.models import CROCKFORD_ALPHABET, Priority, ProcessedRecord, SentimentLabel

BASE_TIME = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
PRODUCTS = ("Billing", "Mobile App", "Web Portal", "API")
ISSUES = ("Login", "Payment", "Performance", "Bug")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The process-wide local SparkSession (the ETL runner reuses the same one)."""
    from tools.analytics.spark import get_spark

    yield get_spark()


def ticket_id(n: int, day: datetime = BASE_TIME) -> str:
    """A valid, deterministic ticket id for record number `n`."""
    chars = []
    for _ in range(10):
        n, r = divmod(n, 32)
        chars.append(CROCKFORD_ALPHABET[r])
    return f"TKT-{day:%Y%m%d}-{''.join(reversed(chars))}"


def record(n: int, *, processed_delay: float = 30.0, **changes: Any) -> ProcessedRecord:
    """A valid ProcessedRecord; `changes` override fields."""
    submitted = BASE_TIME + timedelta(minutes=n % 600, days=n % 3)
    fields: dict[str, Any] = {
        "ticket_id": ticket_id(n, submitted),
        "submitted_at": submitted,
        "customer_first_name": "Ada",
        "customer_last_name": "Lovelace",
        "customer_full_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "product": PRODUCTS[n % len(PRODUCTS)],
        "issue_type": ISSUES[n % len(ISSUES)],
        "subject": f"Problem number {n}",
        "description": "It does not work as expected. Please help.",
        "response_text": f"Thanks for ticket {ticket_id(n, submitted)}; we are on it.",
        "sentiment": list(SentimentLabel)[n % 4],
        "sentiment_score_mixed": 0.1,
        "sentiment_score_negative": 0.2,
        "sentiment_score_neutral": 0.3,
        "sentiment_score_positive": 0.4,
        "priority": list(Priority)[n % 3],
        "priority_reasoning": "Customer impact assessed from the description.",
        "processed_at": submitted + timedelta(seconds=processed_delay),
        "company": "Analytical Engines Ltd",
        "model_id": "offline-deterministic-v1",
    }
    fields.update(changes)
    return ProcessedRecord(**fields)


def line(rec: ProcessedRecord) -> str:
    """The archive line for a record (what S3 holds)."""
    return rec.model_dump_json()


def _postgres_bin(name: str) -> str:
    import shutil
    from pathlib import Path

    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    pytest.fail(
        f"PostgreSQL server binary {name!r} not found: install the distribution's packages "
        "(Debian: apt-get install postgresql) to run the @pytest.mark.postgres tests"
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free loopback port; its URL. Fails (never skips) without binaries."""
    import os
    import pwd
    import socket
    import subprocess

    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    import shutil
    import tempfile
    from pathlib import Path

    # Not under pytest's tmp dir: that one is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="tms-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, check=False)
        if done.returncode:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr or done.stdout}")

    run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- An archive bucket like the pipeline leaves it, and the end-to-end scenario -------------------------

BUCKET = "tms-etl-test-archive"


def put_line(s3: Any, key: str, body: str, *, marker: bool = True) -> None:
    """Write one archive object as the pipeline does: the object, then its manifest marker (contract/manifests.py).
    `marker=False` writes it as an archive from before markers existed."""
    from contract import names
    from pipeline.adapters.aws import ManifestedStore, S3ArchiveStore

    store = S3ArchiveStore(BUCKET, s3)
    if not marker:
        store.put(key, body)
        return
    feed = names.LIFECYCLE_PREFIX if key.startswith(names.LIFECYCLE_PREFIX) else names.ARCHIVE_PREFIX
    ManifestedStore(store, feed).put(key, body)


def seed_archive(s3: Any, valid: int = 12) -> dict[str, int]:
    """Valid rows, a duplicated record, and four kinds of bad rows; the expected counts."""
    import json as _json

    s3.create_bucket(Bucket=BUCKET)
    for n in range(valid):
        rec = record(n)
        put_line(s3, rec.archive_key(), line(rec))
    dup = record(0)
    # The same record twice: an object holding it twice (a retried append) and a stray copy.
    put_line(s3, dup.archive_key().replace(".json", "-copy.json"), line(dup) + "\n" + line(dup) + "\n")
    good = _json.loads(line(record(100)))
    day = "tickets/submitted_date=2025-03-14"
    put_line(s3, f"{day}/malformed.json", '{"ticket_id": "TKT-20250314-0000000001", ')
    put_line(s3, f"{day}/bad-enum.json", _json.dumps({**good, "priority": "P1"}))
    put_line(s3, f"{day}/too-long.json", _json.dumps({**good, "subject": "€" * 100}))  # 300 bytes > 256
    put_line(s3, f"{day}/missing.json", _json.dumps({k: v for k, v in good.items() if k != "product"}))
    return {"read": valid + 2 + 4, "quarantined": 4, "tickets": valid}


def stack_info(bucket: str = BUCKET) -> Any:
    """A StackInfo for the in-process moto S3 (no endpoint: moto intercepts boto3)."""
    from local.stack import StackInfo

    return StackInfo(
        endpoint_url=None,
        region="us-east-1",
        stream_name="s",
        table_name="t",
        bucket_name=bucket,
        topic_arn="",
        dlq_url="",
        state_machine_arn="",
    )


def assert_no_duplicate_tickets(warehouse_url: str) -> int:
    """The warehouse holds each ticket_id once; returns the row count."""
    from tools.analytics.warehouse import open_warehouse

    wh = open_warehouse(warehouse_url)
    try:
        _, rows = wh.query("SELECT COUNT(*), COUNT(DISTINCT ticket_id) FROM tickets")
    finally:
        wh.close()
    total, distinct = rows[0]
    assert total == distinct
    return int(total)


def ticket_priority(warehouse_url: str, ticket: str) -> str:
    """The stored priority of one ticket."""
    from tools.analytics.warehouse import open_warehouse

    wh = open_warehouse(warehouse_url)
    try:
        _, rows = wh.query(f"SELECT priority FROM tickets WHERE ticket_id = '{ticket}'")  # noqa: S608
    finally:
        wh.close()
    return str(rows[0][0])


def run_scenario(warehouse_url: str) -> None:
    """Seed -> load -> rerun -> re-process one ticket and replay an older one -> full reload."""
    import boto3
    from moto import mock_aws

    from contract.clients import clear_cache as clear_aws_clients
    from tools.analytics import run_etl, warehouse_counts

    clear_aws_clients()  # clients must be built inside the mock
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        expected = seed_archive(s3)
        info = stack_info()

        first = run_etl(info, warehouse_url=warehouse_url)
        assert first.read == expected["read"]
        assert first.read == first.loaded + first.quarantined
        assert first.quarantined == expected["quarantined"]
        assert first.merged == expected["tickets"]
        assert assert_no_duplicate_tickets(warehouse_url) == expected["tickets"]
        assert warehouse_counts(warehouse_url) == {
            "warehouse_rows": expected["tickets"],
            "quarantined_rows": expected["quarantined"],
        }
        rejects = s3.list_objects_v2(Bucket=BUCKET, Prefix="quarantine/")["Contents"]
        body = s3.get_object(Bucket=BUCKET, Key=rejects[0]["Key"])["Body"].read().decode()
        assert "priority: not one of" in body and "subject: 300 bytes, over 256" in body

        second = run_etl(info, warehouse_url=warehouse_url)
        assert second.counts() == {"read": 0, "loaded": 0, "merged": 0, "quarantined": 0}

        newer = record(
            5, processed_delay=600.0, priority="HIGH" if record(5).priority != "HIGH" else "NORMAL"
        )
        put_line(s3, newer.archive_key(), line(newer))
        older = record(6, processed_delay=1.0, priority="HIGH" if record(6).priority != "HIGH" else "NORMAL")
        put_line(s3, older.archive_key().replace(".json", "-replay.json"), line(older))
        third = run_etl(info, warehouse_url=warehouse_url)
        assert (third.read, third.loaded, third.merged, third.quarantined) == (2, 2, 1, 0)
        assert ticket_priority(warehouse_url, newer.ticket_id) == newer.priority
        assert ticket_priority(warehouse_url, older.ticket_id) == record(6).priority

        full = run_etl(info, full=True, warehouse_url=warehouse_url)
        assert full.read == expected["read"] + 1
        assert full.merged == 0
        assert assert_no_duplicate_tickets(warehouse_url) == expected["tickets"]


# --- The lifecycle feed: lifecycle/ records next to the archive, into ticket_lifecycle ------------------


def lifecycle(n: int, version: int, seq: int, **changes: Any) -> Any:
    """A valid TicketLifecycle of record(n)'s ticket (due one hour after its submission)."""
    from contract.models import TicketLifecycle, lifecycle_revision

    rec = record(n)
    fields: dict[str, Any] = {
        "ticket_id": rec.ticket_id,
        "revision": lifecycle_revision(version, str(seq)),
        "version": version,
        "status": "TRIAGED",
        "changed_at": rec.processed_at + timedelta(seconds=seq),
        "priority": rec.priority,
        "sla_due_at": rec.submitted_at + timedelta(hours=1),
    }
    fields.update(changes)
    return TicketLifecycle(**fields)


def run_lifecycle_scenario(warehouse_url: str) -> None:
    """Tickets, then their lifecycle records (out of order, one redelivered, one bad) -> the latest state of
    each ticket in ticket_lifecycle, and v_sla_attainment counting answered, breached and pending ones."""
    import boto3
    from moto import mock_aws

    from contract.clients import clear_cache as clear_aws_clients
    from tools.analytics import run_etl
    from tools.analytics.warehouse import open_warehouse

    clear_aws_clients()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for n in range(3):
            rec = record(n)
            put_line(s3, rec.archive_key(), line(rec))
        answered_at = record(0).submitted_at + timedelta(minutes=20)
        records = [
            lifecycle(0, 0, 1),
            lifecycle(
                0,
                2,
                3,
                status="APPROVED",
                assignee="U0AGENT",
                approved_by="U0AGENT",
                approved_at=answered_at,
                first_response_at=answered_at,
                first_response_by="U0AGENT",
            ),
            lifecycle(0, 1, 2, assignee="U0AGENT"),  # older, listed after the newer one: it must lose
            lifecycle(1, 0, 4),
            lifecycle(1, 0, 5, sla_breached=True),  # the SLA timer's write: same version, later sequence
            lifecycle(2, 0, 6),
        ]
        for rec in records:
            put_line(s3, rec.archive_key(), rec.to_json_line())
        put_line(s3, "lifecycle/TKT-bad/0.json", '{"ticket_id": "TKT-bad", "version": "x"}')

        first = run_etl(stack_info(), warehouse_url=warehouse_url)
        assert first.lifecycle.counts() == {"read": 7, "loaded": 6, "merged": 3, "quarantined": 1}
        # A redelivered record overwrites its own object with the same line and writes a new marker: it is
        # read again (the writer cannot know it is a duplicate) and the MERGE changes nothing.
        put_line(s3, records[1].archive_key(), records[1].to_json_line())
        # A replayed older record under a new key is read, and loses to the newer revision in the MERGE.
        put_line(s3, "lifecycle/replayed/old.json", records[2].to_json_line())
        again = run_etl(stack_info(), warehouse_url=warehouse_url)
        assert (again.lifecycle.read, again.lifecycle.merged) == (2, 0)

        wh = open_warehouse(warehouse_url)
        try:
            _, rows = wh.query(
                "SELECT ticket_id, status, assignee, first_response_at, sla_breached, version "
                "FROM ticket_lifecycle ORDER BY ticket_id"
            )
            by_id = {r[0]: r[1:] for r in rows}
            assert by_id[record(0).ticket_id] == (
                "APPROVED",
                "U0AGENT",
                answered_at.replace(tzinfo=None),
                False,
                2,
            )
            assert by_id[record(1).ticket_id][3] is True
            assert by_id[record(2).ticket_id][:4] == ("TRIAGED", None, None, False)
            _, view = wh.query(
                "SELECT SUM(tickets_due), SUM(answered_in_time), SUM(breached), SUM(pending) FROM v_sla_attainment"
            )
            assert tuple(int(v) for v in view[0]) == (3, 1, 1, 1)

            from tools.analytics.report import build_report

            page = build_report(wh)
            assert "SLA attainment per day, by priority" in page and page.count("<svg") == 7
            assert "First responses within SLA</div>" in page and ">50%<" in page  # 1 in time of 2 decided
        finally:
            wh.close()
