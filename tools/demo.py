"""`tms demo`: realistic tickets through the real pipeline, then a reconciled summary."""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.outbox import read_outbox
from local.stack import StackInfo
from tools.polling import wait_until

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# The agent who approves one drafted reply in the demo (a Slack user id; the stack's roles are not asked:
# the demo stands for the Approve button, which is authorized in the bot).
DEMO_AGENT = "U0DEMOAGENT"
CONVERSATION_WAIT_S = 60.0


logger = logging.getLogger("tms.demo")


@dataclass
class DemoReport:
    submitted: int = 0
    records_sent: int = 0
    processed: int = 0
    failed: int = 0
    duplicates_skipped: int = 0
    dynamodb_items: int = 0
    s3_objects: int = 0
    notifications: int = 0
    dlq_messages: int = 0
    slack_posts: int = 0
    priorities: dict[str, int] = field(default_factory=dict)
    sentiments: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    throughput_tps: float = 0.0
    elapsed_s: float = 0.0
    model_ids: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    # The incident grouping against the bursts' truth (tools.incident_eval.IncidentReconciliation.as_dict).
    incident_grouping: dict[str, Any] = field(default_factory=dict)
    # Drafts grounded in the knowledge base (`--kb`): how many, and one of them with its sources.
    grounded_drafts: int = 0
    grounded_example: dict[str, Any] = field(default_factory=dict)
    # One ticket's life after triage (demo_conversation): approved, mailed once, the customer's answer back.
    conversation: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    ticket_ids: set[str] = field(default_factory=set, repr=False)  # this run's tickets (not printed)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object `tms demo --json` prints."""
        data = {k: v for k, v in self.__dict__.items() if k not in ("extra", "ticket_ids")}
        data.update(self.extra)
        return data

    @property
    def ok(self) -> bool:
        """True when every ticket was stored once, archived once and announced once."""
        return (
            self.processed == self.submitted
            and self.failed == 0
            and self.dynamodb_items == self.submitted
            and self.s3_objects == self.submitted
            and self.notifications == self.submitted
            and self.dlq_messages == 0
            and self.conversation.get("ok", True)
        )


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="ticket", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False
    )


