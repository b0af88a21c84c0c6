"""`tms chaos`: tickets through the local stack under faults, redeliveries and poison; then prove that
nothing was lost or duplicated.

Faults come only from configuration (TMS_FAULTS, read by the local adapters) and from the local runtime's
own hooks (a notifier that dies after its side effects); the domain has no chaos code path.

Reconciliation, for every valid ticket submitted:
- DynamoDB holds exactly one terminal item: TRIAGED, or FAILED with a reason (a ticket whose retries ran
  out). Anything else (no item, PROCESSING, FAILED without a reason) is lost.
- A TRIAGED ticket has exactly one S3 object, one TicketTriaged notification, one warehouse row (when
  the analytics ETL exists) and one top-level Slack post (when the notifier exists).
- A FAILED ticket has no S3 object and no warehouse row (it was never triaged: counting it there would
  hide it), and exactly one TicketFailed notification and one Slack failure post instead.
So `submitted == triaged + failed_with_reason` and `triaged == s3 == warehouse == slack ticket posts`.
Every poison record must be in the DLQ with its reason, and nothing else may be.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import names
from pipeline.errors import TmsError
from pipeline.local.outbox import SlackPosts, read_outbox
from pipeline.local.poller import MappingConfig, passes_filter
from pipeline.models import DESCRIPTION_MAX, TicketSubmitted
from pipeline.tools import ingest

# The fault mix. llm_invalid_output is added so some tickets end FAILED with a reason and the
# reconciliation of failed tickets is exercised on every run, not only when retries happen to run out.
DEFAULT_FAULTS: dict[str, float] = {
    "llm_throttle": 0.30,
    "sentiment_error": 0.05,
    "dynamodb_throttle": 0.02,
    "s3_error": 0.05,
    "slack_429": 0.05,
    "notifier_crash": 0.02,
    "llm_invalid_output": 0.005,
}
REDELIVER_FRACTION = 0.10
POISON_FRACTION = 0.01
REPLAY_BATCH = 50  # records per replayed batch (half the redeliveries are whole batches)
POISON_KINDS = (
    "bad_json",
    "wrong_event_name",
    "missing_fields",
    "oversized_description",
    "invalid_utf8",
    "empty_body",
)
POISON_KEY_PREFIX = "poison-"


class NotifierCrashError(TmsError):
    """Injected: the notifier died after its side effects, before its invocation was acknowledged."""


@dataclass(frozen=True)
class ChaosConfig:
    """One chaos run: how many tickets, which faults, how much redelivery and poison."""

    tickets: int
    seed: int = 7
    faults: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FAULTS))
    redeliver: float = REDELIVER_FRACTION
    poison: float = POISON_FRACTION
    timeout_s: float = 3600.0
    alarm_period_s: float = 15.0
    etl: bool = True

    def faults_spec(self) -> str:
        """The TMS_FAULTS value."""
        return ",".join(f"{k}:{v:g}" for k, v in self.faults.items())


# --- what is sent ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One Kinesis record: partition key and payload."""

    partition_key: str
    data: bytes


@dataclass(frozen=True)
class Poison:
    """A record that can never become a ticket, and why."""

    kind: str
    record: Record


def poison_count(tickets: int, fraction: float = POISON_FRACTION) -> int:
    """`fraction` of the tickets, and at least one of each kind."""
    return max(len(POISON_KINDS), math.ceil(tickets * fraction)) if fraction > 0 else 0


