"""Patches that make moto behave like AWS where it cannot offline (FACTS.md), or plug our handlers,
models, pollers and fault injection in at the AWS API edge:

- Lambda never runs code without Docker: `invoke` is routed to our handlers, in-process.
- SNS -> Lambda delivery is synchronous with a canned event: it becomes an asynchronous invocation with a
  real SNS event (message id, topic, attributes), retried twice on error like Lambda's async invoke.
- Comprehend DetectSentiment answers a canned NEUTRAL: it is answered by the offline analyzer.
- Comprehend DetectPiiEntities answers a canned list: it is answered by the offline detector (local/pii.py).
- moto stores stream records and runs no event source mapping: every Kinesis put and DynamoDB stream
  record is announced to the local pollers watching that stream (`watch_streams`), which read at once
  instead of polling empty shards several times a second.
- moto stores schedules and never fires them: every schedule created, updated or deleted is announced
  by name to the local scheduler (`watch_schedules`), which reads just that one instead of listing the
  whole group twice a second.
- A durable local stack (local/durable.py) hears of every request that may change state, and journals
  every successful write to a data store (DynamoDB, S3, SQS, Kinesis, schedules) before the endpoint answers
  (`gate_writes`); `replay_requests` hands those requests to moto again after a crash.
- Fault injection (TMS_FAULTS) for DynamoDB, S3 and sentiment lives here, at the AWS API edge, never in
  the domain.

None of these is optional: the local stack relies on each (the speed patches are in `speed.py`).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract import names
from contract.errors import ConfigurationError
from local import iam_record
from local.iam_record import SES_SERVICE, SNS_SERVICE
from local.lambdas import LocalLambdas
from local.moto.patching import Patch, replace

log = logging.getLogger("tms.local")

_ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations


@dataclass
class AsyncInvoker:
    """A small pool that runs asynchronous Lambda invocations, like Lambda's event queue."""

    lambdas: LocalLambdas
    workers: int = 4
    retry_delay_s: float = 0.2
    _queue: queue.Queue[tuple[str, Any, int]] = field(default_factory=queue.Queue)
    _threads: list[threading.Thread] = field(default_factory=list)
    _pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    failed: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for i in range(self.workers):
            t = threading.Thread(target=self._run, name=f"tms-async-invoke-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, function_name: str, event: Any) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put((function_name, event, 0))

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                name, event, attempt = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            result = self.lambdas.invoke(name, event)
            if result.function_error and attempt < _ASYNC_RETRIES:
                time.sleep(self.retry_delay_s * (attempt + 1))
                self._queue.put((name, event, attempt + 1))
                continue
            with self._lock:
                self._pending -= 1
                if result.function_error:
                    self.failed.append({"function": name, "error": result.payload.decode("utf-8", "replace")})
                else:
                    self.delivered += 1


@dataclass
class PatchState:
    lambdas: LocalLambdas | None = None
    invoker: AsyncInvoker | None = None
    sentiment: Callable[[str, str], dict[str, Any]] | None = None
    should_fail: Callable[[str], bool] = lambda _name: False
    retry_wait_scale: float = 1.0
    sns_deliveries: int = 0
    # SES v2 SendEmail at the endpoint: accepted, rejected, and bounce events (local mail alarms read them).
    mail: dict[str, int] = field(default_factory=lambda: {"sent": 0, "rejected": 0, "bounced": 0})
    # (service, stream or table name) -> callbacks run after a write to it (the local pollers' wake-up).
    stream_watchers: dict[tuple[str, str], list[Callable[[], None]]] = field(default_factory=dict)
    # (group, schedule name) -> None after a schedule is written (the local scheduler's wake-up).
    schedule_watcher: Callable[[str, str], None] | None = None
    # Hears of every request that may change state; serializes and journals the data stores' writes.
    write_gate: WriteGate | None = None


STATE = PatchState()


# --- Lambda -------------------------------------------------------------------------------------------
_LAMBDA_INVOKE = "moto.awslambda_simple.models:LambdaSimpleBackend.invoke"


def _lambda_invoke(
    self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
) -> bytes:
    lambdas = STATE.lambdas
    if lambdas is None:  # pragma: no cover - install() always sets it
        raise RuntimeError("local Lambda dispatch is not installed")
    raw = body.decode("utf-8") if isinstance(body, bytes) else (body or "{}")
    event = json.loads(raw) if raw else {}
    if (headers or {}).get("X-Amz-Invocation-Type") == "Event" and STATE.invoker is not None:
        STATE.invoker.submit(function_name, event)
        return b""
    result = lambdas.invoke(function_name, event)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    return result.payload


def _route_lambda_invoke() -> None:
    replace(_LAMBDA_INVOKE, _lambda_invoke)


# --- SNS -> Lambda ------------------------------------------------------------------------------------
_SNS_PUBLISH = "moto.sns.models:Subscription.publish"


def _sns_event(
    sub: Any, message: str, message_id: str, subject: str | None, attrs: dict[str, Any] | None
) -> dict:
    attributes = {
        k: {"Type": v.get("DataType", v.get("Type", "String")), "Value": v.get("StringValue", v.get("Value"))}
        for k, v in (attrs or {}).items()
    }
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": sub.arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": sub.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": "local",
                    "UnsubscribeUrl": "local",
                    "MessageAttributes": attributes,
                },
            }
        ]
    }