def wait_for_executions(
    sfn: Any, state_machine_arn: str, ticket_ids: set[str], timeout: float
) -> dict[str, str]:
    """Poll until every ticket's execution is terminal; returns ticket id -> status."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    with _progress(len(ticket_ids), "processing") as bar:
        while time.monotonic() < deadline:
            for status in TERMINAL:
                pages = sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=state_machine_arn, statusFilter=status
                )
                for page in pages:
                    for ex in page["executions"]:
                        if ex["name"] in ticket_ids:
                            statuses[ex["name"]] = status
            bar.n = len(statuses)
            bar.refresh()
            if len(statuses) >= len(ticket_ids):
                return statuses
            time.sleep(0.5)
    missing = len(ticket_ids) - len(statuses)
    raise TimeoutError(f"{missing} of {len(ticket_ids)} executions still unfinished after {timeout:.0f}s")


def _drain_tap(sqs: Any, queue_url: str, ticket_ids: set[str]) -> Counter[str]:
    """Count SNS notifications per ticket id (from the local notifications tap queue)."""
    seen: Counter[str] = Counter()
    empty_reads = 0
    while empty_reads < 2:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = resp.get("Messages", [])
        if not messages:
            empty_reads += 1
            continue
        empty_reads = 0
        for m in messages:
            envelope = json.loads(m["Body"])
            ticket_id = (envelope.get("MessageAttributes", {}).get("ticket_id") or {}).get("Value")
            if ticket_id in ticket_ids:
                seen[ticket_id] += 1
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return seen


def _count_outbox(path: str, ticket_ids: set[str]) -> int:
    """Our tickets announced in the local Slack outbox (a ticket post or a failure post), each once."""
    posts = read_outbox(path)
    return len((set(posts.triaged) | set(posts.failed)) & ticket_ids)


DEMO_INCIDENTS = 3  # incident bursts in the demo's tickets (their grouping is reconciled with the truth)


def run_demo(
    info: StackInfo,
    *,
    tickets: int,
    seed: int | None,
    redeliver: float = 0.0,
    timeout: float = 600.0,
    clients: dict[str, Any],
    rate: float | None = None,
    incidents: int = DEMO_INCIDENTS,
) -> DemoReport:
    """Submit `tickets` generated tickets, `incidents` bursts among them (plus optional redeliveries; at
    most `rate` a second when given), reconcile every store and the incident grouping."""
    from tools.generator import generated_load
    from tools.incident_eval import reconcile_incidents
    from tools.ingest import put_tickets

    started = time.monotonic()
    generated, truth = generated_load(tickets, incidents, seed=seed)
    sent_at = datetime.now(UTC)
    events = [g.event for g in generated]
    ticket_ids = {e.ticketId for e in events}
    rng = random.Random(seed)
    replays = [e for e in events if rng.random() < redeliver]

    send = put_tickets(
        events, stream_name=info.stream_name, client=clients["kinesis"], rate=rate, progress=True
    )
    if replays:  # at-least-once delivery: the same records again must not create anything twice
        put_tickets(replays, stream_name=info.stream_name, client=clients["kinesis"])
    statuses = wait_for_executions(clients["stepfunctions"], info.state_machine_arn, ticket_ids, timeout)

    report = DemoReport(submitted=len(events), records_sent=send.sent + len(replays), ticket_ids=ticket_ids)
    items = scan_ticket_items(clients["dynamodb"], info.table_name, ticket_ids)
    report.dynamodb_items = len(items)
    report.processed = sum(
        1 for i in items if i.get("status") == "TRIAGED" and statuses.get(i["ticket_id"]) == "SUCCEEDED"
    )
    report.failed = sum(1 for s in statuses.values() if s != "SUCCEEDED")
    report.failures = dict(Counter(i.get("error", "?") for i in items if i.get("status") == "FAILED"))
    report.duplicates_skipped = report.records_sent - len(statuses)
    report.priorities = dict(Counter(i["priority"] for i in items if "priority" in i))
    report.sentiments = dict(Counter(i["sentiment"] for i in items if "sentiment" in i))
    report.model_ids = dict(Counter(i["model_id"] for i in items if "model_id" in i))
    report.s3_objects = _count_objects(clients["s3"], info.bucket_name, ticket_ids)
    grounded = [(i, _sources(i)) for i in items]
    grounded = [(i, src) for i, src in grounded if src]
    report.grounded_drafts = len(grounded)
    if grounded:
        item, src = max(grounded, key=lambda g: float(g[0].get("retrieval_confidence") or 0))
        report.grounded_example = {
            "ticket_id": item["ticket_id"],
            "subject": item.get("subject", ""),
            "sources": [{"title": s.get("title", ""), "uri": s.get("uri", "")} for s in src],
        }
    report.incident_grouping = reconcile_incidents(
        {i["ticket_id"]: i.get("incident_id") for i in items}, truth
    ).as_dict()
    tap = info.extra.get("TMS_NOTIFICATIONS_TAP_URL")
    if tap:
        report.notifications = sum(_drain_tap(clients["sqs"], tap, ticket_ids).values())
    report.dlq_messages = int(
        clients["sqs"].get_queue_attributes(
            QueueUrl=info.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    if info.slack_outbox:
        # The notifier runs asynchronously (SNS -> Lambda): give it a moment to catch up.
        outbox = info.slack_outbox
        wait_until(lambda: _count_outbox(outbox, ticket_ids) >= report.processed, timeout=60, step=0.5)
        report.slack_posts = _count_outbox(outbox, ticket_ids)

    latencies = []
    first_submit = max(min(e.submittedAt for e in events), sent_at)
    last_stored = first_submit
    submitted_at = {e.ticketId: e.submittedAt for e in events}
    for item in items:
        if "processed_at" in item:
            done = _parse_ts(item["processed_at"])
            # From the put: a burst's reports are submitted minutes (or hours) before the run.
            put = max(submitted_at[item["ticket_id"]], sent_at)
            latencies.append((done - put).total_seconds() * 1000)
            last_stored = max(last_stored, done)
    report.latency_ms = {q: round(percentile(latencies, float(q[1:])), 1) for q in ("p50", "p95", "p99")}
    window = (last_stored - first_submit).total_seconds()
    report.throughput_tps = round(report.processed / window, 2) if window > 0 else 0.0
    report.elapsed_s = round(time.monotonic() - started, 2)
    return report


def demo_clients(stack_info: StackInfo) -> dict[str, Any]:
    """The clients the demo reads and writes through, from the one client factory."""
    from contract.clients import aws_client

    return {
        s: aws_client(s, stack_info, profile="cli")
        for s in ("kinesis", "stepfunctions", "dynamodb", "s3", "sqs")
    }


def run_local_demo(
    *,
    tickets: int,
    seed: int | None,
    redeliver: float = 0.0,
    timeout: float = 900.0,
    etl: bool = True,
    clients_for: Callable[[StackInfo], dict[str, Any]] | None = None,
    kb_paths: Sequence[str] = (),
) -> DemoReport:
    """`tms demo`: the demo on the running local stack, or on one started in-process for this run; then
    the warehouse load (unless `etl` is off). `clients_for` builds the boto3 clients for a stack
    (default: `demo_clients`)."""
    clients_for = clients_for or demo_clients
    from local.runtime import LocalStack
    from local.stack import discover_local

    info = discover_local()
    if info is not None:
        ingest_kb(info, clients_for(info), kb_paths)
        report = run_demo(
            info, tickets=tickets, seed=seed, redeliver=redeliver, timeout=timeout, clients=clients_for(info)
        )
        demo_conversation(info, report)
        if etl:
            load_warehouse(report, info)
        return report
    with LocalStack.start() as stack:
        ingest_kb(stack.info, clients_for(stack.info), kb_paths)
        report = run_demo(
            stack.info,
            tickets=tickets,
            seed=seed,
            redeliver=redeliver,
            timeout=timeout,
            clients=clients_for(stack.info),
        )
        demo_conversation(stack.info, report)
        stack.wait_idle(timeout=120)  # let asynchronous deliveries (Slack notifier) finish
        if etl:
            load_warehouse(report, stack.info)
    return report


def demo_conversation(info: StackInfo, report: DemoReport) -> None:
    """One ticket's life after triage, through the paths the product uses: an agent approves the drafted
    reply (the Approve button's conditional write and its message to the mailer), the mailer sends it once
    (the local SES writes it to the mail outbox), and the customer's answer comes back through SES receiving
    and the inbound-mail function onto the ticket. The grounded example when there is one."""
    from email import message_from_bytes, policy
    from email.utils import formataddr

    from bot.adapters.replies import SnsReplyQueue
    from bot.adapters.ticket_store import DynamoTicketStore
    from bot.logic import actions
    from contract import names
    from contract.clients import aws_client
    from tools.cli.mail import InboundMailFailed, receive

    outbox_dir = info.extra.get(names.ENV_MAIL_OUTBOX_DIR)
    store = DynamoTicketStore(info.table_name, aws_client("dynamodb", info, profile="cli"))
    candidates = [report.grounded_example.get("ticket_id"), *sorted(report.ticket_ids)]
    item = next((i for t in candidates if t and (i := store.get(t)) and i.get("status") == "TRIAGED"), None)
    if not outbox_dir or item is None:
        return  # a stack without the local mail outbox (or nothing triaged): nothing to show
    ticket_id = str(item["ticket_id"])
    conversation: dict[str, Any] = {"ticket_id": ticket_id, "approved_by": DEMO_AGENT, "ok": False}
    report.conversation = conversation

    change = actions.approve(DEMO_AGENT, datetime.now(UTC), actions.draft_version_of(item))
    approved = store.apply(ticket_id, change)
    SnsReplyQueue(info.topic_arn, aws_client("sns", info, profile="cli")).approved(
        actions.approved_message(approved, change)
    )

    def sent_mails() -> list[Path]:
        return sorted(Path(outbox_dir).glob(f"{ticket_id}-*.eml"))

    wait_until(sent_mails, CONVERSATION_WAIT_S)
    sent = sent_mails()
    if not sent:
        conversation["error"] = f"the approved reply was not mailed within {CONVERSATION_WAIT_S:.0f} s"
        return
    mail = message_from_bytes(sent[0].read_bytes(), policy=policy.default)
    conversation.update(mails_sent=len(sent), mailed_to=str(mail["To"]), message_id=str(mail["Message-ID"]))

    answer = (
        f"From: {formataddr((str(item.get('customer_full_name') or ''), str(item['customer_email'])))}\r\n"
        f"To: {mail['From']}\r\n"
        f"Subject: Re: {mail['Subject']}\r\n"
        f"Message-ID: <demo-answer-{ticket_id.lower()}@customer.example>\r\n"
        f"In-Reply-To: {mail['Message-ID']}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Thank you, the first step helped. It still fails for one of our accounts: what else do you need?\r\n"
    ).encode()
    try:
        received = receive(info, answer)
    except InboundMailFailed as e:
        conversation["error"] = f"the customer's answer failed in the inbound-mail function: {e}"
        return
    conversation["answer"] = received.get("outcome")

    def status() -> str:
        return str((store.get(ticket_id) or {}).get("status"))

    wait_until(lambda: status() == "CUSTOMER_REPLIED", CONVERSATION_WAIT_S)
    conversation["status"] = status()
    conversation["ok"] = (
        conversation["status"] == "CUSTOMER_REPLIED"
        and received.get("outcome") == "appended"
        and len(sent) == 1
    )
    if not conversation["ok"]:
        conversation["error"] = (
            f"the answer was {received.get('outcome')}, the ticket is {conversation['status']}"
        )


def ingest_kb(info: StackInfo, clients: dict[str, Any], paths: Sequence[str]) -> None:
    """Put the given files and folders into the stack's knowledge base (changed files only), so the
    demo's drafts are grounded and their posts show sources."""
    if not paths:
        return
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase
    from tools.kb import discover, read_document

    files, folders = discover(list(paths))
    kb = S3KnowledgeBase(info.bucket_name, clients["s3"], embedder())
    kb.ingest([read_document(f) for f in files], replace_under=folders)


def load_warehouse(report: DemoReport, info: StackInfo) -> None:
    """Load the archive into the warehouse (the scheduled Glue job's local twin); counts into `report`.

    The analytics step never hides the pipeline's reconciliation: when it cannot run (no Java) or fails,
    `report.analytics_error` says so in one line and the counts above it stand."""
    from tools.prereqs import java_problem

    problem = java_problem()
    if problem:
        report.extra["analytics_error"] = problem
        return
    try:
        from tools.analytics import run_etl, warehouse_counts

        result = run_etl(info)
        report.extra["etl"] = result.as_dict()
        # This run's tickets: the local warehouse keeps earlier runs' rows too (reported as the total).
        report.extra.update(warehouse_counts(ticket_ids=report.ticket_ids))
    except Exception as e:  # the pipeline's counts must still be printed; the cause goes to the log
        logger.debug("the analytics step failed", exc_info=True)  # TMS_LOG_LEVEL=DEBUG shows it
        first = (str(e).strip().splitlines() or [""])[0][:300]
        report.extra["analytics_error"] = f"the analytics step failed: {type(e).__name__}: {first}"


def scan_ticket_items(ddb: Any, table: str, ticket_ids: set[str]) -> list[dict[str, Any]]:
    """The items of these tickets in the tickets table, deserialized."""
    from pipeline.adapters.aws import from_item

    out = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            item = from_item(raw)
            if item.get("ticket_id") in ticket_ids:
                out.append(item)
    return out


def _sources(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The knowledge-base sources on a ticket item (stored as a JSON array; absent when not grounded)."""
    raw = item.get("sources")
    if not raw:
        return []
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _count_objects(s3: Any, bucket: str, ticket_ids: set[str]) -> int:
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tickets/"):
        for obj in page.get("Contents", []):
            if obj["Key"].rsplit("/", 1)[-1].removesuffix(".json") in ticket_ids:
                count += 1
    return count


def render_table(report: DemoReport) -> str:
    """A human summary of the demo run."""
    d = report.as_dict()
    rows = [
        ("tickets submitted", d["submitted"]),
        ("records sent (incl. redeliveries)", d["records_sent"]),
        ("processed (TRIAGED)", d["processed"]),
        ("failed", d["failed"]),
        ("duplicates skipped", d["duplicates_skipped"]),
        ("DynamoDB items", d["dynamodb_items"]),
        ("S3 objects", d["s3_objects"]),
        ("SNS notifications", d["notifications"]),
        ("Slack posts (outbox)", d["slack_posts"]),
        ("DLQ messages", d["dlq_messages"]),
        ("priorities", ", ".join(f"{k} {v}" for k, v in sorted(d["priorities"].items()))),
        ("sentiments", ", ".join(f"{k} {v}" for k, v in sorted(d["sentiments"].items()))),
        ("reply model", ", ".join(f"{k} ({v})" for k, v in d["model_ids"].items())),
        ("latency put->stored p50/p95/p99", "{p50} / {p95} / {p99} ms".format(**d["latency_ms"])),
        ("throughput", f"{d['throughput_tps']} tickets/s"),
        ("elapsed", f"{d['elapsed_s']} s"),
    ]
    for key in ("warehouse_rows", "warehouse_total_rows", "quarantined_rows"):
        if key in d:
            rows.append((key.replace("_", " "), d[key]))
    if d["failures"]:
        rows.append(("failure reasons", ", ".join(f"{k} {v}" for k, v in d["failures"].items())))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    verdict = (
        "OK: every ticket triaged, stored, archived and announced exactly once"
        if report.ok
        else "PROBLEM: see the counts above"
    )
    if d["grounded_drafts"]:
        example = d["grounded_example"]
        cited = "; ".join(f"{s['title']} <{s['uri']}>" for s in example["sources"][:2])
        lines.append(
            f"{'drafts grounded in the KB'.ljust(width)}  {d['grounded_drafts']} of {d['submitted']}"
        )
        lines.append(f"{'e.g.'.ljust(width)}  {example['ticket_id']} cites {cited}")
    talk = d.get("conversation") or {}
    if talk:
        if talk.get("mails_sent"):
            lines.append(
                f"{'approved and mailed'.ljust(width)}  {talk['ticket_id']}: approved by {talk['approved_by']}, "
                f"{talk['mails_sent']} mail to {talk['mailed_to']}"
            )
        if talk.get("answer"):
            lines.append(
                f"{'the customer answered'.ljust(width)}  {talk['answer']} to {talk['ticket_id']}, "
                f"status {talk.get('status')}"
            )
        if talk.get("error"):
            lines.append(f"{'conversation'.ljust(width)}  PROBLEM: {talk['error']}")
    grouping = d.get("incident_grouping") or {}
    if grouping:
        from tools.incident_eval import grouping_summary  # numpy: only when there is a grouping to show

        flag = "" if grouping["ok"] else "  <- BELOW TOLERANCE"
        lines.append(f"{'incident grouping vs truth'.ljust(width)}  {grouping_summary(grouping)}{flag}")
    analytics = d.get("analytics_error")
    return "\n".join([*lines, "", verdict, *([f"ANALYTICS NOT LOADED: {analytics}"] if analytics else [])])
