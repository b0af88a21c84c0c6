"""What the local stack holds survives a clean stop and a kill -9 (local/durable.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from contract import names
from local.outbox import read_outbox
from local.runtime import LocalStack
from tests.conftest import make_ticket, wait_for
from tests.integration.conftest import archive_keys, item, put

pytestmark = pytest.mark.integration
TMS = [sys.executable, "-m", "tools.cli"]


def test_a_clean_stop_keeps_tickets_archive_queues_and_schedules_and_a_due_timer_still_fires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a stack that persists under the state dir, with triaged tickets, a DLQ message and a timer
    monkeypatch.setenv(names.ENV_STATE_DIR, str(tmp_path / "state"))
    durable = tmp_path / "state" / "local"
    tickets = [
        make_ticket(subject="Invoice shows a double charge", description="We were billed twice in November."),
        make_ticket(subject="Bucket policy denies our role", description="PutObject returns AccessDenied."),
        make_ticket(subject="Lambda timeout after deploy", description="Cold starts now exceed 30 seconds."),
    ]
    with LocalStack.start(durable=durable) as stack:
        assert stack.restored_tickets is None
        put(stack, *tickets)
        stack.wait_idle()
        stack.client("sqs").send_message(QueueUrl=stack.info.dlq_url, MessageBody='{"kept": true}')
        scheduler = stack.client("scheduler")
        due = datetime.now(UTC) + timedelta(seconds=6)
        scheduler.create_schedule(
            Name="restart-timer",
            GroupName=names.SLA_SCHEDULE_GROUP,
            ScheduleExpression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": stack.info.extra[names.ENV_SLA_TARGET_ARN],
                "RoleArn": stack.info.extra[names.ENV_SLA_SCHEDULER_ROLE_ARN],
                "Input": "{}",
            },
        )
        # (the snapshot catches the first ticket claimed, as a stop in the middle of its run would)
        stack.client("dynamodb").update_item(
            TableName=stack.info.table_name,
            Key={"ticket_id": {"S": tickets[0].ticketId}},
            UpdateExpression="SET #s = :p",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "PROCESSING"}},
        )
        schedules_before = {
            s["Name"] for s in scheduler.list_schedules(GroupName=names.SLA_SCHEDULE_GROUP)["Schedules"]
        }

    # When it starts again from what it saved
    with LocalStack.start(durable=durable) as stack:
        # Then every ticket, its archive object, the DLQ message and the schedules are there, and the
        # interrupted ticket ran again as `tms retry` runs it
        assert stack.restored_tickets == 3
        stack.wait_idle()
        assert any("-retry-" in e["name"] for e in executions_of(stack, tickets[0].ticketId))
        for t in tickets:
            got = item(stack, t.ticketId)
            assert got is not None and got["status"] == "TRIAGED"
            assert len(archive_keys(stack, t.ticketId)) == 1
        msgs = stack.client("sqs").receive_message(QueueUrl=stack.info.dlq_url).get("Messages", [])
        assert [json.loads(m["Body"]) for m in msgs] == [{"kept": True}]
        scheduler = stack.client("scheduler")
        listed = {
            s["Name"] for s in scheduler.list_schedules(GroupName=names.SLA_SCHEDULE_GROUP)["Schedules"]
        }
        assert schedules_before <= listed | {"restart-timer"} and "restart-timer" in schedules_before
        # and the pending timer fires, once, in the new process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            f.name == "restart-timer" for f in stack.schedules.fired
        ):
            time.sleep(0.2)
        assert [f.name for f in stack.schedules.fired].count("restart-timer") == 1
        # and the pipeline goes on: the stream's mappings read after what they had handled
        assert stack.poller.stats.records == 0
        late = make_ticket(subject="after the restart")
        put(stack, late)
        stack.wait_idle()
        assert item(stack, late.ticketId)["status"] == "TRIAGED"  # type: ignore[index]

    # And a fresh start is empty on purpose
    with LocalStack.start(durable=durable, fresh=True) as stack:
        assert stack.restored_tickets is None
        assert item(stack, tickets[0].ticketId) is None


def executions_of(stack: LocalStack, ticket_id: str) -> list[dict[str, str]]:
    """The ticket's executions, its retries included."""
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.info.state_machine_arn)
    return [e for p in pages for e in p["executions"] if e["name"].startswith(ticket_id)]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TMS_"))}
    env["TMS_STATE_DIR"] = str(tmp_path / "state")
    env["TMS_LOCAL_RETRY_WAIT_SCALE"] = "0.1"
    return {**env, **settings}


