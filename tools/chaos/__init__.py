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

from tools.chaos.faults import DEFAULT_FAULTS, NotifierCrashError, crash_after, expected_alarms
from tools.chaos.observe import Observed, QueueTap, drain_queue
from tools.chaos.plan import (
    CHAOS_INCIDENTS,
    POISON_FRACTION,
    POISON_KINDS,
    REDELIVER_FRACTION,
    ChaosConfig,
    Poison,
    Record,
    make_poison,
    plan_redeliveries,
    poison_count,
    put_records,
)
from tools.chaos.reconcile import Check, Reconciliation, claimed_not_posted, reconcile
from tools.chaos.report import ChaosReport, render_table
from tools.chaos.run import run_chaos

__all__ = [
    "CHAOS_INCIDENTS",
    "DEFAULT_FAULTS",
    "POISON_FRACTION",
    "POISON_KINDS",
    "REDELIVER_FRACTION",
    "ChaosConfig",
    "ChaosReport",
    "Check",
    "NotifierCrashError",
    "Observed",
    "Poison",
    "QueueTap",
    "Reconciliation",
    "Record",
    "claimed_not_posted",
    "crash_after",
    "drain_queue",
    "expected_alarms",
    "make_poison",
    "plan_redeliveries",
    "poison_count",
    "put_records",
    "reconcile",
    "render_table",
    "run_chaos",
]
