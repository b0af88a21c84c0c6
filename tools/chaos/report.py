"""The chaos report: its JSON object and its human table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.chaos.reconcile import Reconciliation


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
    lambda_error_types: dict[str, dict[str, int]] = field(default_factory=dict)
    notifier_gave_up: dict[str, int] = field(default_factory=dict)  # error type -> async deliveries dropped
    poller: dict[str, int] = field(default_factory=dict)
    audit_poller: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    throughput_tps: float = 0.0
    slack_claimed_not_posted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The incident grouping against the bursts' truth (tools.incident_eval.IncidentReconciliation.as_dict).
    incident_grouping: dict[str, Any] = field(default_factory=dict)

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
            "lambda_error_types": self.lambda_error_types,
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
            "incident_grouping": self.incident_grouping,
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
    grouping = d.get("incident_grouping") or {}
    if grouping:
        from tools.incident_eval import grouping_summary  # numpy: only when there is a grouping to show

        flag = "ok  " if grouping["ok"] else "FLAG"
        lines.append(
            f"{flag}  incident grouping vs the generator's truth: {grouping_summary(grouping)}; a quality "
            "figure, not a loss check"
        )
    lines.extend(f"note: {n}" for n in d["notes"])
    lines.append("")
    lines.append(
        "OK: nothing lost, nothing duplicated, every poison record dead-lettered with its reason"
        if report.ok
        else "PROBLEM: see the failed checks above"
    )
    return "\n".join(lines)
