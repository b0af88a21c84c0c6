"""The local scheduler fires due one-time schedules through the Scheduler API, once, and deletes them as
`ActionAfterCompletion: DELETE` asks; schedules not yet due, or deleted before they are due, never fire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3

from pipeline.local.scheduler import ScheduleRunner

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
