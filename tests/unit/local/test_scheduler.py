"""The local scheduler fires due one-time schedules through the Scheduler API, once, and deletes them as
`ActionAfterCompletion: DELETE` asks; schedules not yet due, or deleted before they are due, never fire."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3

from local.scheduler import RateRunner, ScheduleRunner

GROUP = "tms-sla"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:tms-sla-timer"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _create(scheduler, name: str, at: datetime, action: str = "DELETE") -> None:
    scheduler.create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=f"at({at:%Y-%m-%dT%H:%M:%S})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": TARGET,
            "RoleArn": "arn:aws:iam::123456789012:role/s",
            "Input": json.dumps({"n": name}),
        },
        ActionAfterCompletion=action,
    )


def test_due_schedules_fire_once_and_are_deleted_and_future_ones_wait(offline_aws):
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.create_schedule_group(Name=GROUP)
    _create(scheduler, "due", T0)
    _create(scheduler, "later", T0 + timedelta(seconds=30))
    _create(scheduler, "cancelled", T0)
    submitted: list[tuple[str, dict]] = []
    now = [T0 - timedelta(seconds=1)]
    runner = ScheduleRunner(
        scheduler, GROUP, lambda arn, event: submitted.append((arn, event)), clock=lambda: now[0]
    )

    assert runner.tick() == 0  # nothing is due a second early
    scheduler.delete_schedule(Name="cancelled", GroupName=GROUP)  # a first response deleted it
    now[0] = T0
    assert runner.tick() == 1
    assert runner.tick() == 0

    assert submitted == [(TARGET, {"n": "due"})]
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    assert names == ["later"]
    assert runner.fired[0].name == "due" and runner.fired[0].due == T0


class _Counting:
    """The scheduler client, counting the group listings the runner makes."""

    def __init__(self, client):
        self._client = client
        self.listings = 0

    def get_paginator(self, operation):
        if operation == "list_schedules":
            self.listings += 1
        return self._client.get_paginator(operation)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_an_announced_schedule_is_read_at_once_without_listing_the_group_again(offline_aws):
    client = boto3.client("scheduler", region_name="us-east-1")
    client.create_schedule_group(Name=GROUP)
    scheduler = _Counting(client)
    submitted: list[tuple[str, dict]] = []
    now = [T0 - timedelta(seconds=1)]
    runner = ScheduleRunner(
        scheduler,
        GROUP,
        lambda arn, event: submitted.append((arn, event)),
        clock=lambda: now[0],
        writes_announced=True,
        announced_list_interval_s=3600,
    )
    passes = [0]
    fire_due = runner.fire_due

    def counted_fire_due() -> None:
        fire_due()
        passes[0] += 1

    runner.fire_due = counted_fire_due  # type: ignore[method-assign]
    runner.start()
    try:
        assert _wait_for(lambda: scheduler.listings == 1)  # the group as it was at the start
        _create(client, "due", T0)
        _create(client, "cancelled", T0)
        runner.notify_write(GROUP, "due")
        runner.notify_write(GROUP, "cancelled")
        runner.notify_write("another-group", "due")  # not this runner's group: ignored
        assert _wait_for(lambda: set(runner._known) == {"due", "cancelled"})
        client.delete_schedule(Name="cancelled", GroupName=GROUP)
        runner.notify_write(GROUP, "cancelled")
        assert _wait_for(lambda: set(runner._known) == {"due"})
        now[0] = T0
        assert _wait_for(lambda: submitted == [(TARGET, {"n": "due"})])
        seen = passes[0]
        assert _wait_for(lambda: passes[0] >= seen + 3)  # three more firing passes over the index
        assert submitted == [(TARGET, {"n": "due"})]  # once
        assert scheduler.listings == 1
    finally:
        runner.stop()


def test_without_announcements_the_group_is_listed_every_poll(offline_aws):
    client = boto3.client("scheduler", region_name="us-east-1")
    client.create_schedule_group(Name=GROUP)
    scheduler = _Counting(client)
    runner = ScheduleRunner(scheduler, GROUP, lambda arn, event: None, poll_interval_s=0.05)
    runner.start()
    try:
        _create(client, "later", T0 + timedelta(days=1))
        assert _wait_for(lambda: "later" in runner._known)  # found by listing: no one announced it
        assert _wait_for(lambda: scheduler.listings >= 3)  # and the group is listed again and again
    finally:
        runner.stop()


def test_the_endpoint_announces_every_schedule_written_and_deleted(offline_aws):
    from local.moto import emulation, patching

    patching.apply(emulation.SCHEDULE_WRITES)
    heard: list[tuple[str, str]] = []
    emulation.watch_schedules(lambda group, name: heard.append((group, name)))
    try:
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)
        _create(client, "a", T0)
        client.update_schedule(
            Name="a",
            GroupName=GROUP,
            ScheduleExpression=f"at({T0 + timedelta(hours=1):%Y-%m-%dT%H:%M:%S})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": TARGET, "RoleArn": "arn:aws:iam::123456789012:role/s"},
        )
        client.delete_schedule(Name="a", GroupName=GROUP)
        client.create_schedule(
            Name="b",
            ScheduleExpression=f"at({T0:%Y-%m-%dT%H:%M:%S})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": TARGET, "RoleArn": "arn:aws:iam::123456789012:role/s"},
        )
    finally:
        emulation.watch_schedules(None)
    assert heard == [(GROUP, "a"), (GROUP, "a"), (GROUP, "a"), ("default", "b")]


def test_a_rate_schedule_first_runs_one_interval_after_the_start_then_every_interval() -> None:
    # Given a rate schedule of 0.2 s (kb-sync's is contract/defaults.KB_SYNC_INTERVAL_MINUTES)
    started = time.monotonic()
    calls: list[float] = []

    def invoke(function: str, event: object) -> SimpleNamespace:
        calls.append(time.monotonic() - started)
        return SimpleNamespace(function_error=None, payload=b"{}")

    runner = RateRunner(invoke=invoke, function="kb-sync", interval_s=0.2)

    # When it runs for about 0.7 s
    runner.start()
    time.sleep(0.7)
    runner.stop()

    # Then nothing ran at the start (a new rate schedule fires one interval later), and then every interval
    assert 2 <= runner.runs <= 3 and calls[0] >= 0.2
    assert runner.failures == 0


def test_a_failed_run_goes_to_the_dlq_and_the_schedule_goes_on(offline_aws: None) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="kb-sync-dlq")["QueueUrl"]
    results = iter(
        [SimpleNamespace(function_error="Unhandled", payload=b'{"errorType": "KnowledgeBaseConflictError"}')]
    )

    runner = RateRunner(
        invoke=lambda f, e: next(results, SimpleNamespace(function_error=None, payload=b"{}")),
        function="kb-sync",
        interval_s=60,
        sqs=sqs,
        dlq_url=url,
    )
    runner.run_once()
    runner.run_once()

    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert body["responsePayload"] == {"errorType": "KnowledgeBaseConflictError"}
    assert (runner.runs, runner.failures) == (2, 1)
