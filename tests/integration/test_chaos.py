"""The 500-ticket chaos run: faults, redeliveries and poison through the real local pipeline, reconciled.

One run (a few minutes on 2 cores) in a subprocess, exactly as a user runs `tms chaos`; the tests read its
JSON report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tools.chaos.plan import POISON_KINDS

pytestmark = [pytest.mark.integration, pytest.mark.spark]
TICKETS = 500


@pytest.fixture(scope="module")
def chaos() -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tools.cli", "chaos", "--tickets", str(TICKETS), "--seed", "7", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, (
        f"expected one JSON line on stdout, got:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    report = json.loads(lines[0])
    report["exit_code"] = proc.returncode
    return report


def test_chaos_run_loses_nothing_and_duplicates_nothing(chaos: dict[str, Any]) -> None:
    failed = [c for c in chaos["checks"] if not c["ok"]]
    evidence = {
        k: chaos.get(k)
        for k in (
            "lost_tickets",
            "duplicated_tickets",
            "slack_claimed_not_posted",
            "notifier_gave_up",
            "lambda_error_types",
        )
    }
    assert (chaos["lost"], chaos["duplicated"], failed) == (0, 0, []), evidence
    assert chaos["exit_code"] == 0
    assert chaos["submitted"] == TICKETS == chaos["triaged"] + chaos["failed_with_reason"]
    assert chaos["triaged"] == chaos["s3_objects"] == chaos["warehouse_rows"]


def test_chaos_run_really_injected_faults_replays_and_failures(chaos: dict[str, Any]) -> None:
    fired = chaos["faults_fired"]
    assert fired.get("llm_throttle", 0) > TICKETS * 0.2  # 30 % of first attempts, plus retries
    assert fired.get("pii_error", 0) and fired.get("s3_error", 0) and fired.get("dynamodb_throttle", 0)
    assert fired.get("notifier_crash", 0)
    assert chaos["redelivered"] == TICKETS // 10 and chaos["replayed_batches"] >= 1
    assert chaos["failed_with_reason"] > 0 and all(chaos["failure_reasons"])


def test_every_poison_record_is_in_the_dlq_with_its_reason_and_nothing_else_is(chaos: dict[str, Any]) -> None:
    assert chaos["poison_submitted"] >= len(POISON_KINDS)
    # Non-JSON and wrong-event records never reach the trigger (its mapping filters them, as on AWS);
    # the intake audit's unfiltered mapping dead-letters them. So every kind ends in the DLQ, once.
    assert chaos["poison_filtered"] > 0 and chaos["audit_poller"]["records"] > 0
    assert chaos["poison_in_dlq"] == chaos["poison_submitted"] == chaos["dlq_messages"]
    assert chaos["unexpected_dlq"] == 0


def test_alarms_that_should_fire_did_and_each_went_back_to_ok_in_its_slack_thread(
    chaos: dict[str, Any],
) -> None:
    assert {"tms-DlqNotEmpty", "tms-DraftReplyErrors", "tms-ExecutionsFailed"} <= set(chaos["alarms_fired"])
    assert set(chaos["alarms_expected"]) <= set(chaos["alarms_fired"])
    # Poison is rejected per record, never a crash.
    assert not {"tms-TriggerErrors", "tms-IntakeAuditErrors"} & set(chaos["alarms_fired"])
    assert set(chaos["alarms_back_to_ok"]) == set(chaos["alarms_fired"])
    # Every fired alarm opened a thread and every thread got its OK reply. How many state changes a
    # thread carries depends on timing: an alarm that flaps while its thread is open replies
    # ALARM and OK again inside it (seen: 1 thread, 3 replies), one that flaps later opens another.
    threads = chaos["alarm_threads"]
    assert set(threads) == set(chaos["alarms_fired"])
    assert all(t["opened"] >= 1 and t["replies"] >= t["opened"] for t in threads.values()), threads