def make_poison(count: int, template: TicketSubmitted, rng: random.Random) -> list[Poison]:
    """`count` poison records cycling through every kind, built from a valid ticket's shape."""
    valid = json.loads(template.to_record_bytes())
    out = []
    for i in range(count):
        kind = POISON_KINDS[i % len(POISON_KINDS)]
        doc = json.loads(json.dumps(valid))
        doc["ticketId"] = f"{template.ticketId[:13]}{rng.randrange(36**10):010d}"[:23]
        if kind == "bad_json":
            data = json.dumps(doc).encode()[: rng.randint(10, 60)]
        elif kind == "wrong_event_name":
            doc["eventName"] = "TicketUpdated"
            data = json.dumps(doc).encode()
        elif kind == "missing_fields":
            del doc["data"]["subject"]
            del doc["data"]["customer"]["email"]
            data = json.dumps(doc).encode()
        elif kind == "oversized_description":
            doc["data"]["description"] = "x" * (DESCRIPTION_MAX + 1)
            data = json.dumps(doc).encode()
        elif kind == "invalid_utf8":
            data = json.dumps(doc).encode().replace(b'"description": "', b'"description": "\xff\xfe\xc3(', 1)
        else:
            data = b""
        out.append(Poison(kind, Record(f"{POISON_KEY_PREFIX}{kind}-{i}", data)))
    return out


