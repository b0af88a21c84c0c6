"""The local ETL end to end into the embedded DuckDB warehouse: archive bucket (moto) -> Spark -> MERGE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_spark import line, record, run_scenario, seed_archive, spark, stack_info  # noqa: F401

pytestmark = pytest.mark.spark


def test_archive_loads_each_ticket_once_quarantines_bad_rows_and_reruns_load_nothing(
    spark: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_scenario(f"duckdb://{tmp_path / 'wh.duckdb'}")


def test_failed_load_keeps_the_bookmark_so_the_next_run_reads_the_batch_again(
    spark: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto import mock_aws

    from contract.clients import clear_cache as clear_aws_clients
    from tools.analytics import run_etl
    from tools.analytics.warehouse import DuckDbWarehouse

    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    clear_aws_clients()
    with mock_aws():
        seed_archive(boto3.client("s3", region_name="us-east-1"), valid=3)

        def broken(self: Any, batch: Any, table: Any = None) -> Any:
            raise ConnectionError("warehouse went away")

        with monkeypatch.context() as m:
            m.setattr(DuckDbWarehouse, "load", broken)
            with pytest.raises(ConnectionError):
                run_etl(stack_info(), warehouse_url=url)

        retry = run_etl(stack_info(), warehouse_url=url)
        assert (retry.read, retry.merged, retry.quarantined) == (9, 3, 4)


def test_etl_json_prints_one_clean_object_and_report_draws_every_chart(
    spark: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import json

    import boto3
    from moto import mock_aws

    from contract import names
    from contract.clients import clear_cache as clear_aws_clients
    from tests.fixtures_spark import BUCKET
    from tools.cli import main

    monkeypatch.setenv(names.ENV_STREAM_NAME, "tms-tickets")
    monkeypatch.setenv(names.ENV_BUCKET_NAME, BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv(names.ENV_WAREHOUSE_URL, f"duckdb://{tmp_path / 'wh.duckdb'}")
    clear_aws_clients()
    with mock_aws():
        seed_archive(boto3.client("s3", region_name="us-east-1"), valid=5)
        capfd.readouterr()
        assert main(["etl", "--json"]) == 0
        out = capfd.readouterr().out
    assert json.loads(out) == {
        "read": 11,
        "loaded": 7,
        "merged": 5,
        "quarantined": 4,
        "lifecycle": {"read": 0, "loaded": 0, "merged": 0, "quarantined": 0},
    }
    assert out.count("\n") == 1

    report = tmp_path / "report.html"
    assert main(["report", "--out", str(report)]) == 0
    page = report.read_text()
    assert page.count("<svg") == 6
    for title in (
        "Priority",
        "Sentiment",
        "Volume per day",
        "products",
        "issue types",
        "submission to triage",
    ):
        assert title in page


def test_lifecycle_records_load_the_latest_state_of_each_ticket_and_feed_the_sla_view(
    spark: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.fixtures_spark import run_lifecycle_scenario

    run_lifecycle_scenario(f"duckdb://{tmp_path / 'wh.duckdb'}")


def test_an_archive_written_before_markers_loads_fully_then_runs_follow_the_markers(
    spark: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    import boto3
    from moto import mock_aws

    from contract.clients import clear_cache as clear_aws_clients
    from tests.fixtures_spark import BUCKET, put_line, ticket_priority
    from tools.analytics import run_etl

    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    clear_aws_clients()
    with mock_aws():
        # Given an archive from before manifest markers (no marker for any object)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for n in range(4):
            put_line(s3, record(n).archive_key(), line(record(n)), marker=False)

        # When tms etl first runs, Then it is a full load of all of it
        first = run_etl(stack_info(), warehouse_url=url)
        assert (first.selection, first.merged) == ("full (no bookmark)", 4)

        # Given one new ticket and an old one re-processed (same key, newer record) by the pipeline's writer
        reprocessed = record(
            2, processed_delay=900.0, priority="HIGH" if record(2).priority != "HIGH" else "NORMAL"
        )
        put_line(s3, reprocessed.archive_key(), line(reprocessed))
        put_line(s3, record(40).archive_key(), line(record(40)))

        # When it runs again, Then it reads exactly those two, from the markers
        second = run_etl(stack_info(), warehouse_url=url)
        assert second.selection == "incremental"
        assert (second.objects, second.read, second.merged) == (2, 2, 2)
        assert ticket_priority(url, reprocessed.ticket_id) == reprocessed.priority