def _up(tmp_path: Path, *extra: str, **settings: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [*TMS, "local", "up", *extra],
        env=_env(tmp_path, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    assert line, proc.stderr.read()  # type: ignore[union-attr]
    return proc, json.loads(line)


def _session(info: dict[str, str]) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=info["region"])


def _wait_for(check, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_kill_9_loses_no_accepted_ticket_and_a_second_kill_9_after_triage_repeats_nothing(tmp_path: Path):
    # One scenario, three starts of `tms local up` that takes no background snapshot (only the one at
    # start): whatever survives the kills comes from the write journal.
    no_snapshots = {names.ENV_LOCAL_SNAPSHOT_INTERVAL: "3600"}
    tickets = [
        make_ticket(subject="Invoice shows a double charge", description="We were billed twice in November."),
        make_ticket(subject="Bucket policy denies our role", description="PutObject returns AccessDenied."),
        make_ticket(subject="Lambda timeout after deploy", description="Cold starts now exceed 30 seconds."),
        make_ticket(subject="crash 3"),
    ]

    # Given tickets the stream has just accepted
    proc, info = _up(tmp_path, **no_snapshots)
    try:
        kinesis = _session(info).client("kinesis", endpoint_url=info["endpoint_url"])
        resp = kinesis.put_records(
            StreamName=info["stream_name"],
            Records=[{"Data": t.to_record_bytes(), "PartitionKey": t.ticketId} for t in tickets],
        )
        assert resp["FailedRecordCount"] == 0
    finally:
        # When the process is killed at once, with no chance to save anything
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)

    def clients(info: dict[str, str]) -> tuple[Any, Any, Any]:
        session = _session(info)
        return (
            session.client("dynamodb", endpoint_url=info["endpoint_url"]),
            session.client("s3", endpoint_url=info["endpoint_url"]),
            session.client("sqs", endpoint_url=info["endpoint_url"]),
        )

    def status(ddb: Any, ticket_id: str) -> str | None:
        got = ddb.get_item(TableName=info["table_name"], Key={"ticket_id": {"S": ticket_id}})
        return got.get("Item", {}).get("status", {}).get("S")

    def archived(s3: Any, ticket_id: str) -> int:
        listed = s3.list_objects_v2(Bucket=info["bucket_name"], Prefix=names.ARCHIVE_PREFIX)
        return sum(1 for o in listed.get("Contents", []) if ticket_id in o["Key"])

    # Then a restart brings every ticket to TRIAGED, each with one Slack post and one archive object
    proc, info = _up(tmp_path, **no_snapshots)
    try:
        ddb, s3, sqs = clients(info)
        _wait_for(
            lambda: all(status(ddb, t.ticketId) == "TRIAGED" and archived(s3, t.ticketId) for t in tickets)
        )
        _wait_for(lambda: all(read_outbox(info["slack_outbox"]).triaged[t.ticketId] for t in tickets))
        for t in tickets:
            keys = [
                o["Key"]
                for o in s3.list_objects_v2(Bucket=info["bucket_name"]).get("Contents", [])
                if t.ticketId in o["Key"]
                and not o["Key"].startswith(
                    (names.LIFECYCLE_PREFIX, names.MANIFEST_PREFIX, names.INPUTS_PREFIX)
                )
            ]
            assert len(keys) == 1, keys
        # and a message on the dead-letter queue, which only the journal holds
        sqs.send_message(QueueUrl=info["dlq_url"], MessageBody='{"kept": true}')
    finally:
        # When it is killed again after the tickets were triaged, posted and archived
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)

    # Then the next start has every ticket as it was, archived once, posted once, and the DLQ message
    proc, info = _up(tmp_path, **no_snapshots)
    try:
        ddb, s3, sqs = clients(info)
        time.sleep(3)  # a redelivered record or a re-driven workflow would post again by now
        for t in tickets:
            assert status(ddb, t.ticketId) == "TRIAGED"
            assert archived(s3, t.ticketId) == 1
            assert read_outbox(info["slack_outbox"]).triaged[t.ticketId] == 1, t.ticketId
        got = sqs.receive_message(QueueUrl=info["dlq_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert [m["Body"] for m in got.get("Messages", [])] == ['{"kept": true}']
        sfn = _session(info).client("stepfunctions", endpoint_url=info["endpoint_url"])
        assert sfn.list_executions(stateMachineArn=info["state_machine_arn"])["executions"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "state restored: 4 tickets" in err

    # And `tms local reset` refuses without --yes, then deletes; the next start is empty
    env = _env(tmp_path)
    refused = subprocess.run([*TMS, "local", "reset"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    done = subprocess.run([*TMS, "local", "reset", "--yes"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "deleted" in done.stderr
    assert not (tmp_path / "state" / "local" / "snapshot.pickle").exists()


def test_a_triaged_ticket_whose_post_never_happened_is_driven_again_at_restart_and_posted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a durable stack left with a TRIAGED ticket that was never posted: what a process killed between
    # RecordTriaged and the notifier leaves (made here by undoing the post: its claim and its outbox line)
    monkeypatch.setenv(names.ENV_STATE_DIR, str(tmp_path / "state"))
    durable = tmp_path / "state" / "local"
    ticket = make_ticket(subject="Invoice shows a double charge", description="We were billed twice.")
    with LocalStack.start(durable=durable) as stack:
        put(stack, ticket)
        stack.wait_idle()
        outbox = Path(stack.info.slack_outbox)
        # the notifier posts asynchronously after TRIAGED: as soon as it did (it slept 1.5 s)
        wait_for(lambda: read_outbox(outbox).triaged[ticket.ticketId], 30, "the triaged post")
        assert read_outbox(outbox).triaged[ticket.ticketId] == 1
        stack.client("dynamodb").update_item(
            TableName=stack.info.table_name,
            Key={"ticket_id": {"S": ticket.ticketId}},
            UpdateExpression="REMOVE slack_posted, #c",
            ExpressionAttributeNames={"#c": "slack_claim:triaged"},
        )
        outbox.write_text("")
        assert item(stack, ticket.ticketId)["status"] == "TRIAGED"  # type: ignore[index]

    # When the stack starts again
    with LocalStack.start(durable=durable) as stack:
        stack.wait_idle()
        time.sleep(1.5)  # the notifier posts asynchronously after TRIAGED

        # Then the ticket ran again and was posted exactly once
        assert item(stack, ticket.ticketId)["status"] == "TRIAGED"  # type: ignore[index]
        assert read_outbox(stack.info.slack_outbox).triaged[ticket.ticketId] == 1
        assert sum("-retry-" in e["name"] for e in executions_of(stack, ticket.ticketId)) == 1
