"""The commands a user types: `tms local up` and `tms demo --json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.conftest import make_ticket

pytestmark = pytest.mark.integration
TMS = [sys.executable, "-m", "tools.cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TMS_"))}
    env["TMS_STATE_DIR"] = str(tmp_path / "state")
    return env


def test_local_up_prints_a_stack_a_plain_boto3_client_can_use_and_stops_on_sigterm(tmp_path: Path):
    proc = subprocess.Popen(
        [*TMS, "local", "up"], env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert {
            "endpoint_url",
            "region",
            "stream_name",
            "table_name",
            "bucket_name",
            "topic_arn",
            "dlq_url",
            "state_machine_arn",
        } <= set(info)
        assert info["endpoint_url"].startswith("http://127.0.0.1:")
        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name=info["region"]
        )
        kinesis = session.client("kinesis", endpoint_url=info["endpoint_url"])
        sfn = session.client("stepfunctions", endpoint_url=info["endpoint_url"])
        ticket = make_ticket()
        kinesis.put_record(
            StreamName=info["stream_name"], Data=ticket.to_record_bytes(), PartitionKey=ticket.ticketId
        )
        waiter_deadline = 120
        import time

        start = time.monotonic()
        status = None
        while time.monotonic() - start < waiter_deadline:
            found = sfn.list_executions(stateMachineArn=info["state_machine_arn"])["executions"]
            status = found[0]["status"] if found else None
            if status not in (None, "RUNNING"):
                break
            time.sleep(0.5)
        assert status == "SUCCEEDED"
        ddb = session.client("dynamodb", endpoint_url=info["endpoint_url"])
        got = ddb.get_item(TableName=info["table_name"], Key={"ticket_id": {"S": ticket.ticketId}})["Item"]
        assert got["status"]["S"] == "TRIAGED"
        assert (tmp_path / "state" / "local-stack.json").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not (tmp_path / "state" / "local-stack.json").exists()


def test_demo_json_prints_exactly_one_reconciled_json_object(tmp_path: Path):
    done = subprocess.run(
        # --no-etl: the warehouse load is test_etl_duckdb's and the chaos run's; a Spark start here doubled
        # this test's time (124 s in CI) for a count nobody asserted.
        [*TMS, "demo", "--tickets", "12", "--seed", "5", "--redeliver", "0.25", "--no-etl", "--json"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)  # the whole of stdout is one JSON object
    for key in (
        "submitted",
        "processed",
        "failed",
        "duplicates_skipped",
        "dynamodb_items",
        "s3_objects",
        "notifications",
        "dlq_messages",
        "priorities",
        "sentiments",
        "latency_ms",
        "throughput_tps",
        "elapsed_s",
    ):
        assert key in report, key
    assert report["submitted"] == report["processed"] == report["dynamodb_items"] == 12
    assert report["s3_objects"] == report["notifications"] == 12
    assert report["duplicates_skipped"] == report["records_sent"] - 12 > 0
    assert report["dlq_messages"] == 0 and report["failed"] == 0
    assert sum(report["priorities"].values()) == 12
    assert set(report["latency_ms"]) == {"p50", "p95", "p99"}
    assert "warehouse_rows" not in report  # --no-etl: nothing claims a load that did not run
    # and one ticket's life after triage, shown through the product's own paths: approved, mailed once,
    # the customer's answer appended to it
    talk = report["conversation"]
    assert talk["ok"] is True, talk
    assert talk["mails_sent"] == 1 and talk["answer"] == "appended" and talk["status"] == "CUSTOMER_REPLIED"
    assert talk["ticket_id"].startswith("TKT-") and talk["approved_by"] == "U0DEMOAGENT"


def test_demo_rejects_a_nonsense_ticket_count_with_a_clear_message(tmp_path: Path):
    done = subprocess.run(
        [*TMS, "demo", "--tickets", "0"], env=_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 2 and "must be at least 1" in done.stderr