def plan_redeliveries(
    records: Sequence[Record], fraction: float, rng: random.Random, batch: int = REPLAY_BATCH
) -> tuple[list[Record], int]:
    """About `fraction` of `records` again: half as whole contiguous batches replayed, half one by one.
    Returns the records to resend and the number of whole batches among them."""
    target = round(len(records) * fraction)
    if target == 0 or not records:
        return [], 0
    chosen: set[int] = set()
    out: list[Record] = []
    batches = 0
    size = max(1, min(batch, target // 2))
    while target // 2 - len(out) >= size:
        start = rng.randrange(0, max(1, len(records) - size + 1))
        span = range(start, min(len(records), start + size))
        if any(i in chosen for i in span):
            continue
        chosen.update(span)
        out.extend(records[i] for i in span)
        batches += 1
    singles = [i for i in range(len(records)) if i not in chosen]
    rng.shuffle(singles)
    out.extend(records[i] for i in singles[: target - len(out)])
    return out, batches


def put_records(kinesis: Any, stream_name: str, records: Sequence[Record], attempts: int = 8) -> int:
    """Send `records` in order with the ingest sender (batched PutRecords, only failed entries resent,
    `attempts` tries each); returns records accepted, or raises when any could not be put."""
    report = ingest.put_records(
        ((r.partition_key, r.data) for r in records),
        stream_name=stream_name,
        client=kinesis,
        max_retries=attempts - 1,
        total=len(records),
    )
    if report.failed:
        raise TmsError(f"{report.failed} records could not be put on {stream_name}")
    return report.sent


# --- what is observed -----------------------------------------------------------------------------------
@dataclass
class Observed:
    """Everything the stores hold after the run, keyed by ticket id (or partition key for the DLQ)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> status, error
    executions: Counter[str] = field(default_factory=Counter)  # ticket id -> executions
    s3_objects: Counter[str] = field(default_factory=Counter)
    notifications: Counter[tuple[str, str]] = field(default_factory=Counter)  # (ticket id, event type)
    warehouse: Counter[str] | None = None  # None: no analytics ETL
    slack: SlackPosts | None = None  # None: no notifier
    dlq: list[dict[str, Any]] = field(default_factory=list)  # message bodies


@dataclass(frozen=True)
class Check:
    """One reconciliation rule."""

    name: str
    expected: Any
    actual: Any
    ok: bool


@dataclass
class Reconciliation:
    """The verdict: headline counts and every rule checked."""

    submitted: int
    poison_submitted: int
    triaged: int
    failed_with_reason: int
    lost: int
    lost_by_stage: dict[str, int]
    duplicated: int
    lost_tickets: list[str]
    duplicated_tickets: list[str]
    poison_in_dlq: int
    unexpected_dlq: int
    checks: list[Check]
    failure_reasons: dict[str, int]
    poison_filtered: int = 0

    @property
    def ok(self) -> bool:
        """True when every check holds."""
        return all(c.ok for c in self.checks)


def _over_one(counter: Mapping[str, int]) -> set[str]:
    return {k for k, n in counter.items() if n > 1}


def reconcile(
    submitted: set[str],
    poison: Sequence[Poison],
    obs: Observed,
    *,
    alarms_expected: Iterable[str] = (),
    alarms_fired: Iterable[str] = (),
    mapping_filter: tuple[str, ...] | None = None,
    filtered: int | None = None,
) -> Reconciliation:
    """Compare what was sent with what every store holds (see the module docstring for the rules)."""
    items = {k: v for k, v in obs.items.items() if k in submitted}
    triaged = {k for k, v in items.items() if v.get("status") == "TRIAGED"}
    failed = {k for k, v in items.items() if v.get("status") == "FAILED" and v.get("error")}
    terminal = triaged | failed
    lost: set[str] = submitted - terminal
    lost_by_stage = {"dynamodb": len(lost)}
    dup: set[str] = _over_one(obs.executions) & submitted
    checks: list[Check] = []

    def check(name: str, expected: Any, actual: Any) -> None:
        checks.append(Check(name, expected, actual, expected == actual))

    def same_ids(name: str, expected_ids: set[str], counter: Mapping[str, int]) -> None:
        present = {k for k, n in counter.items() if n > 0 and k in submitted}
        nonlocal lost, dup
        missing = expected_ids - present
        lost_by_stage[name.split(" == ")[-1]] = len(missing)
        lost |= missing
        dup |= _over_one(counter) & submitted
        check(name, len(expected_ids), sum(n for k, n in counter.items() if k in submitted))

    check("valid submitted == DynamoDB items (TRIAGED + FAILED with reason)", len(submitted), len(terminal))
    check("DynamoDB items without a terminal status or reason", 0, len(items) - len(terminal))
    check(
        "records that became a ticket but were never submitted as valid", 0, len(set(obs.items) - submitted)
    )
    same_ids("DynamoDB TRIAGED == S3 objects", triaged, obs.s3_objects)
    check("FAILED tickets with an S3 object", 0, sum(1 for k in failed if obs.s3_objects.get(k)))
    triaged_notes = Counter(
        {k: n for (k, t), n in obs.notifications.items() if t == names.EVENT_TICKET_TRIAGED}
    )
    failed_notes = Counter(
        {k: n for (k, t), n in obs.notifications.items() if t == names.EVENT_TICKET_FAILED}
    )
    same_ids("TRIAGED == TicketTriaged notifications", triaged, triaged_notes)
    same_ids("FAILED == TicketFailed notifications", failed, failed_notes)
    if obs.warehouse is not None:
        same_ids("S3 objects == warehouse rows", triaged, obs.warehouse)
    if obs.slack is not None:
        # The warehouse holds what S3 holds; Slack must announce each of those once.
        upstream = "warehouse rows" if obs.warehouse is not None else "S3 objects"
        same_ids(f"{upstream} == Slack ticket posts", triaged, obs.slack.triaged)
        same_ids("FAILED == Slack failure posts", failed, obs.slack.failed)

    poison_keys = {p.record.partition_key for p in poison}
    # The trigger mapping's eventName filter drops non-JSON and wrong-event records before the trigger
    # runs (on AWS; the local poller does the same); the unfiltered intake-audit mapping dead-letters
    # exactly those. So every poison record must be in the DLQ with its reason, whichever path it took.
    dropped = {p.record.partition_key for p in poison if not passes_filter(p.record.data, mapping_filter)}
    with_reason = {m.get("partition_key") for m in obs.dlq if m.get("reason")}
    unexpected = [m for m in obs.dlq if m.get("partition_key") not in poison_keys]
    check("poison records in the DLQ with a reason", len(poison_keys), len(poison_keys & with_reason))
    if mapping_filter is not None and filtered is not None:
        check("poison records dropped by the trigger mapping's filter", len(dropped), filtered)
        audited = {m.get("partition_key") for m in obs.dlq if m.get("stage") == "intake-filter"}
        check("filter-dropped poison dead-lettered by the intake audit", len(dropped), len(dropped & audited))
    check("DLQ messages that are not poison", 0, len(unexpected))

    expected_alarms = set(alarms_expected)
    fired = set(alarms_fired)
    check("alarms that should have fired and did not", [], sorted(expected_alarms - fired))
    check("duplicated tickets", 0, len(dup))
    check("lost tickets", 0, len(lost))
    return Reconciliation(
        submitted=len(submitted),
        poison_submitted=len(poison),
        triaged=len(triaged),
        failed_with_reason=len(failed),
        lost=len(lost),
        lost_by_stage={k: v for k, v in lost_by_stage.items() if v},
        duplicated=len(dup),
        lost_tickets=sorted(lost)[:20],
        duplicated_tickets=sorted(dup)[:20],
        poison_in_dlq=len(poison_keys & with_reason),
        poison_filtered=len(dropped),
        unexpected_dlq=len(unexpected),
        checks=checks,
        failure_reasons=dict(Counter(str(items[k].get("error")) for k in failed)),
    )


def claimed_not_posted(submitted: set[str], obs: Observed) -> list[str]:
    """Tickets whose notifier recorded a post claim but whose post is not in Slack (a lost post)."""
    if obs.slack is None:
        return []
    out = []
    for tid in sorted(submitted):
        item = obs.items.get(tid) or {}
        claims = item.get("slack_posted") or []
        if (item.get("status") == "TRIAGED" and "triaged" in claims and not obs.slack.triaged.get(tid)) or (
            item.get("status") == "FAILED"
            and any(str(c).startswith("failed:") for c in claims)
            and not obs.slack.failed.get(tid)
        ):
            out.append(tid)
    return out


def expected_alarms(
    faults_fired: Mapping[str, int], poison_submitted: int, failed_tickets: int, project: str = names.PROJECT
) -> list[str]:
    """The alarms this run's events must have fired."""
    out = []
    if poison_submitted:
        out.append(f"{project}-DlqNotEmpty")
    if failed_tickets:
        out.append(f"{project}-ExecutionsFailed")
    for fault, alarm in (
        ("llm_throttle", "DraftReplyErrors"),
        ("llm_unavailable", "DraftReplyErrors"),
        ("s3_error", "ArchiveErrors"),
        ("notifier_crash", "NotifierErrors"),
    ):
        if faults_fired.get(fault) and f"{project}-{alarm}" not in out:
            out.append(f"{project}-{alarm}")
    return out


# --- the report -----------------------------------------------------------------------------------------
@dataclass
class ChaosReport:
    """Everything `tms chaos` prints."""

    reconciliation: Reconciliation
    records_sent: int = 0
    redelivered: int = 0
    replayed_batches: int = 0
    dynamodb_items: int = 0
    s3_objects: int = 0
    notifications: int = 0
    warehouse_rows: int | None = None
    slack_posts: int | None = None
    dlq_messages: int = 0
    faults: dict[str, float] = field(default_factory=dict)
    faults_fired: dict[str, int] = field(default_factory=dict)
    alarms_fired: list[str] = field(default_factory=list)
    alarms_expected: list[str] = field(default_factory=list)
    alarms_back_to_ok: list[str] = field(default_factory=list)
    alarm_threads: dict[str, dict[str, int]] = field(default_factory=dict)
    lambda_errors: dict[str, int] = field(default_factory=dict)
    notifier_gave_up: dict[str, int] = field(default_factory=dict)  # error type -> async deliveries dropped
    poller: dict[str, int] = field(default_factory=dict)
    audit_poller: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    throughput_tps: float = 0.0
    slack_claimed_not_posted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every reconciliation check holds."""
        return self.reconciliation.ok

    def as_dict(self) -> dict[str, Any]:
        """The JSON object `tms chaos --json` prints."""
        r = self.reconciliation
        return {
            "ok": self.ok,
            "submitted": r.submitted,
            "lost": r.lost,
            "lost_by_stage": r.lost_by_stage,
            "duplicated": r.duplicated,
            "failed_with_reason": r.failed_with_reason,
            "triaged": r.triaged,
            "dlq_messages": self.dlq_messages,
            "poison_submitted": r.poison_submitted,
            "poison_in_dlq": r.poison_in_dlq,
            "poison_filtered": r.poison_filtered,
            "unexpected_dlq": r.unexpected_dlq,
            "records_sent": self.records_sent,
            "redelivered": self.redelivered,
            "replayed_batches": self.replayed_batches,
            "dynamodb_items": self.dynamodb_items,
            "s3_objects": self.s3_objects,
            "notifications": self.notifications,
            "warehouse_rows": self.warehouse_rows,
            "slack_posts": self.slack_posts,
            "failure_reasons": r.failure_reasons,
            "faults": self.faults,
            "faults_fired": self.faults_fired,
            "alarms_fired": self.alarms_fired,
            "alarms_expected": self.alarms_expected,
            "alarms_back_to_ok": self.alarms_back_to_ok,
            "alarm_threads": self.alarm_threads,
            "lambda_errors": self.lambda_errors,
            "notifier_gave_up": self.notifier_gave_up,
            "poller": self.poller,
            "audit_poller": self.audit_poller,
            "lost_tickets": r.lost_tickets,
            "duplicated_tickets": r.duplicated_tickets,
            "checks": [
                {"check": c.name, "expected": c.expected, "actual": c.actual, "ok": c.ok} for c in r.checks
            ],
            "elapsed_s": self.elapsed_s,
            "throughput_tps": self.throughput_tps,
            "slack_claimed_not_posted": self.slack_claimed_not_posted,
            "notes": self.notes,
        }


def render_table(report: ChaosReport) -> str:
    """The human summary: counts, then every check with its verdict."""
    d = report.as_dict()
    rows: list[tuple[str, Any]] = [
        ("valid tickets submitted", d["submitted"]),
        ("records sent (incl. redeliveries, poison)", d["records_sent"]),
        ("redelivered (whole batches replayed)", f"{d['redelivered']} ({d['replayed_batches']})"),
        (
            "poison submitted / in DLQ with reason / of which dropped by the trigger filter",
            f"{d['poison_submitted']} / {d['poison_in_dlq']} / {d['poison_filtered']}",
        ),
        (
            "DynamoDB items (TRIAGED + FAILED)",
            f"{d['dynamodb_items']} ({d['triaged']} + {d['failed_with_reason']})",
        ),
        ("S3 objects", d["s3_objects"]),
        ("SNS notifications", d["notifications"]),
        ("warehouse rows", "n/a (no analytics)" if d["warehouse_rows"] is None else d["warehouse_rows"]),
        ("Slack posts (outbox, all)", "n/a (no notifier)" if d["slack_posts"] is None else d["slack_posts"]),
        ("DLQ messages", d["dlq_messages"]),
        ("lost / duplicated", f"{d['lost']} / {d['duplicated']}"),
        ("failure reasons", ", ".join(f"{k} {v}" for k, v in d["failure_reasons"].items()) or "-"),
        ("faults fired", ", ".join(f"{k} {v}" for k, v in sorted(d["faults_fired"].items())) or "-"),
        ("alarms fired", ", ".join(d["alarms_fired"]) or "-"),
        ("alarms back to OK", ", ".join(d["alarms_back_to_ok"]) or "-"),
        ("elapsed", f"{d['elapsed_s']} s ({d['throughput_tps']} tickets/s)"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("")
    cw = max(len(c["check"]) for c in d["checks"])
    for c in d["checks"]:
        mark = "ok  " if c["ok"] else "FAIL"
        lines.append(f"{mark}  {c['check'].ljust(cw)}  expected {c['expected']}, got {c['actual']}")
    lines.extend(f"note: {n}" for n in d["notes"])
    lines.append("")
    lines.append(
        "OK: nothing lost, nothing duplicated, every poison record dead-lettered with its reason"
        if report.ok
        else "PROBLEM: see the failed checks above"
    )
    return "\n".join(lines)


# --- collectors over a running stack --------------------------------------------------------------------
def scan_items(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Ticket items (not alarm threads) by id: status and error."""
    out: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="ticket_id, #s, #e, #p",
        ExpressionAttributeNames={"#s": "status", "#e": "error", "#p": "slack_posted"},
    ):
        for raw in page["Items"]:
            tid = raw["ticket_id"]["S"]
            if tid.startswith("TKT-"):
                out[tid] = {
                    "status": raw.get("status", {}).get("S"),
                    "error": raw.get("error", {}).get("S"),
                    "slack_posted": raw.get("slack_posted", {}).get("SS", []),
                }
    return out


def count_executions(sfn: Any, state_machine_arn: str) -> Counter[str]:
    """Executions per name (= ticket id)."""
    seen: Counter[str] = Counter()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        seen.update(ex["name"] for ex in page["executions"])
    return seen


def count_objects(s3: Any, bucket: str) -> Counter[str]:
    """Archive objects per ticket id."""
    seen: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=names.ARCHIVE_PREFIX):
        for obj in page.get("Contents", []):
            seen[obj["Key"].rsplit("/", 1)[-1].removesuffix(".json")] += 1
    return seen