def _deliver_sns_to_lambda_async() -> None:
    from moto.sns.models import Subscription

    original_publish = Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if self.protocol != "lambda":
            return original_publish(self, message, message_id, subject, message_attributes, *args, **kwargs)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        STATE.sns_deliveries += 1
        # SNS invokes the function itself: allowed by the function's resource policy (checked by tools.iam).
        iam_record.record_service_call(SNS_SERVICE, "lambda", "Invoke", (self.endpoint,))
        if STATE.invoker is not None:
            STATE.invoker.submit(
                self.endpoint, _sns_event(self, message, message_id, subject, message_attributes)
            )
        return None

    replace(_SNS_PUBLISH, publish)


# --- Step Functions executor --------------------------------------------------------------------------
_SDK_TASK_MODULE = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk"
)
_SDK_ERROR_NAMES = f"{_SDK_TASK_MODULE}:_SERVICE_ERROR_NAMES"


def _name_comprehend_errors_as_aws() -> None:
    """AWS names aws-sdk integration errors "Comprehend.<Code>"; moto says "comprehend.<Code>", so the
    ASL's Retry never matched and a transient sentiment error failed the ticket.
    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"""
    import importlib

    error_names = importlib.import_module(_SDK_TASK_MODULE)._SERVICE_ERROR_NAMES
    replace(_SDK_ERROR_NAMES, {**error_names, "comprehend": "Comprehend"})


_STATE_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
_EXECUTOR_CLIENTS = (
    f"{_STATE_TASK}.lambda_eval_utils:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_dynamodb:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_sns:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_sqs:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_aws_sdk:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_sfn:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_events:boto_client_for",
    f"{_STATE_TASK}.service.state_task_service_unsupported:boto_client_for",
)


def _patch_executor_clients() -> None:
    """moto's executor builds a new boto3 client for every task call (tens of ms each, on the shared,
    non-thread-safe default session, from the executions' many threads). One client per (region,
    service) keeps the same behaviour - no retries, the same endpoint - without the race, and at a
    fraction of the cost, so local throughput is bounded by our code."""
    from moto.settings import moto_server_port

    from contract.clients import aws_client

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        port = moto_server_port()  # a later stack in this process listens elsewhere
        return aws_client(
            service, endpoint_url=f"http://127.0.0.1:{port}", region=region, profile="moto_executor"
        )

    for target in _EXECUTOR_CLIENTS:
        replace(target, boto_client_for)


_RETRIER_TIME = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:time"


