"""The embedded local runtime: one AWS endpoint on 127.0.0.1 that runs the real pipeline.

moto in server mode with its state-machine executor runs the same ASL file CDK deploys; our Lambda
handlers run in-process (state machine tasks, SNS subscriptions); a poller feeds Kinesis to the trigger
with the event-source-mapping contract; Comprehend sentiment comes from an offline analyzer. Everything
else is configuration: the handlers find the endpoint through the standard AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contract import defaults, names
from contract.clients import aws_client
from contract.errors import ConfigurationError
from local import csat_server
from local.lambdas import LocalLambdas
from local.poller import DynamoStreamPoller, KinesisPoller, MappingConfig
from local.scheduler import RateRunner, ScheduleRunner
from local.stack import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    StackInfo,
    clear_state,
    csat_key,
    csat_port_file,
    discover_local,
    mail_outbox_dir,
    mail_reply_key,
    state_dir,
    write_state,
)
from local.sweeper import Sweeper

log = logging.getLogger("tms.local")

# Local defaults: quiet handlers (stdout is for command output), no X-Ray daemon, no EMF on stdout.
LOCAL_ENV_DEFAULTS = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "tms-local",
}


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_incident_judge() -> None:
    """TMS_INCIDENT_JUDGE=reply-model needs a chat reply model (an OpenAI-compatible endpoint locally): a
    setting the stack cannot honour stops the start with one line, rather than failing every ticket's link step."""
    from pipeline.adapters.link_judge import configured_judge

    configured_judge()


