"""The chaos run's reconciliation rules, its poison and replay plans, and its Slack outbox reading."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from contract import names
from contract.errors import InvalidTicketError
from contract.models import EVENT_NAME
from local.outbox import SlackPosts, parse_outbox
from pipeline.domain.intake import parse_ticket
from tools.chaos.faults import NotifierCrashError, crash_after, expected_alarms
from tools.chaos.observe import Observed
from tools.chaos.plan import (
    POISON_KINDS,
    Poison,
    Record,
    make_poison,
    plan_redeliveries,
    poison_count,
)
from tools.chaos.reconcile import claimed_not_posted, reconcile
from tools.generator import generate_tickets

TRIAGED, FAILED = names.EVENT_TICKET_TRIAGED, names.EVENT_TICKET_FAILED
IDS = [f"TKT-20260101-{i:010d}" for i in range(5)]
POISON = [Poison("bad_json", Record("poison-bad_json-0", b"{"))]


def _healthy(ids: list[str] = IDS, failed: tuple[str, ...] = ()) -> Observed:
    """Every store holding each ticket exactly once; `failed` tickets FAILED with a reason."""
    triaged = [i for i in ids if i not in failed]
    return Observed(
        items={
            i: {"status": "FAILED", "error": "InvalidModelOutputError"}
            if i in failed
            else {"status": "TRIAGED"}
            for i in ids
        },
        executions=Counter(ids),
        s3_objects=Counter(triaged),
        notifications=Counter([(i, TRIAGED) for i in triaged] + [(i, FAILED) for i in failed]),
        warehouse=Counter(triaged),
        slack=SlackPosts(triaged=Counter(triaged), failed=Counter(failed)),
        dlq=[{"partition_key": "poison-bad_json-0", "reason": "record: not JSON"}],
    )


def _failed_checks(obs: Observed, **kw: object) -> list[str]:
    return [c.name for c in reconcile(set(IDS), POISON, obs, **kw).checks if not c.ok]  # type: ignore[arg-type]


def test_every_store_holding_each_ticket_once_reconciles() -> None:
    rec = reconcile(set(IDS), POISON, _healthy())
    assert rec.ok and (rec.lost, rec.duplicated, rec.triaged, rec.poison_in_dlq) == (0, 0, 5, 1)


def test_failed_ticket_with_reason_counts_as_accounted_for_without_an_s3_object() -> None:
    rec = reconcile(set(IDS), POISON, _healthy(failed=(IDS[0],)))
    assert rec.ok
    assert (rec.triaged, rec.failed_with_reason, rec.failure_reasons) == (
        4,
        1,
        {"InvalidModelOutputError": 1},
    )


def test_failed_ticket_without_a_reason_is_lost() -> None:
    obs = _healthy(failed=(IDS[0],))
    obs.items[IDS[0]] = {"status": "FAILED", "error": None}
    rec = reconcile(set(IDS), POISON, obs)
    assert not rec.ok and rec.lost == 1 and rec.lost_tickets == [IDS[0]]


def test_ticket_stuck_in_processing_is_lost() -> None:
    obs = _healthy()
    obs.items[IDS[1]] = {"status": "PROCESSING"}
    assert reconcile(set(IDS), POISON, obs).lost == 1


@pytest.mark.parametrize(("store", "stage"), [("s3_objects", "S3 objects"), ("warehouse", "warehouse rows")])
def test_a_ticket_missing_downstream_is_lost_at_that_stage(store: str, stage: str) -> None:
    obs = _healthy()
    del getattr(obs, store)[IDS[2]]
    rec = reconcile(set(IDS), POISON, obs)
    assert rec.lost == 1 and rec.lost_tickets == [IDS[2]] and rec.lost_by_stage == {stage: 1}


def test_a_second_slack_post_for_one_ticket_is_a_duplicate() -> None:
    obs = _healthy()
    assert obs.slack is not None
    obs.slack.triaged[IDS[3]] += 1
    rec = reconcile(set(IDS), POISON, obs)
    assert rec.duplicated == 1 and rec.duplicated_tickets == [IDS[3]] and not rec.ok


def test_a_second_archive_object_or_notification_is_a_duplicate() -> None:
    obs = _healthy()
    obs.s3_objects[IDS[0]] += 1
    obs.notifications[(IDS[1], TRIAGED)] += 1
    assert reconcile(set(IDS), POISON, obs).duplicated == 2


def test_failed_ticket_with_an_archive_object_fails_the_check() -> None:
    obs = _healthy(failed=(IDS[0],))
    obs.s3_objects[IDS[0]] = 1
    assert "FAILED tickets with an S3 object" in _failed_checks(obs)


def test_poison_missing_from_the_dlq_or_without_reason_fails() -> None:
    obs = _healthy()
    obs.dlq = [{"partition_key": "poison-bad_json-0", "reason": ""}]
    assert "poison records in the DLQ with a reason" in _failed_checks(obs)


def test_poison_the_trigger_filter_dropped_reconciles_once_the_intake_audit_dead_lettered_it() -> None:
    obs = _healthy()
    obs.dlq = [{"partition_key": "poison-bad_json-0", "reason": "record: not JSON", "stage": "intake-filter"}]
    rec = reconcile(set(IDS), POISON, obs, mapping_filter=(EVENT_NAME,), filtered=1)
    assert rec.ok and (rec.poison_in_dlq, rec.poison_filtered) == (1, 1)


def test_poison_the_trigger_filter_dropped_without_a_dead_letter_is_not_accounted_for() -> None:
    obs = _healthy()
    obs.dlq = []
    failed = _failed_checks(obs, mapping_filter=(EVENT_NAME,), filtered=1)
    assert failed == [
        "poison records in the DLQ with a reason",
        "filter-dropped poison dead-lettered by the intake audit",
    ]


def test_a_dead_letter_that_is_not_poison_fails_the_run() -> None:
    obs = _healthy()
    obs.dlq.append({"KinesisBatchInfo": {"batchSize": 3}})
    assert _failed_checks(obs) == ["DLQ messages that are not poison"]


def test_a_poison_record_that_became_a_ticket_fails_the_run() -> None:
    obs = _healthy()
    obs.items["TKT-20260101-POISON0000"] = {"status": "TRIAGED"}
    assert "records that became a ticket but were never submitted as valid" in _failed_checks(obs)


def test_missing_analytics_and_notifier_are_not_reconciled_rather_than_counted_as_lost() -> None:
    obs = _healthy()
    obs.warehouse, obs.slack = None, None
    rec = reconcile(set(IDS), POISON, obs)
    assert rec.ok and not any("warehouse" in c.name or "Slack" in c.name for c in rec.checks)


def test_an_expected_alarm_that_did_not_fire_fails_the_run() -> None:
    checks = _failed_checks(_healthy(), alarms_expected=["tms-DlqNotEmpty"], alarms_fired=[])
    assert checks == ["alarms that should have fired and did not"]


def test_expected_alarms_follow_poison_failures_and_fired_faults() -> None:
    fired = {"llm_throttle": 3, "s3_error": 1, "notifier_crash": 0}
    assert expected_alarms(fired, poison_submitted=2, failed_tickets=1) == [
        "tms-DlqNotEmpty",
        "tms-ExecutionsFailed",
        "tms-DraftReplyErrors",
        "tms-ArchiveErrors",
    ]
    assert expected_alarms({}, poison_submitted=0, failed_tickets=0) == []


def test_poison_covers_every_kind_and_intake_rejects_each_with_a_reason() -> None:
    template = generate_tickets(1, seed=3)[0].event
    poison = make_poison(poison_count(100), template, random.Random(1))
    assert {p.kind for p in poison} == set(POISON_KINDS)
    assert len({p.record.partition_key for p in poison}) == len(poison)
    for p in poison:
        with pytest.raises(InvalidTicketError) as err:
            parse_ticket(p.record.data)
        assert err.value.problems, p.kind


def test_poison_is_one_percent_but_at_least_one_of_each_kind() -> None:
    assert poison_count(100) == len(POISON_KINDS)
    assert poison_count(10_000) == 100
    assert poison_count(500, 0.0) == 0


def test_redeliveries_are_ten_percent_with_whole_batches_replayed_in_order() -> None:
    records = [Record(f"k{i}", b"x") for i in range(1000)]
    replays, batches = plan_redeliveries(records, 0.1, random.Random(5), batch=20)
    assert len(replays) == 100 and batches >= 2
    first = replays[:20]
    start = records.index(first[0])
    assert first == records[start : start + 20]


def test_outbox_posts_are_classified_by_ticket_failure_and_alarm_thread() -> None:
    lines = [
        json.dumps(
            {"channel": "tms-tickets", "text": f":large_orange_circle: [MEDIUM] {IDS[0]}: Login fails"}
        ),
        json.dumps({"channel": "tms-tickets", "text": f":x: Ticket `{IDS[1]}` failed: *X*"}),
        json.dumps({"channel": "tms-tickets", "text": f"Reply in thread for {IDS[0]}", "thread_ts": "1.0"}),
        json.dumps({"channel": "tms-alerts", "text": ":rotating_light: tms-DlqNotEmpty is ALARM"}),
        json.dumps({"channel": "tms-alerts", "text": "tms-DlqNotEmpty is OK", "thread_ts": "2.0"}),
        # an edit of the first ticket's post (its status moved): not a second announcement
        json.dumps(
            {"method": "chat.update", "channel": "tms-tickets", "ts": "1.0", "text": f"[SENT] {IDS[0]}"}
        ),
        "not json",
    ]
    posts = parse_outbox(lines, ["tms-DlqNotEmpty", "tms-Dlq"])
    assert posts.triaged == Counter({IDS[0]: 1})
    assert posts.failed == Counter({IDS[1]: 1})
    assert posts.alarm_opened == Counter({"tms-DlqNotEmpty": 1})
    assert posts.alarm_threaded == Counter({"tms-DlqNotEmpty": 1})
    assert posts.total == 5


def test_notifier_crash_happens_after_the_side_effects() -> None:
    done: list[str] = []

    def post(event: str, _ctx: object) -> str:
        done.append(event)
        return "ok"

    crashing = crash_after(post, lambda _fault: True)
    with pytest.raises(NotifierCrashError, match="notifier_crash"):
        crashing("post", None)
    assert done == ["post"]
    assert crash_after(lambda e, _c: e, lambda _fault: False)("post", None) == "post"


def test_a_post_claimed_by_the_notifier_but_missing_from_slack_is_reported() -> None:
    obs = _healthy(failed=(IDS[0],))
    assert obs.slack is not None
    obs.items[IDS[1]]["slack_posted"] = ["triaged"]
    obs.items[IDS[0]]["slack_posted"] = ["failed:m-1"]
    del obs.slack.triaged[IDS[1]]
    del obs.slack.failed[IDS[0]]
    assert claimed_not_posted(set(IDS), obs) == sorted([IDS[0], IDS[1]])
    assert reconcile(set(IDS), POISON, obs).lost == 2


def test_a_second_execution_of_a_ticket_without_a_second_effect_is_not_a_duplicate() -> None:
    # An Express workflow starts a redelivered record again; its claim ends it in AlreadyClaimed.
    obs = _healthy()
    obs.executions[IDS[0]] += 1
    rec = reconcile(set(IDS), POISON, obs)
    assert rec.ok and rec.duplicated == 0
