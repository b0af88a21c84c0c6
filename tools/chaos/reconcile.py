"""The reconciliation of a chaos run: what was sent against what every store holds (rules in the package
docstring)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contract import names
from local.poller import passes_filter
from tools.chaos.observe import Observed
from tools.chaos.plan import Poison


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
    # A second execution of one ticket is not a duplicate by itself: an Express workflow runs a redelivered
    # record again (at-least-once, no name dedup) and the claim ends it in AlreadyClaimed. A duplicate is a
    # second effect: an archive object, a notification, a Slack post (the checks below).
    dup: set[str] = set()
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