def drain_queue(sqs: Any, queue_url: str, *, delete: bool = True) -> list[str]:
    """Every message body in the queue (received until two empty reads)."""
    bodies: list[str] = []
    empty = 0
    while empty < 2:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=600
        )
        messages = resp.get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        bodies.extend(m["Body"] for m in messages)
        if delete:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    return bodies


class QueueTap:
    """Drains a queue on a background thread for the whole run, keeping every body.

    moto's SQS receive scans the whole queue, so draining 10,000 messages at the end takes hours; kept
    short while the run goes, each receive stays cheap."""

    def __init__(self, sqs: Any, queue_url: str, idle_s: float = 0.2):
        self._sqs = sqs
        self._url = queue_url
        self._idle = idle_s
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tms-chaos-tap", daemon=True)

    def __enter__(self) -> QueueTap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[str]:
        """Stop the thread, drain what is left, return every body (idempotent)."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=60)
            self.bodies.extend(drain_queue(self._sqs, self._url))
        return self.bodies

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resp = self._sqs.receive_message(
                    QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                )
            except Exception:  # the endpoint is busy: the final drain picks up whatever is left
                self._stop.wait(self._idle)
                continue
            messages = resp.get("Messages", [])
            if not messages:
                self._stop.wait(self._idle)
                continue
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            self.bodies.extend(m["Body"] for m in messages)


def notifications_by_ticket(bodies: Iterable[str]) -> Counter[tuple[str, str]]:
    """(ticket id, event type) per SNS envelope of the notifications tap queue."""
    seen: Counter[tuple[str, str]] = Counter()
    for body in bodies:
        attrs = json.loads(body).get("MessageAttributes", {})
        tid = (attrs.get(names.ATTR_TICKET_ID) or {}).get("Value", "")
        kind = (attrs.get(names.ATTR_EVENT_TYPE) or {}).get("Value", "")
        seen[(tid, kind)] += 1
    return seen


def warehouse_rows_by_ticket() -> Counter[str] | None:
    """Warehouse rows per ticket id, or None without the analytics package."""
    try:
        from pipeline.tools.analytics.warehouse import open_warehouse
    except ImportError:
        return None
    wh = open_warehouse()
    try:
        _, rows = wh.query("SELECT ticket_id, COUNT(*) FROM tickets GROUP BY ticket_id")
    finally:
        wh.close()
    return Counter({str(r[0]): int(r[1]) for r in rows})


def _module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def crash_after(
    handler: Callable[[Any, Any], Any], should_fail: Callable[[str], bool]
) -> Callable[[Any, Any], Any]:
    """The handler, dying after its side effects when `notifier_crash` fires: the worst moment, since the
    redelivery must then do nothing twice."""

    def crashing(event: Any, context: Any) -> Any:
        result = handler(event, context)
        if should_fail("notifier_crash"):
            raise NotifierCrashError("injected fault notifier_crash: died after its side effects")
        return result

    return crashing


def _wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


Progress = Callable[[str], None]


def run_chaos(config: ChaosConfig, *, progress: Progress = lambda _msg: None) -> ChaosReport:
    """Start a local stack with the fault plan, push tickets, replays and poison through it, reconcile."""
    from pipeline.adapters.faults import active_plan
    from pipeline.local.alarms import AlarmLoop, local_evaluator
    from pipeline.local.runtime import LocalStack
    from pipeline.local.slack_api import LocalSlackApi
    from pipeline.tools.generator import generate_tickets

    started = time.monotonic()
    rng = random.Random(config.seed)
    progress(f"generating {config.tickets} tickets")
    events = [g.event for g in generate_tickets(config.tickets, seed=config.seed)]
    valid = [Record(e.ticketId, e.to_record_bytes()) for e in events]
    poison = make_poison(poison_count(config.tickets, config.poison), events[0], rng) if events else []
    first_wave: list[Record] = list(valid)
    for p in poison:  # poison lands anywhere in the stream, inside batches of valid records
        first_wave.insert(rng.randrange(len(first_wave) + 1), p.record)
    replays, replayed_batches = plan_redeliveries(valid, config.redeliver, rng)

    state = Path(tempfile.mkdtemp(prefix="tms-chaos-"))
    env = {
        names.ENV_FAULTS: config.faults_spec(),
        names.ENV_FAULTS_SEED: str(config.seed),
        names.ENV_STATE_DIR: str(state),  # a fresh warehouse and ETL bookmark for this run only
    }
    # Shorter waits between the mapping's retries (configuration, not a code path).
    mapping = MappingConfig(retry_delay_s=0.05)
    report_notes: list[str] = []
    outbox = state / "slack-outbox.jsonl"
    with contextlib.ExitStack() as scope:
        # The notifier's real Slack adapter against a loopback Slack API that answers slack_429 faults
        # with HTTP 429 + Retry-After; pacing is lowered by configuration so the run is not 1 post/s.
        api = scope.enter_context(LocalSlackApi(outbox, lambda fault: active_plan().should_fail(fault)))
        env |= {
            names.ENV_SLACK_BOT_TOKEN: "xoxb-local-chaos",
            names.ENV_SLACK_API_URL: api.base_url,
            names.ENV_SLACK_POST_INTERVAL: "0",
        }
        stack = scope.enter_context(LocalStack.start(mapping=mapping, outbox=outbox, extra_env=env))
        plan = active_plan()
        notifier_present = _module_exists(names.HANDLERS[names.FN_NOTIFIER].rsplit(".", 1)[0])
        if notifier_present:
            module, attr = names.HANDLERS[names.FN_NOTIFIER].rsplit(".", 1)
            real = getattr(importlib.import_module(module), attr)
            stack.lambdas.register(names.FN_NOTIFIER, crash_after(real, plan.should_fail))
        else:
            report_notes.append("no Slack notifier (bot.handlers.notifier): Slack posts not reconciled")
        evaluator = local_evaluator(stack, period_s=config.alarm_period_s)
        kinesis = stack.client("kinesis")
        tap = scope.enter_context(QueueTap(stack.client("sqs"), stack.tap_queue_url))
        with AlarmLoop(evaluator, interval_s=1.0) as loop:
            progress(f"sending {len(first_wave)} records ({len(poison)} poison)")
            sent = put_records(kinesis, stack.info.stream_name, first_wave)
            # Replays arrive while the first wave is being processed: some after their originals finished.
            _wait_until(lambda: stack.poller.stats.records >= len(first_wave) // 3, timeout=config.timeout_s)
            progress(f"replaying {len(replays)} records ({replayed_batches} whole batches)")
            sent += put_records(kinesis, stack.info.stream_name, replays)
            progress("waiting for the pipeline to drain")
            stack.wait_idle(timeout=config.timeout_s)

            obs = Observed(
                items=scan_items(stack.client("dynamodb"), stack.info.table_name),
                executions=count_executions(stack.client("stepfunctions"), stack.info.state_machine_arn),
                s3_objects=count_objects(stack.client("s3"), stack.info.bucket_name),
            )
            obs.notifications = notifications_by_ticket(tap.stop())
            loop.evaluate_now()  # the DLQ depth as it stands, before the operator drains it
            dlq_bodies = drain_queue(stack.client("sqs"), stack.info.dlq_url, delete=False)
            obs.dlq = [_dlq_body(b) for b in dlq_bodies]
            if config.etl and _module_exists("pipeline.tools.analytics"):
                progress("loading the warehouse (ETL)")
                from pipeline.tools.analytics import run_etl

                try:
                    run_etl(stack.info)
                    obs.warehouse = warehouse_rows_by_ticket()
                except Exception as e:  # reported as a failed check, not a crash: the rest still counts
                    obs.warehouse = Counter()
                    report_notes.append(f"ETL failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
            elif config.etl:
                report_notes.append("no analytics package: warehouse rows not reconciled")

            # The operator handles the dead letters; every alarm must then return to OK on its own.
            progress("draining the DLQ and waiting for the alarms to return to OK")
            drain_queue(stack.client("sqs"), stack.info.dlq_url)
            _wait_until(lambda: not evaluator.in_alarm(), timeout=config.alarm_period_s * 2 + 10, step=0.5)
        stack.wait_idle(timeout=120)  # alarm notifications reach the notifier asynchronously
        if notifier_present:
            obs.slack = read_outbox(outbox, [a.name for a in evaluator.alarms])
        fired = plan.fired()
        lambda_errors = dict(stack.lambdas.errors)
        gave_up = dict(Counter(_error_type(f.get("error", "")) for f in stack.async_failures))
        poller = dict(stack.poller.stats.__dict__)
        audit_poller = dict(stack.audit_poller.stats.__dict__) if stack.audit_poller else {}
    if poller.get("filtered"):
        report_notes.append(
            f"{poller['filtered']} poison record(s) were dropped by the trigger mapping's eventName filter "
            "(as on AWS) and dead-lettered with their reason by the unfiltered intake-audit mapping"
        )

    submitted = {r.partition_key for r in valid}
    failed_count = sum(
        1 for k, v in obs.items.items() if k in submitted and v.get("status") == "FAILED" and v.get("error")
    )
    expected = expected_alarms(fired, len(poison), failed_count)
    rec = reconcile(
        submitted,
        poison,
        obs,
        alarms_expected=expected,
        alarms_fired=evaluator.fired(),
        mapping_filter=mapping.filter_event_names,
        filtered=poller.get("filtered", 0),
    )
    back_to_ok = [t.alarm for t in evaluator.history if t.new == "OK"]
    threads = {}
    if obs.slack is not None:
        threads = {
            a: {"opened": obs.slack.alarm_opened.get(a, 0), "replies": obs.slack.alarm_threaded.get(a, 0)}
            for a in evaluator.fired()
        }
    elapsed = time.monotonic() - started
    return ChaosReport(
        reconciliation=rec,
        records_sent=sent,
        redelivered=len(replays),
        replayed_batches=replayed_batches,
        dynamodb_items=sum(1 for k in obs.items if k in submitted),
        s3_objects=sum(obs.s3_objects.values()),
        notifications=sum(obs.notifications.values()),
        warehouse_rows=None if obs.warehouse is None else sum(obs.warehouse.values()),
        slack_posts=None if obs.slack is None else obs.slack.total,
        dlq_messages=len(obs.dlq),
        faults=dict(config.faults),
        faults_fired=fired,
        alarms_fired=evaluator.fired(),
        alarms_expected=expected,
        alarms_back_to_ok=back_to_ok,
        alarm_threads=threads,
        lambda_errors=lambda_errors,
        notifier_gave_up=gave_up,
        poller=poller,
        audit_poller=audit_poller,
        elapsed_s=round(elapsed, 1),
        throughput_tps=round(config.tickets / elapsed, 2) if elapsed > 0 else 0.0,
        slack_claimed_not_posted=claimed_not_posted(submitted, obs),
        notes=report_notes,
    )


def _dlq_body(body: str) -> dict[str, Any]:
    """A DLQ message as a dict (the poller's on-failure records carry no partition key or reason)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {"raw": body[:200]}
    return value if isinstance(value, dict) else {"raw": body[:200]}


def _error_type(payload: str) -> str:
    """The errorType of a Lambda function-error payload."""
    try:
        return str(json.loads(payload).get("errorType", "?"))
    except (ValueError, AttributeError):
        return "?"