@dataclass
class LocalStack:
    """A running local stack. Use `LocalStack.start()` as a context manager."""

    info: StackInfo
    lambdas: LocalLambdas
    poller: KinesisPoller  # the trigger's mapping
    # The intake audit's unfiltered mapping (None when the trigger's mapping filters nothing).
    audit_poller: KinesisPoller | None
    # The tickets table's stream -> ticket-lifecycle mapping (the warehouse's lifecycle records).
    lifecycle_poller: DynamoStreamPoller
    tap_queue_url: str
    schedules: ScheduleRunner
    sweeper: Sweeper
    _timer_invoker: Any
    _server: Any
    _invoker: Any
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    # Set when the stack persists its state (`tms local up`): written on stop and in the background.
    _snapshotter: Any = None
    # What start-up found: "restored" with the ticket count, or "empty".
    restored_tickets: int | None = None
    replayed_records: int = 0  # acknowledged writes the journal handed to moto again at start
    _rate_server: Any = None
    # The knowledge base follows kb/docs/ of the bucket (issue 30.1): kb-sync on the deployed interval.
    kb_sync: RateRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def start(
        cls,
        port: int = 0,
        *,
        mapping: MappingConfig | None = None,
        outbox: Path | None = None,
        extra_env: dict[str, str] | None = None,
        warehouse: Callable[[], Any] | None = None,
        durable: Path | None = None,
        fresh: bool = False,
    ) -> Iterator[LocalStack]:
        """Start the endpoint, provision everything and start the poller; stop it all on exit. `warehouse`
        opens the local warehouse for the retention sweeper (the tools own it; None: not swept).

        With `durable` (a directory), the stack restores what it held when it last stopped or crashed there
        (unless `fresh`) and keeps it there: see local/durable.py."""
        stack = cls._boot(
            port,
            mapping=mapping,
            outbox=outbox,
            extra_env=extra_env or {},
            warehouse=warehouse,
            durable=durable,
            fresh=fresh,
        )
        try:
            yield stack
        finally:
            stack.stop()

    @classmethod
    def _boot(
        cls,
        port: int,
        *,
        mapping: MappingConfig | None,
        outbox: Path | None,
        extra_env: dict[str, str],
        warehouse: Callable[[], Any] | None = None,
        durable: Path | None = None,
        fresh: bool = False,
    ) -> LocalStack:
        from moto.server import ThreadedMotoServer

        from local import durable as durability
        from local import moto as local_moto
        from local.faults import active_plan
        from local.provision import Provisioned, provision, reconcile
        from local.sentiment import detect_sentiment

        port = port or free_port()
        endpoint = f"http://127.0.0.1:{port}"
        saved: dict[str, str | None] = {}

        def setenv(key: str, value: str) -> None:
            saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value

        for k, v in LOCAL_ENV_DEFAULTS.items():
            if k not in os.environ:
                setenv(k, v)
        # The state-machine executor calls back to localhost:$MOTO_PORT (FACTS.md).
        setenv("MOTO_PORT", str(port))
        for k, v in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            setenv(k, v)
        for k, v in extra_env.items():
            setenv(k, v)

        server: Any = None
        rate_server: Any = None
        try:
            _cold_start()  # a new stack means new function instances: nothing cached from an earlier one
            record_to = extra_env.get(names.ENV_IAM_RECORD) or os.environ.get(names.ENV_IAM_RECORD)
            if record_to:  # off by default: no hooks, nothing recorded (issue 28.2, docs/iam.md)
                from local import iam_record

                iam_record.start(Path(record_to), LOCAL_REGION)
            faults = active_plan()  # validated before anything starts: bad TMS_FAULTS fails fast
            wait_scale = local_moto.retry_wait_scale()  # and so is a bad TMS_LOCAL_RETRY_WAIT_SCALE
            speed_patches = local_moto.speed_patches_enabled()  # and TMS_LOCAL_SPEED_PATCHES
            local_moto.check_moto(speed_patches=speed_patches)  # and a moto the patches were not written for
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            _wait_ready(endpoint)
            # moto's backends are process-wide: a stack started earlier in this process left its resources.
            _post_json(f"{endpoint}/moto-api/reset", {})
            _post_json(
                f"{endpoint}/moto-api/config",
                {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
            )
            lambdas = LocalLambdas(region=LOCAL_REGION)
            invoker = local_moto.install(
                lambdas,
                detect_sentiment,
                faults.should_fail,
                retry_wait_scale=wait_scale,
                speed_patches=speed_patches,
            )

            # The rating page (issue 32) on 127.0.0.1, serving the csat function like API Gateway would.
            rate_server = csat_server.make_server_on_kept_port(
                _invoke_proxy(lambdas, names.FN_CSAT), csat_port_file()
            )
            csat_server.serve_in_thread(rate_server)
            snapshot = None
            journal = None
            dead: list[tuple[str, str]] = []
            replayed = 0
            interval = durability.snapshot_interval()  # a bad TMS_LOCAL_SNAPSHOT_INTERVAL stops the start
            check_incident_judge()  # so does a second opinion the configured reply model cannot give
            if durable is not None:
                if fresh:
                    durability.forget(durable)
                snapshot = durability.load(durable)
                journal = durability.Journal(durable / durability.JOURNAL_NAME)
                if snapshot is not None:
                    dead = durability.take_running_executions()  # they died with the last process
            if snapshot is not None:
                prov = reconcile(endpoint, LOCAL_REGION, Provisioned(**snapshot.own["provisioned"]))
            else:
                prov = provision(endpoint, LOCAL_REGION)
            gate = None
            if journal is not None:
                # Writes acknowledged after the last snapshot (or with none taken yet) go in again.
                again = durability.replay(journal.entries())
                replayed = again.writes
                journal.open()
                gate = durability.WriteGate(journal)
                local_moto.gate_writes(gate)
            checkpoints: dict[str, dict[str, str]] = snapshot.own.get("checkpoints", {}) if snapshot else {}
            if gate is not None:
                for function, moved in again.checkpoints.items():
                    checkpoints[function] = {**checkpoints.get(function, {}), **moved}
            outbox_path = outbox or (state_dir() / "slack-outbox.jsonl")
            info = StackInfo(
                endpoint_url=endpoint,
                region=LOCAL_REGION,
                stream_name=prov.stream_name,
                table_name=prov.table_name,
                bucket_name=prov.bucket_name,
                topic_arn=prov.topic_arn,
                dlq_url=prov.dlq_url,
                state_machine_arn=prov.state_machine_arn,
                alarms_topic_arn=prov.alarms_topic_arn,
                slack_outbox=str(outbox_path),
                pid=os.getpid(),
                extra={
                    "TMS_NOTIFICATIONS_TAP_URL": prov.tap_queue_url,
                    names.ENV_REPLY_FROM: os.environ.get(names.ENV_REPLY_FROM) or names.LOCAL_REPLY_FROM,
                    names.ENV_SES_CONFIGURATION_SET: names.SES_CONFIGURATION_SET,
                    names.ENV_MAIL_OUTBOX_DIR: str(mail_outbox_dir()),
                    names.ENV_MAIL_REPLY_KEY: os.environ.get(names.ENV_MAIL_REPLY_KEY) or mail_reply_key(),
                    "TMS_ESCALATION_TAP_URL": prov.escalation_tap_url,
                    **(prov.sla_env or {}),
                    names.ENV_ORIGINALS_KEY_ID: prov.data_key_id,
                    names.ENV_CSAT_BASE_URL: csat_server.base_url(rate_server),
                    names.ENV_CSAT_KEY: os.environ.get(names.ENV_CSAT_KEY) or csat_key(),
                    # Drafts are grounded in the knowledge base `tms kb ingest` fills (kb/ in the bucket).
                    names.ENV_KB_PROVIDER: "s3",
                    # Resolved tickets become precedents when the user names where agents open a ticket
                    # (issue 30.2): an https:// base URL of their own; no invented default link.
                    **(
                        {names.ENV_PRECEDENT_BASE_URL: base}
                        if (base := os.environ.get(names.ENV_PRECEDENT_BASE_URL))
                        else {}
                    ),
                    # Every ticket checks the index's ETag (a local HEAD costs nothing): `tms kb ingest`
                    # then a ticket right away is grounded, as `make demo` and the tests expect. On AWS a
                    # warm function checks once a minute (contract/defaults.KB_REFRESH_SECONDS).
                    names.ENV_KB_REFRESH_SECONDS: os.environ.get(names.ENV_KB_REFRESH_SECONDS) or "0",
                },
            )
            for k, v in info.env().items():
                setenv(k, v)

            def invoke_fn(function: str) -> Any:
                def invoke(event: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
                    result = lambdas.invoke(function, event)
                    body = json.loads(result.payload or b"null")
                    return (None if result.function_error else body), bool(result.function_error)

                return invoke

            def mapping_poller(function: str, config: MappingConfig) -> KinesisPoller:
                return KinesisPoller(
                    kinesis=aws_client(
                        "kinesis", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"
                    ),
                    sqs=aws_client("sqs", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"),
                    stream_name=prov.stream_name,
                    dlq_url=prov.dlq_url,
                    invoke=invoke_fn(function),
                    region=LOCAL_REGION,
                    function_name=function,
                    config=config,
                    checkpoints=dict(checkpoints.get(function, {})),
                    on_checkpoint=gate.checkpoint if gate is not None else None,
                )

            mapping = mapping or MappingConfig()
            poller = mapping_poller(names.FN_TRIGGER, mapping)
            # As deployed: a filtered trigger mapping comes with an unfiltered one for the intake audit,
            # which dead-letters what the filter drops. Without a filter there is nothing to audit.
            audit_poller = (
                mapping_poller(names.FN_INTAKE_AUDIT, replace(mapping, filter_event_names=None))
                if mapping.filter_event_names is not None
                else None
            )
            lifecycle_poller = DynamoStreamPoller(
                kinesis=aws_client(
                    "dynamodbstreams", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"
                ),
                sqs=aws_client("sqs", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"),
                stream_name=prov.table_stream_arn,
                dlq_url=prov.lifecycle_dlq_url,
                invoke=invoke_fn(names.FN_TICKET_LIFECYCLE),
                region=LOCAL_REGION,
                function_name=names.FN_TICKET_LIFECYCLE,
                config=MappingConfig(
                    batch_size=mapping.batch_size,
                    max_retries=mapping.max_retries,
                    bisect_on_error=mapping.bisect_on_error,
                    filter_event_names=None,
                    poll_interval_s=0.2,
                ),
                checkpoints=dict(checkpoints.get(names.FN_TICKET_LIFECYCLE, {})),
                on_checkpoint=gate.checkpoint if gate is not None else None,
            )
            watchers: dict[tuple[str, str], list[Callable[[], None]]] = {}
            for p in (poller, audit_poller, lifecycle_poller):
                if p is not None:
                    watchers.setdefault(p.source, []).append(p.notify_write)
                    p.start()
            local_moto.watch_streams(watchers)
            # EventBridge Scheduler invokes its Lambda targets asynchronously: so does the local one, through a
            # pool of its own, so a firing never queues behind a burst of SNS deliveries.
            timer_invoker = local_moto.AsyncInvoker(lambdas, workers=2)
            timer_invoker.start()
            schedules = ScheduleRunner(
                scheduler=aws_client(
                    "scheduler", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"
                ),
                group=names.SLA_SCHEDULE_GROUP,
                submit=timer_invoker.submit,
                writes_announced=True,
            )
            local_moto.watch_schedules(schedules.notify_write)
            schedules.start()
            # moto never expires items or objects: the sweeper applies the retention (local/sweeper.py).
            sweeper = Sweeper(
                dynamodb=aws_client("dynamodb", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"),
                s3=aws_client("s3", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"),
                table=prov.table_name,
                bucket=prov.bucket_name,
                warehouse=warehouse,
            )
            sweeper.start()
            kb_sync = RateRunner(
                invoke=lambdas.invoke,
                function=names.FN_KB_SYNC,
                interval_s=60.0 * defaults.KB_SYNC_INTERVAL_MINUTES,
                sqs=aws_client("sqs", endpoint_url=endpoint, region=LOCAL_REGION, profile="local"),
                dlq_url=prov.kb_sync_dlq_url,
            )
            kb_sync.start()
            stack = cls(
                info=info,
                lambdas=lambdas,
                poller=poller,
                audit_poller=audit_poller,
                lifecycle_poller=lifecycle_poller,
                tap_queue_url=prov.tap_queue_url,
                schedules=schedules,
                sweeper=sweeper,
                _timer_invoker=timer_invoker,
                _server=server,
                _invoker=invoker,
                _saved_env=saved,
                _rate_server=rate_server,
                kb_sync=kb_sync,
            )
            if durable is not None and gate is not None:
                snapshotter = durability.Snapshotter(
                    directory=durable,
                    own_state=lambda: stack._own_state(prov),
                    gate=gate,
                    interval_s=interval,
                )
                stack._snapshotter = snapshotter
                stack.replayed_records = replayed
                if snapshot is not None or replayed:
                    stack.restored_tickets = stack._recover(dead)
                if snapshot is None or replayed:
                    snapshotter.write()  # what was provisioned or replayed is saved before anything else
                snapshotter.start()
            return stack
        except BaseException:
            # A stack that fails to start leaves nothing behind: no endpoint, no environment of its own.
            local_moto.gate_writes(None)
            if server is not None:
                server.stop()
            if rate_server is not None:
                rate_server.shutdown()
                rate_server.server_close()
            if "local.iam_record" in sys.modules:
                sys.modules["local.iam_record"].stop()
            _restore_env(saved)
            _cold_start()
            raise

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop the poller, the async invoker and the endpoint, and restore the environment. A stack that
        persists its state first lets the pipeline drain (up to `drain_timeout`) and then writes it."""
        from local import moto as local_moto

        if self._snapshotter is not None:
            try:
                self.wait_idle(timeout=drain_timeout)
            except TimeoutError:
                # What still runs is recorded as running and driven again at the next start.
                log.warning("local stack still busy after %.0fs; saving it as it is", drain_timeout)
        local_moto.watch_streams({})
        local_moto.watch_schedules(None)
        for poller in self.pollers:
            poller.stop()
        self.schedules.stop()
        self.sweeper.stop()
        if self.kb_sync is not None:
            self.kb_sync.stop()
        self._timer_invoker.stop()
        self._invoker.stop()
        if self._snapshotter is not None:
            self._snapshotter.stop()
            self._snapshotter.write()
            local_moto.gate_writes(None)
            self._snapshotter.journal.close()
        self._server.stop()
        if self._rate_server is not None:
            self._rate_server.shutdown()
            self._rate_server.server_close()
        _restore_env(self._saved_env)
        _cold_start()
        if "local.iam_record" in sys.modules:
            sys.modules["local.iam_record"].stop()

    # --- durability ----------------------------------------------------------------------------
    def _own_state(self, prov: Any) -> dict[str, Any]:
        """The runtime's share of a snapshot: what was provisioned and where each mapping got to."""
        from dataclasses import asdict

        with_checkpoints: dict[str, dict[str, str]] = {}
        for poller in self.pollers:
            with poller._lock:
                with_checkpoints[poller.function_name] = dict(poller.checkpoints)
        return {"provisioned": asdict(prov), "checkpoints": with_checkpoints}

    def _recover(self, dead: list[tuple[str, str]]) -> int:
        """After a restore: drive again what the last process left half done; return the ticket count.

        Executions cannot survive their process. A ticket it had claimed (PROCESSING), or had brought to
        TRIAGED without its Slack post ever being claimed (the run died before the notifier), is marked
        FAILED ("interrupted by a local stack restart") and retried as `tms retry` does (the claim accepts a
        FAILED item; nothing was posted or mailed for it yet); an execution that had not claimed its ticket
        yet starts again under its own name."""
        from datetime import UTC, datetime

        from local.durable import ticket_statuses
        from pipeline.adapters.aws import DynamoTickets, S3ExecutionInputs, StepFunctionsStarter
        from pipeline.domain.retry import retry_ticket

        ddb = self.client("dynamodb")
        tickets = DynamoTickets(self.info.table_name, ddb)
        count, processing, unannounced = ticket_statuses(self.info.table_name, LOCAL_REGION, LOCAL_ACCOUNT)
        now = datetime.now(UTC).isoformat()
        interrupted = []
        for ticket_id, was in [(t, "PROCESSING") for t in processing] + [(t, "TRIAGED") for t in unannounced]:
            try:
                ddb.update_item(
                    TableName=self.info.table_name,
                    Key={"ticket_id": {"S": ticket_id}},
                    UpdateExpression="SET #s = :failed, #e = :e, #c = :c, #f = :f",
                    ConditionExpression="#s = :was",
                    ExpressionAttributeNames={
                        "#s": "status",
                        "#e": "error",
                        "#c": "error_cause",
                        "#f": "failed_at",
                    },
                    ExpressionAttributeValues={
                        ":failed": {"S": "FAILED"},
                        ":was": {"S": was},
                        ":e": {"S": "LocalRestartError"},
                        ":c": {"S": "interrupted by a local stack restart"},
                        ":f": {"S": now},
                    },
                )
            except ddb.exceptions.ConditionalCheckFailedException:
                continue  # moved on meanwhile (a replayed record's run): nothing to re-drive
            interrupted.append(ticket_id)
        sfn = self.client("stepfunctions")
        if interrupted:  # as `tms retry` does (tools/retry.py)
            inputs = S3ExecutionInputs(self.info.bucket_name, self.client("s3"))
            starter = StepFunctionsStarter(self.info.state_machine_arn, sfn)
            for ticket_id in interrupted:
                retry_ticket(ticket_id, tickets, inputs, starter, datetime.now(UTC))
        for name, execution_input in dead:
            ticket_id = json.loads(execution_input or "{}").get("ticket", {}).get("ticketId")
            if isinstance(ticket_id, str) and tickets.get(ticket_id) is None:
                sfn.start_execution(
                    stateMachineArn=self.info.state_machine_arn, name=name, input=execution_input
                )
        return count

    # --- helpers --------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for `service` pointed at this stack."""
        return aws_client(service, self.info, profile="local")

    def running_executions(self) -> int:
        """How many workflow executions are still running."""
        sfn = self.client("stepfunctions")
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.info.state_machine_arn, statusFilter="RUNNING"
        )
        return sum(len(p["executions"]) for p in pages)

    def wait_idle(self, timeout: float = 120.0, settle: float = 0.3) -> None:
        """Block until the stream is drained, no execution runs and async deliveries are done."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = (
                (not self.pollers_idle)
                or self._invoker.pending > 0
                or self._timer_invoker.pending > 0
                or self.running_executions() > 0
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return
            time.sleep(0.1)
        raise TimeoutError(
            f"local stack still busy after {timeout:.0f}s: pollers idle={self.pollers_idle}, "
            f"async pending={self._invoker.pending}, running executions={self.running_executions()}"
        )

    @property
    def pollers(self) -> list[KinesisPoller]:
        """Every event source mapping this stack runs."""
        return [p for p in (self.poller, self.audit_poller, self.lifecycle_poller) if p is not None]

    @property
    def pollers_idle(self) -> bool:
        """True when every mapping has read its shards to the tip and has nothing in flight."""
        return all(p.idle for p in self.pollers)

    @property
    def async_failures(self) -> list[dict[str, Any]]:
        """Asynchronous invocations (SNS -> Lambda) that failed after Lambda's retries."""
        return list(self._invoker.failed) + list(self._timer_invoker.failed)


def serve(
    stop: threading.Event,
    *,
    port: int = 0,
    fresh: bool = False,
    on_ready: Callable[[StackInfo], None] = lambda _info: None,
    on_restore: Callable[[LocalStack], None] = lambda _stack: None,
    warehouse: Callable[[], Any] | None = None,
) -> None:
    """`tms local up`: start a stack that keeps its state under the state dir (restored unless `fresh`),
    record it in the state file (where other commands find it), call `on_restore` (the stack says what
    it restored) and `on_ready`, run until `stop` is set. Refuses to start a
    second stack."""
    from local.durable import durable_dir

    running = discover_local()
    if running is not None:
        raise ConfigurationError(
            f"a local stack is already running (pid {running.pid}, {running.endpoint_url}); stop it first"
        )
    with LocalStack.start(
        port=port, warehouse=warehouse, durable=durable_dir(state_dir()), fresh=fresh
    ) as stack:
        write_state(stack.info)
        try:
            on_restore(stack)
            on_ready(stack.info)
            # Woken every half second, not one blocking wait: a SIGTERM the kernel hands to another of the
            # stack's threads only sets CPython's flag, and the main thread runs the handler (which sets
            # `stop`) at its next bytecode; blocked in an untimed wait it never would, and the stack
            # ignored the signal (seen once in a clean-checkout run: `tms local up` outlived SIGTERM).
            while not stop.wait(0.5):
                pass
        finally:
            clear_state(stack.info.pid)


def _invoke_proxy(lambdas: LocalLambdas, function: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A synchronous invoke of `function` with a proxy event, as API Gateway's Lambda integration does."""

    def invoke(event: dict[str, Any]) -> dict[str, Any] | None:
        result = lambdas.invoke(function, event)
        return None if result.function_error else json.loads(result.payload or b"null")

    return invoke


def quiet_logs(*extra: str) -> None:
    """Silence the endpoint's per-request logs (and `extra` loggers): a command's own output is what its
    user wants to see."""
    for name in ("werkzeug", "moto", "botocore", "urllib3", *extra):
        logging.getLogger(name).setLevel(logging.ERROR)
    # moto logs every failed execution at ERROR with its whole state tree; failures are already
    # reported (DynamoDB FAILED with the reason, the TicketFailed notification, the summary).
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


def _restore_env(saved: dict[str, str | None]) -> None:
    """Put back the variables a stack set (removing those that were unset before)."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _cold_start() -> None:
    """Forget what our handlers cached per process (clients bound to an endpoint, settings, fault plans),
    as a fresh Lambda instance would: the next invocation reads this stack's configuration."""
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("contract.", "pipeline.", "bot.", "local.")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and hasattr(value, "cache_info"):
                value.cache_clear()


def _wait_ready(endpoint: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"local AWS endpoint {endpoint} did not start within {timeout:.0f}s")


def _post_json(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=5):  # noqa: S310 - loopback
        pass
