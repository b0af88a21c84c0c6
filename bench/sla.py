"""SLA timers benchmark on the embedded local stack: do warnings and breaches fire once, on time, and never
for answered tickets?

    .venv/bin/python bench/sla.py [--sla 30s] [--pipeline-tickets 20] [--armed 1000]

1. Pipeline run: tickets through the real workflow with every priority's target set to --sla (as
   TMS_SLA_HIGH=30s would); every other ticket is approved as soon as it is posted, through the bot's own
   adapters (the conditional write that records the first response, then the timer function told to delete
   the schedules). Left-alone tickets must get exactly one warning and one breach, approved ones neither.
2. Load run: --armed tickets armed through the timer function (the workflow's ArmSlaTimers task input),
   each due --sla after it is armed (so due times spread over the time arming takes), half of them answered
   at once. Expect 0 missed, 0 false, 0 duplicate alerts.

Alerts are counted where people see them: the Slack posts (the local outbox) and the escalation emails
(a queue subscribed to the escalation topic). Lateness = when the timer function stamped the firing minus the
schedule's at() second (the local scheduler's accuracy), and minus the exact due instant (adds the up-to-1-s
rounding up of at()). Local figures measure this machine, not AWS (which fires within about a minute).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sla", default="30s")
    parser.add_argument("--pipeline-tickets", type=int, default=20)
    parser.add_argument("--armed", type=int, default=1000)
    args = parser.parse_args()

    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    state = Path(tempfile.mkdtemp(prefix="tms-bench-sla-"))
    os.environ.setdefault("TMS_STATE_DIR", str(state))

    from bot.adapters.sla import LambdaSlaNotifier
    from bot.adapters.ticket_store import DynamoTicketStore
    from bot.logic import actions
    from contract import names
    from contract.models import Customer, Priority, SlaArm, Source, TicketData, TicketSubmitted
    from local.runtime import LocalStack
    from pipeline.domain.sla import SlaPolicy, at_expression, parse_at, parse_duration

    env = {f"{names.ENV_SLA_PREFIX}{p.value}": args.sla for p in Priority}
    outbox = state / "outbox.jsonl"
    with LocalStack.start(outbox=outbox, extra_env=env) as stack:
        ddb = stack.client("dynamodb")
        store = DynamoTicketStore(stack.info.table_name, ddb)
        sla = LambdaSlaNotifier(stack.info.extra[names.ENV_SLA_FUNCTION], stack.client("lambda"))

        late_answers: set[str] = set()

        def answer(ticket_id: str) -> None:
            # The approval (the bot's conditional write), then what the mailer does once the reply is sent:
            # the timer function records the first response and deletes the timers.
            now = datetime.now(UTC)
            item = store.apply(ticket_id, actions.approve("U0BENCH", now, 0))
            if item.get("sla_warn_at") and _ts(item["sla_warn_at"]) <= now:
                late_answers.add(ticket_id)  # the pipeline was slower than the warning: not "in time"
            sla.first_response(ticket_id, now, "U0BENCH")

        # --- 1. pipeline run ------------------------------------------------------------------------
        tickets = [
            TicketSubmitted.new(
                TicketData(
                    subject=f"Production API down {i}",
                    description="Every request fails since this morning; customers cannot log in.",
                    customer=Customer(
                        first_name="Ana", last_name="Silva", full_name="Ana Silva", email="ana@example.com"
                    ),
                    product="Amazon EC2",
                    issue_type="Instance Connectivity",
                ),
                Source.API,
            )
            for i in range(args.pipeline_tickets)
        ]
        stack.client("kinesis").put_records(
            StreamName=stack.info.stream_name,
            Records=[{"Data": t.to_record_bytes(), "PartitionKey": t.ticketId} for t in tickets],
        )
        pipeline_answered: set[str] = set()
        to_answer = {t.ticketId for t in tickets[::2]}
        pending = {t.ticketId for t in tickets}
        deadline = time.monotonic() + 300
        while pending and time.monotonic() < deadline:
            for tid in sorted(pending):
                item = store.get(tid) or {}
                if item.get("slack_ts"):
                    pending.discard(tid)
                    if tid in to_answer:
                        answer(tid)
                        pipeline_answered.add(tid)
            time.sleep(0.05)
        pipeline_ids = [t.ticketId for t in tickets]

        # --- 2. load run: arm --armed tickets through the timer function --------------------------
        policy = SlaPolicy.from_env(env)
        last_due = datetime.now(UTC) + parse_duration(args.sla)
        armed_ids: list[str] = []
        armed_answered: set[str] = set()
        arm_started = time.monotonic()
        for i in range(args.armed):
            # Submitted as it is armed: due times spread over the time arming takes.
            submitted = datetime.now(UTC)
            t = TicketSubmitted.new(tickets[0].data, Source.API, now=submitted)
            command = policy.arm(t.ticketId, submitted, Priority.HIGH)
            ddb.put_item(
                TableName=stack.info.table_name,
                Item={
                    "ticket_id": {"S": t.ticketId},
                    "status": {"S": "TRIAGED"},
                    "priority": {"S": "HIGH"},
                    "subject": {"S": f"Load ticket {i}"},
                    "submitted_at": {"S": submitted.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
                    "sla_due_at": {"S": json.loads(command.model_dump_json())["sla_due_at"]},
                    "sla_warn_at": {"S": json.loads(command.model_dump_json())["sla_warn_at"]},
                },
            )
            result = stack.lambdas.invoke(
                names.FN_SLA_TIMER, SlaArm.model_validate(command).model_dump(mode="json")
            )
            if result.function_error:
                raise RuntimeError(result.payload)
            armed_ids.append(t.ticketId)
            last_due = max(last_due, command.sla_due_at)
            if i % 2 == 0:
                answer(t.ticketId)
                armed_answered.add(t.ticketId)
        arm_s = time.monotonic() - arm_started

        while datetime.now(UTC) < last_due + timedelta(seconds=5):
            time.sleep(0.5)
        stack.wait_idle(timeout=300)
        time.sleep(1)
        stack.wait_idle(timeout=300)

        posts = [json.loads(line) for line in outbox.read_text().splitlines() if line.strip()]
        escalations = [
            json.loads(m["Body"]) for m in _drain(stack, stack.info.extra["TMS_ESCALATION_TAP_URL"])
        ]
        items = {tid: store.get(tid) or {} for tid in pipeline_ids + armed_ids}
        scheduler_fired = len(stack.schedules.fired)
        leftover = stack.client("scheduler").list_schedules(GroupName=names.SLA_SCHEDULE_GROUP)["Schedules"]

    def count(tid: str, marker: str) -> int:
        return sum(1 for p in posts if tid in p.get("text", "") and marker in p.get("text", ""))

    def tally(ids: list[str], all_answered: set[str]) -> dict[str, Any]:
        answered = all_answered - late_answers
        warn = {tid: count(tid, ":hourglass_flowing_sand:") for tid in ids}
        breach = {tid: count(tid, "SLA breached") for tid in ids}
        email = {tid: sum(1 for e in escalations if tid in e.get("Message", "")) for tid in ids}
        alone = [t for t in ids if t not in all_answered]
        return {
            "left alone": len(alone),
            "answered in time (before the warning)": len(answered),
            "answered after the warning (excluded)": len(all_answered & late_answers),
            "left alone: exactly 1 warning + 1 breach + 1 email": sum(
                1 for t in alone if warn[t] == breach[t] == email[t] == 1
            ),
            "missed (left alone, no breach)": sum(1 for t in alone if breach[t] == 0),
            "false (answered, any alert)": sum(1 for t in answered if warn[t] or breach[t] or email[t]),
            "duplicate warnings": sum(1 for t in ids if warn[t] > 1),
            "duplicate breaches": sum(1 for t in ids if breach[t] > 1),
        }

    late_sched: list[float] = []
    late_exact: list[float] = []
    for item in items.values():
        armed_at = _ts(item["processed_at"]) if item.get("processed_at") else None
        for fired, due in (("sla_warned_at", "sla_warn_at"), ("sla_breached_at", "sla_due_at")):
            if item.get(fired) and item.get(due):
                exact = _ts(item[due])
                if armed_at is not None and armed_at >= exact:
                    continue  # armed after it was due (slow triage): that lateness is the pipeline's
                scheduled = parse_at(at_expression(exact))
                assert scheduled is not None
                late_sched.append((_ts(item[fired]) - scheduled).total_seconds())
                late_exact.append((_ts(item[fired]) - exact).total_seconds())

    rows: list[tuple[str, str]] = [("SLA target (every priority)", args.sla)]
    for title, ids, answered in (
        (f"pipeline run ({len(pipeline_ids)} tickets)", pipeline_ids, pipeline_answered),
        (f"load run ({len(armed_ids)} armed, due over {arm_s:.0f} s)", armed_ids, armed_answered),
    ):
        rows.append((f"-- {title}", ""))
        rows += [(f"  {k}", str(v)) for k, v in tally(ids, answered).items()]
    rows += [
        ("arming 1 ticket (2 schedules), mean", f"{arm_s / max(1, len(armed_ids)) * 1000:.1f} ms"),
        ("schedules fired by the local scheduler", str(scheduler_fired)),
        ("schedules left in the group", str(len(leftover))),
        ("lateness vs at() second p50 / p99 / max", _q(late_sched)),
        ("lateness vs exact due p50 / p99 / max", _q(late_exact)),
    ]

    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  -----")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _q(values: list[float]) -> str:
    from tools.demo import percentile

    if not values:
        return "-"
    return (
        f"{percentile(values, 50):.2f} s / {percentile(values, 99):.2f} s / {max(values):.2f} s"
        f" ({len(values)} firings)"
    )


def _drain(stack: Any, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        out += msgs
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


if __name__ == "__main__":
    raise SystemExit(main())
