"""The chaos run: a fresh local stack with the fault plan, the load plan sent through it, then reconciled."""

from __future__ import annotations

import contextlib
import importlib
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from contract import names
from local.outbox import read_outbox
from local.poller import MappingConfig
from tools.chaos.faults import crash_after, expected_alarms
from tools.chaos.observe import (
    Observed,
    QueueTap,
    count_executions,
    count_objects,
    dlq_body,
    drain_queue,
    lambda_error_type,
    notifications_by_ticket,
    scan_items,
    warehouse_rows_by_ticket,
)
from tools.chaos.plan import (
    ChaosConfig,
    Record,
    make_poison,
    plan_redeliveries,
    poison_count,
    put_records,
)
from tools.chaos.reconcile import claimed_not_posted, reconcile
from tools.chaos.report import ChaosReport
from tools.polling import wait_until


def _module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


Progress = Callable[[str], None]


def run_chaos(config: ChaosConfig, *, progress: Progress = lambda _msg: None) -> ChaosReport:
    """Start a local stack with the fault plan, push tickets, replays and poison through it, reconcile."""
    from local.alarms import AlarmLoop, local_evaluator
    from local.faults import active_plan
    from local.runtime import LocalStack
    from local.slack_api import LocalSlackApi
    from tools.generator import generated_load
    from tools.incident_eval import reconcile_incidents

    started = time.monotonic()
    rng = random.Random(config.seed)
    progress(f"generating {config.tickets} tickets ({config.incidents} incident bursts)")
    load, truth = generated_load(config.tickets, config.incidents, seed=config.seed)
    events = [g.event for g in load]
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
            wait_until(lambda: stack.poller.stats.records >= len(first_wave) // 3, timeout=config.timeout_s)
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
            obs.dlq = [dlq_body(b) for b in dlq_bodies]
            if config.etl and _module_exists("tools.analytics"):
                progress("loading the warehouse (ETL)")
                from tools.analytics import run_etl

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
            wait_until(lambda: not evaluator.in_alarm(), timeout=config.alarm_period_s * 2 + 10, step=0.5)
        stack.wait_idle(timeout=120)  # alarm notifications reach the notifier asynchronously
        if notifier_present:
            obs.slack = read_outbox(outbox, [a.name for a in evaluator.alarms])
        fired = plan.fired()
        lambda_errors = dict(stack.lambdas.errors)
        lambda_error_types = {k: dict(v) for k, v in stack.lambdas.error_types.items()}
        gave_up = dict(Counter(lambda_error_type(f.get("error", "")) for f in stack.async_failures))
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
    # The grouping the workflow made, against the bursts' truth (issue 29): a quality figure, flagged below
    # the tolerance, not one of the checks that prove nothing was lost or duplicated.
    grouping = reconcile_incidents({k: v.get("incident_id") for k, v in obs.items.items()}, truth)
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
        lambda_error_types=lambda_error_types,
        notifier_gave_up=gave_up,
        poller=poller,
        audit_poller=audit_poller,
        elapsed_s=round(elapsed, 1),
        throughput_tps=round(config.tickets / elapsed, 2) if elapsed > 0 else 0.0,
        slack_claimed_not_posted=claimed_not_posted(submitted, obs),
        notes=report_notes,
        incident_grouping=grouping.as_dict(),
    )