def retry_wait_scale() -> float:
    """TMS_LOCAL_RETRY_WAIT_SCALE: a number >= 0 (default 1, the waits the ASL declares)."""
    raw = os.environ.get(names.ENV_LOCAL_RETRY_WAIT_SCALE, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not (scale >= 0 and math.isfinite(scale)):
        raise ConfigurationError(
            f"{names.ENV_LOCAL_RETRY_WAIT_SCALE}={raw!r}: expected a number >= 0 (1 = the ASL's waits)"
        )
    return scale


def _scale_retry_waits() -> None:
    """moto sleeps each Retry interval for real (FACTS.md). The local stack scales that sleep by
    TMS_LOCAL_RETRY_WAIT_SCALE: the ASL, its attempts, backoff and jitter stay exactly as declared."""
    import types

    def sleep(seconds: float) -> None:
        time.sleep(seconds * STATE.retry_wait_scale)

    replace(_RETRIER_TIME, types.SimpleNamespace(sleep=sleep))


# --- streams and schedules: the local pollers and scheduler -------------------------------------------
_KINESIS_PUT_RECORD = "moto.kinesis.models:Stream.put_record"
_DYNAMODB_STREAM_ADD = "moto.dynamodb.models.table:StreamShard.add"


def watch_streams(watchers: dict[tuple[str, str], list[Callable[[], None]]]) -> None:
    """Who to tell after a write to a Kinesis stream or a DynamoDB table's stream; replaces the previous
    watchers (one local stack per process). `install()` must have patched moto."""
    STATE.stream_watchers = watchers


def _announce(service: str, name: str) -> None:
    for notify in STATE.stream_watchers.get((service, name), ()):
        notify()


def _patch_stream_writes() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.kinesis.models import Stream

    original_put_record = Stream.put_record
    original_add = StreamShard.add

    def put_record(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original_put_record(self, *args, **kwargs)
        _announce("kinesis", self.stream_name)
        return result

    def add(self: Any, *args: Any, **kwargs: Any) -> None:
        original_add(self, *args, **kwargs)
        _announce("dynamodb", self.table.name)

    replace(_KINESIS_PUT_RECORD, put_record)
    replace(_DYNAMODB_STREAM_ADD, add)


_SCHEDULER = "moto.scheduler.models:EventBridgeSchedulerBackend"
_SCHEDULE_WRITES = tuple(
    f"{_SCHEDULER}.{m}" for m in ("create_schedule", "update_schedule", "delete_schedule")
)


def watch_schedules(watcher: Callable[[str, str], None] | None) -> None:
    """Who to tell (group, schedule name) after a schedule is created, updated or deleted; replaces the
    previous watcher. `install()` must have patched moto."""
    STATE.schedule_watcher = watcher


class WriteGate(Protocol):
    """What the dispatcher asks before and after a request that may change state (local/durable.py)."""

    def changed(self) -> None:
        """A request that may change state arrived (any service)."""

    def guards(self, service: str) -> bool:
        """Whether `service`'s writes are serialized and journaled (the data stores)."""

    def writing(self, service: str) -> AbstractContextManager[None]:
        """Held while one write of a guarded service runs and is journaled."""

    def written(self, service: str, request: dict[str, Any]) -> None:
        """A guarded write succeeded: record `request` (see `request_record`) before the endpoint answers."""


def gate_writes(gate: WriteGate | None) -> None:
    """Who hears of every request that may change state and journals the data stores' writes; replaces the
    previous gate. `install()` must have patched moto."""
    STATE.write_gate = gate


_READ_ACTIONS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Receive")


_DISPATCHER_CALL = "moto.moto_server.werkzeug_app:DomainDispatcherApplication.__call__"


def _service_of(environ: dict[str, Any]) -> str:
    """The service a signed request is for: its credential scope (`.../<region>/<service>/aws4_request`)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) >= 5 else ""


def _is_read(environ: dict[str, Any]) -> bool:
    """Reads (GET, HEAD, JSON targets named Get/List/Describe/...) change nothing; anything else may."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return bool(target.rsplit(".", 1)[-1].startswith(_READ_ACTIONS))
    return environ.get("REQUEST_METHOD") in ("GET", "HEAD")


def _body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""


def request_record(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A request as the journal keeps it: its WSGI environment's text entries (method, path as it arrived,
    query, server, headers) and its body, enough to hand it to moto again (`replay_requests`)."""
    kept = {k: v for k, v in environ.items() if k.isupper() and isinstance(v, str)}
    return {"environ": kept, "body": base64.b64encode(body).decode()}


def replay_requests(records: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Hand journaled requests to moto again, in order, in-process; return (replayed, refused). A refused
    one (e.g. a DeleteMessage whose receipt handle died with the last process) is logged and skipped."""
    import sys

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    replayed = refused = 0
    for record in records:
        body = base64.b64decode(record["body"])
        environ: dict[str, Any] = {
            **record["environ"],
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(
            code: str, _headers: Any, _exc_info: Any = None, status: list[str] = status
        ) -> None:
            status.append(code)

        for _chunk in app(environ, start_response):
            pass
        replayed += 1
        if not status or not status[0].startswith("2"):
            refused += 1
            kept = record["environ"]
            log.warning(
                "journaled %s %s refused at replay: %s",
                kept.get("REQUEST_METHOD"),
                kept.get("PATH_INFO"),
                status,
            )
    return replayed, refused


def _patch_change_watch() -> None:
    """Every request that may change state is announced to the gate; a data store's write holds the gate
    while it runs and is journaled before the endpoint answers (a durable local stack)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original_call = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        gate = STATE.write_gate
        if gate is None or environ.get("PATH_INFO", "").startswith("/moto-api") or _is_read(environ):
            return original_call(self, environ, start_response)
        gate.changed()
        service = _service_of(environ)
        if not gate.guards(service):
            return original_call(self, environ, start_response)
        body = _body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        status: list[str] = []

        def recording(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        with gate.writing(service):
            # moto's Flask app answers eagerly: the status is known when the call returns, the client has
            # not seen it yet.
            result = original_call(self, environ, recording)
            if status and status[0].startswith("2"):
                gate.written(service, request_record(environ, body))
        return result

    replace(_DISPATCHER_CALL, call)


def _announce_schedule(group: str | None, name: str) -> None:
    watcher = STATE.schedule_watcher
    if watcher is not None:
        watcher(group or "default", name)


def _patch_schedule_writes() -> None:
    from moto.scheduler.models import EventBridgeSchedulerBackend

    def announcing(original: Callable[..., Any]) -> Callable[..., Any]:
        """Create and update return the schedule they wrote: announce it."""

        @functools.wraps(original)
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            schedule = original(self, *args, **kwargs)
            _announce_schedule(schedule.group_name, schedule.name)
            return schedule

        return write

    original_delete = EventBridgeSchedulerBackend.delete_schedule

    def delete_schedule(self: Any, group_name: str | None, name: str) -> None:
        original_delete(self, group_name, name)
        _announce_schedule(group_name, name)

    for method in ("create_schedule", "update_schedule"):
        replace(f"{_SCHEDULER}.{method}", announcing(getattr(EventBridgeSchedulerBackend, method)))
    replace(f"{_SCHEDULER}.delete_schedule", delete_schedule)


# --- Comprehend: the offline models -------------------------------------------------------------------
_DETECT_SENTIMENT = "moto.comprehend.models:ComprehendBackend.detect_sentiment"
_DETECT_PII = "moto.comprehend.models:ComprehendBackend.detect_pii_entities"


def _detect_sentiment(self: Any, text: str, language: str) -> dict[str, Any]:
    from moto.comprehend.exceptions import TextSizeLimitExceededException
    from moto.core.exceptions import JsonRESTError

    from local import sentiment as offline

    if STATE.should_fail("sentiment_error"):
        raise JsonRESTError("InternalServerException", "injected fault: sentiment_error")
    analyze = STATE.sentiment or offline.detect_sentiment
    try:
        return analyze(text, language)
    except offline.TextSizeLimitExceededError:
        raise TextSizeLimitExceededException(len(text.encode("utf-8"))) from None
    except offline.UnsupportedLanguageError as e:
        raise JsonRESTError("UnsupportedLanguageException", str(e)) from None
    except offline.SentimentTextError as e:
        raise JsonRESTError("ValidationException", str(e)) from None


def _detect_pii_entities(self: Any, text: str, language: str) -> list[dict[str, Any]]:
    # moto answers a canned entity list whatever the text: the offline detector answers instead
    # (moto's response wraps the list as {"Entities": [...]}).
    from moto.comprehend.exceptions import TextSizeLimitExceededException
    from moto.core.exceptions import JsonRESTError

    from local import pii as offline_pii

    if STATE.should_fail("pii_error"):
        raise JsonRESTError("InternalServerException", "injected fault: pii_error")
    try:
        entities: list[dict[str, Any]] = offline_pii.detect_pii_entities(text, language)["Entities"]
    except offline_pii.TextSizeLimitExceededError:
        raise TextSizeLimitExceededException(len(text.encode("utf-8"))) from None
    except offline_pii.PiiTextError as e:
        raise JsonRESTError("ValidationException", str(e)) from None
    return entities


def _answer_sentiment_offline() -> None:
    replace(_DETECT_SENTIMENT, _detect_sentiment)


def _answer_pii_offline() -> None:
    replace(_DETECT_PII, _detect_pii_entities)


# --- fault injection at the API edge ------------------------------------------------------------------
_DYNAMODB_PUT_ITEM = "moto.dynamodb.models:DynamoDBBackend.put_item"
_DYNAMODB_UPDATE_ITEM = "moto.dynamodb.models:DynamoDBBackend.update_item"
_S3_PUT_OBJECT = "moto.s3.models:S3Backend.put_object"


# DynamoDB applies a conditional write atomically: the condition holds when the item changes. moto checks the
# condition and then writes with no lock, so two threads of the local stack (or two requests to its server)
# can both pass `open_count = :seen` and both write (seen on moto 5.2.5: 40 routings racing over 5 agents left
# a load counting 47 tickets with 49 in its set). One write at a time restores AWS's behaviour; moto's writes
# take microseconds, so the lock costs nothing measurable.
_DYNAMODB_WRITES = threading.RLock()  # re-entrant: a write's stream watchers run in the writing thread


def _inject_dynamodb_throttling() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.models import DynamoDBBackend

    original_put_item = DynamoDBBackend.put_item
    original_update_item = DynamoDBBackend.update_item

    def _throttle() -> None:
        if STATE.should_fail("dynamodb_throttle"):
            raise JsonRESTError("ProvisionedThroughputExceededException", "injected fault: dynamodb_throttle")

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _throttle()
        with _DYNAMODB_WRITES:
            return original_put_item(self, *args, **kwargs)

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _throttle()
        with _DYNAMODB_WRITES:
            return original_update_item(self, *args, **kwargs)

    replace(_DYNAMODB_PUT_ITEM, put_item)
    replace(_DYNAMODB_UPDATE_ITEM, update_item)


def _inject_s3_errors() -> None:
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    original_put_object = S3Backend.put_object

    def put_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        if key_name.startswith("tickets/") and STATE.should_fail("s3_error"):
            raise S3ClientError("InternalError", "injected fault: s3_error")
        return original_put_object(self, bucket_name, key_name, *args, **kwargs)

    replace(_S3_PUT_OBJECT, put_object)


# S3 applies a conditional PutObject (If-Match / If-None-Match) atomically. moto 5.2.5 honours both headers
# but checks the ETag and then stores with no lock, so two writers of kb/index.json that read the same ETag
# can both pass If-Match and one precedent is lost (tests/unit/local/test_moto_conditional_put.py makes it
# happen). One S3 PutObject at a time restores S3's behaviour; a put takes microseconds.
_S3_PUT_OBJECT_RESPONSE = "moto.s3.responses:S3Response.put_object"
_S3_PUTS = threading.RLock()


def _serialize_s3_puts() -> None:
    from moto.s3.responses import S3Response

    original = S3Response.put_object

    def put_object(self: Any) -> Any:
        with _S3_PUTS:
            return original(self)

    replace(_S3_PUT_OBJECT_RESPONSE, put_object)


# --- SES events ---------------------------------------------------------------------------------------
_SES_SEND_EMAIL = "moto.sesv2.responses:SESV2Response.send_email"


def _patch_ses_events() -> None:
    """SES v2 SendEmail through a configuration set publishes SES events to its SNS destination, as on AWS
    (moto stores the destination but never publishes)."""
    from moto.ses.models import ses_backends
    from moto.sesv2.responses import SESV2Response
    from moto.sns.models import sns_backends

    from local.ses_events import events_for_send

    original_send = SESV2Response.send_email

    def send_email(self: Any) -> str:
        try:
            body = original_send(self)
        except Exception:
            STATE.mail["rejected"] += 1
            raise
        STATE.mail["sent"] += 1
        params = json.loads(self.body)
        config_set = params.get("ConfigurationSetName")
        if config_set:
            core = ses_backends[self.current_account][self.region]
            destination = core.config_set_event_destination.get(config_set)
            sns = sns_backends[self.current_account][self.region]
            for topic, message in events_for_send(params, json.loads(body)["MessageId"], destination):
                if '"eventType": "Bounce"' in message:
                    STATE.mail["bounced"] += 1
                iam_record.record_service_call(SES_SERVICE, "sns", "Publish", (topic,))
                sns.publish(message, arn=topic)
        return body

    replace(_SES_SEND_EMAIL, send_email)


# --- DynamoDB under concurrent requests ---------------------------------------------------------------
_REREADS = 100  # passes before the error is let through: a writer that never stops is a bug worth seeing
# An item's reads: sizing, copying, serialising, and the plain form a ProjectionExpression (GetItem,
# BatchGetItem, Query) is cut from.
_ITEM_READS = tuple(
    f"moto.dynamodb.models.dynamo_type:Item.{m}"
    for m in ("size", "__deepcopy__", "to_json", "to_regular_json")
)
# A Query or Scan walks the table's own dict of items: a PutItem on another thread that adds a key changes
# its size mid-walk. Reads only, so walking again is safe.
_TABLE_READS = tuple(f"moto.dynamodb.models:DynamoDBBackend.{m}" for m in ("query", "scan"))


def _reread_items_changed_meanwhile() -> None:
    """moto's DynamoDB is not thread-safe, and the endpoint serves requests on many threads: a Query sizing
    (the 1 MB page limit) or copying the items it returns while an UpdateItem on another thread added an
    attribute to one of them failed with "dictionary changed size during iteration" (a 500 that botocore
    retried, and werkzeug's traceback in the middle of `make demo`'s output). Sizing, copying and
    serialising an item now start over when that happens: the update is a few attribute writes, so the
    next pass sees it done (a GetItem with a ProjectionExpression, which reads the item's plain form, failed
    the same way in a `make demo` run). The same for a whole Query or Scan, whose walk over the table's items failed
    the same way when a PutItem on another thread added an item (seen in 2 of 6 500-ticket chaos runs).
    Serialising DynamoDB requests instead was tried and lost chaos tickets: requests queued behind the
    lock outlasted their clients' read timeouts."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item

    def rereading(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            for attempt in range(_REREADS):
                try:
                    return method(self, *args, **kwargs)
                except RuntimeError as e:
                    if "changed size during iteration" not in str(e) or attempt == _REREADS - 1:
                        raise
                    if args and isinstance(args[0], dict):  # __deepcopy__'s memo: forget the half copy
                        args[0].pop(id(self), None)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    for target in _ITEM_READS:
        replace(target, rereading(getattr(Item, target.rpartition(".")[2])))
    for target in _TABLE_READS:
        replace(target, rereading(getattr(DynamoDBBackend, target.rpartition(".")[2])))


LAMBDA_INVOKE = Patch(
    "lambda-invoke",
    "emulation",
    (_LAMBDA_INVOKE,),
    "Lambda Invoke runs our handler in-process: moto runs function code only in Docker (absent here)",
    _route_lambda_invoke,
)
SNS_TO_LAMBDA = Patch(
    "sns-to-lambda",
    "emulation",
    (_SNS_PUBLISH,),
    "SNS->Lambda is an async invoke with a real SNS event, retried twice: moto calls synchronously, canned",
    _deliver_sns_to_lambda_async,
)
SDK_ERROR_NAMES = Patch(
    "sdk-error-names",
    "emulation",
    (_SDK_ERROR_NAMES,),
    "aws-sdk:comprehend errors are named Comprehend.<Code> as on AWS: moto says comprehend.<Code>",
    _name_comprehend_errors_as_aws,
)
EXECUTOR_CLIENTS = Patch(
    "executor-clients",
    "emulation",
    _EXECUTOR_CLIENTS,
    "the executor's clients are built once per service: moto builds one per task on boto3's unsafe session",
    _patch_executor_clients,
)
RETRY_WAITS = Patch(
    "retry-waits",
    "emulation",
    (_RETRIER_TIME,),
    "the executor's Retry sleep scaled by TMS_LOCAL_RETRY_WAIT_SCALE: moto sleeps each interval in full",
    _scale_retry_waits,
)
STREAM_WRITES = Patch(
    "stream-writes",
    "emulation",
    (_KINESIS_PUT_RECORD, _DYNAMODB_STREAM_ADD),
    "Kinesis and DynamoDB stream writes wake the local pollers: moto runs no event source mapping",
    _patch_stream_writes,
)
SCHEDULE_WRITES = Patch(
    "schedule-writes",
    "emulation",
    _SCHEDULE_WRITES,
    "schedule writes are announced to the local scheduler: moto stores schedules and never fires them",
    _patch_schedule_writes,
)
COMPREHEND_SENTIMENT = Patch(
    "comprehend-sentiment",
    "emulation",
    (_DETECT_SENTIMENT,),
    "DetectSentiment answered by the offline analyzer (and sentiment faults): moto answers NEUTRAL",
    _answer_sentiment_offline,
)
COMPREHEND_PII = Patch(
    "comprehend-pii",
    "emulation",
    (_DETECT_PII,),
    "DetectPiiEntities answered by the offline detector (and PII faults): moto answers a canned list",
    _answer_pii_offline,
)
DYNAMODB_FAULTS = Patch(
    "dynamodb-faults",
    "emulation",
    (_DYNAMODB_PUT_ITEM, _DYNAMODB_UPDATE_ITEM),
    "PutItem/UpdateItem: atomic with their condition, as in DynamoDB; throttled when TMS_FAULTS says so",
    _inject_dynamodb_throttling,
)
S3_FAULTS = Patch(
    "s3-faults",
    "emulation",
    (_S3_PUT_OBJECT,),
    "PutObject under tickets/ fails when TMS_FAULTS says so: fault injection at the API edge",
    _inject_s3_errors,
)
S3_CONDITIONAL_PUTS = Patch(
    "s3-conditional-puts",
    "emulation",
    (_S3_PUT_OBJECT_RESPONSE,),
    "PutObject with If-Match/If-None-Match: atomic with its condition, as in S3 (moto checks, then stores)",
    _serialize_s3_puts,
)
SES_EVENTS = Patch(
    "ses-events",
    "emulation",
    (_SES_SEND_EMAIL,),
    "SES v2 SendEmail publishes its configuration set's events to SNS: moto stores them, never publishes",
    _patch_ses_events,
)
REREAD_ITEMS = Patch(
    "reread-items",
    "emulation",
    _ITEM_READS + _TABLE_READS,
    "an item or table changed by another thread mid-read is read again: moto's DynamoDB returned a 500",
    _reread_items_changed_meanwhile,
)
CHANGE_WATCH = Patch(
    "change-watch",
    "emulation",
    (_DISPATCHER_CALL,),
    "data-store writes journaled (fsynced) before the endpoint answers: moto keeps state in memory only",
    _patch_change_watch,
)

PATCHES: tuple[Patch, ...] = (
    LAMBDA_INVOKE,
    SDK_ERROR_NAMES,
    EXECUTOR_CLIENTS,
    STREAM_WRITES,
    SCHEDULE_WRITES,
    REREAD_ITEMS,
    RETRY_WAITS,
    SNS_TO_LAMBDA,
    COMPREHEND_SENTIMENT,
    COMPREHEND_PII,
    DYNAMODB_FAULTS,
    S3_FAULTS,
    S3_CONDITIONAL_PUTS,
    SES_EVENTS,
    CHANGE_WATCH,
)
