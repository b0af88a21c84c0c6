"""Adapters plugged into moto where it cannot do what AWS does offline (FACTS.md):

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
- Fault injection (TMS_FAULTS) for DynamoDB, S3 and sentiment lives here, at the AWS API edge, never in
  the domain.

`install()` is idempotent and process-wide: one local stack per process.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract import names
from contract.errors import ConfigurationError
from local import iam_record
from local.iam_record import SES_SERVICE, SNS_SERVICE
from local.lambdas import LocalLambdas

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
    installed: bool = False
    retry_wait_scale: float = 1.0
    sns_deliveries: int = 0
    # SES v2 SendEmail at the endpoint: accepted, rejected, and bounce events (local mail alarms read them).
    mail: dict[str, int] = field(default_factory=lambda: {"sent": 0, "rejected": 0, "bounced": 0})
    # (service, stream or table name) -> callbacks run after a write to it (the local pollers' wake-up).
    stream_watchers: dict[tuple[str, str], list[Callable[[], None]]] = field(default_factory=dict)
    # (group, schedule name) -> None after a schedule is written (the local scheduler's wake-up).
    schedule_watcher: Callable[[str, str], None] | None = None


STATE = PatchState()
_install_lock = threading.Lock()


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


def install(
    lambdas: LocalLambdas,
    sentiment: Callable[[str, str], dict[str, Any]],
    should_fail: Callable[[str], bool],
    async_workers: int = 4,
    retry_wait_scale: float = 1.0,
) -> AsyncInvoker:
    """Route moto's Lambda, SNS->Lambda and Comprehend sentiment to our local adapters (idempotent)."""
    with _install_lock:
        if STATE.invoker is not None:
            STATE.invoker.stop()
        STATE.lambdas = lambdas
        STATE.sentiment = sentiment
        STATE.should_fail = should_fail
        STATE.invoker = AsyncInvoker(lambdas, workers=async_workers)
        STATE.invoker.start()
        STATE.retry_wait_scale = retry_wait_scale
        if not STATE.installed:
            _patch_moto()
            STATE.installed = True
        return STATE.invoker


def watch_streams(watchers: dict[tuple[str, str], list[Callable[[], None]]]) -> None:
    """Who to tell after a write to a Kinesis stream or a DynamoDB table's stream; replaces the previous
    watchers (one local stack per process). `install()` must have patched moto."""
    STATE.stream_watchers = watchers


def watch_schedules(watcher: Callable[[str, str], None] | None) -> None:
    """Who to tell (group, schedule name) after a schedule is created, updated or deleted; replaces the
    previous watcher. `install()` must have patched moto."""
    STATE.schedule_watcher = watcher


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
        setattr(EventBridgeSchedulerBackend, method, announcing(getattr(EventBridgeSchedulerBackend, method)))
    EventBridgeSchedulerBackend.delete_schedule = delete_schedule  # type: ignore[method-assign]


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

    Stream.put_record = put_record  # type: ignore[method-assign]
    StreamShard.add = add  # type: ignore[method-assign]


def _patch_moto() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.comprehend.exceptions import TextSizeLimitExceededException
    from moto.comprehend.models import ComprehendBackend
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend
    from moto.sns.models import Subscription

    LambdaSimpleBackend.invoke = _lambda_invoke  # type: ignore[method-assign]
    # AWS names aws-sdk integration errors "Comprehend.<Code>"; moto says "comprehend.<Code>", so the
    # ASL's Retry never matched and a transient sentiment error failed the ticket.
    # https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk_task,
    )

    aws_sdk_task._SERVICE_ERROR_NAMES["comprehend"] = "Comprehend"
    _patch_executor_clients()
    _patch_stream_writes()
    _patch_schedule_writes()
    _cache_executor_parsing()
    _cache_backend_lookup()
    _cache_action_names()
    _fast_attribute_values()
    _cache_update_expressions()
    _narrow_index_queries()
    _reread_items_changed_meanwhile()
    _scale_retry_waits()

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

    Subscription.publish = publish  # type: ignore[method-assign]

    def detect_sentiment(self: Any, text: str, language: str) -> dict[str, Any]:
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

    ComprehendBackend.detect_sentiment = detect_sentiment  # type: ignore[method-assign]

    def detect_pii_entities(self: Any, text: str, language: str) -> list[dict[str, Any]]:
        # moto answers a canned entity list whatever the text: the offline detector answers instead
        # (moto's response wraps the list as {"Entities": [...]}).
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

    ComprehendBackend.detect_pii_entities = detect_pii_entities  # type: ignore[method-assign]

    original_put_item = DynamoDBBackend.put_item
    original_update_item = DynamoDBBackend.update_item

    def _throttle() -> None:
        if STATE.should_fail("dynamodb_throttle"):
            raise JsonRESTError("ProvisionedThroughputExceededException", "injected fault: dynamodb_throttle")

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _throttle()
        return original_put_item(self, *args, **kwargs)

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _throttle()
        return original_update_item(self, *args, **kwargs)

    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]

    original_put_object = S3Backend.put_object

    def put_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        if key_name.startswith("tickets/") and STATE.should_fail("s3_error"):
            raise S3ClientError("InternalError", "injected fault: s3_error")
        return original_put_object(self, bucket_name, key_name, *args, **kwargs)

    S3Backend.put_object = put_object  # type: ignore[method-assign]
    _patch_ses_events()


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

    SESV2Response.send_email = send_email  # type: ignore[method-assign]


_EXECUTOR_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
)


def _patch_executor_clients() -> None:
    """moto's executor builds a new boto3 client for every task call (tens of ms each, on the shared,
    non-thread-safe default session). One client per (region, service) keeps the same behaviour - no
    retries, the same endpoint - at a fraction of the cost, so local throughput is bounded by our code."""
    import importlib

    from moto.settings import moto_server_port

    from contract.clients import aws_client

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        port = moto_server_port()  # a later stack in this process listens elsewhere
        return aws_client(
            service, endpoint_url=f"http://127.0.0.1:{port}", region=region, profile="moto_executor"
        )

    for name in _EXECUTOR_MODULES:
        module = importlib.import_module(name)
        module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


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

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    def sleep(seconds: float) -> None:
        time.sleep(seconds * STATE.retry_wait_scale)

    retrier_decl.time = types.SimpleNamespace(sleep=sleep)  # type: ignore[assignment]


def _cache_executor_parsing() -> None:
    """moto re-parses the whole ASL with ANTLR for every execution and builds a new JSONPath parser
    (yacc tables) for every path it evaluates: together about a third of the local stack's CPU. Both
    results are pure functions of their text; per-execution state (retry counters, the data stack)
    lives in each execution's Environment, so one parsed program serves every execution."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    parse_asl = functools.lru_cache(maxsize=16)(AmazonStateLanguageParser.parse)
    AmazonStateLanguageParser.parse = staticmethod(parse_asl)  # type: ignore[method-assign]
    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)  # type: ignore[attr-defined]


def _cache_backend_lookup() -> None:
    """moto's server finds the backend of every request by listing its own package directory (an
    `isdir` per service, ~200) and then trying each service's URL regex in turn until one matches the
    request's host: ~15 % of the CPU of a simple request. The answer depends on the host name only (a few
    dozen distinct ones), so it is remembered per host."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lookup = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = lookup(self, host)
        return known[host]

    get_backend_for_host.__wrapped__ = lookup  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _cache_action_names() -> None:
    """Every query-protocol and JSON request asks `inspect.getmembers` for its handler class's method
    names, to see whether the action is one: a pure function of the class, remembered per class."""
    from moto.core import responses

    names_of = responses.method_names_from_class

    @functools.cache
    def method_names(clazz: object) -> frozenset[str]:
        return frozenset(names_of(clazz))

    responses.method_names_from_class = method_names  # type: ignore[assignment]


def new_message_id() -> str:
    """An SNS-like message id."""
    return str(uuid.uuid4())


def _fast_attribute_values() -> None:
    """moto serialises each DynamoDB attribute value by asking its attribute picker for all ten members of
    the `AttributeValue` union (S, N, B, M, L, ...), each through six alias providers, a camel-case
    transform and a new picker context: ~15 % of the chaos run's CPU, in responses that are mostly items.
    An attribute value arrives here as a plain dict keyed by its type (`{"S": "..."}`), for which the
    picker can only ever find the keys the dict has; those members are serialised as moto would, in the
    model's member order. Anything else (another shape, an object, a stray key, a response transformer)
    takes moto's own path."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        members = shape.members
        if (
            shape.name != "AttributeValue"
            or type(value) is not dict
            or not value.keys() <= members.keys()
            or getattr(self._value_picker, "response_transformers", None)
        ):
            original(self, serialized, value, shape, key)
            return
        wrapper = self.MAP_TYPE() if key else serialized
        for member_key, member_shape in members.items():
            member_shape.parent = shape
            member_value = value.get(member_key)
            if member_value is not None:
                self._serialize(wrapper, member_value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)

    serialize_structure.__wrapped__ = original  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def _cache_update_expressions() -> None:
    """moto parses every UpdateExpression twice per UpdateItem (once to list the names and values it
    uses, once to run it) and its validator then deep-copies the tree to work on: ~8 % of a chaos run's
    CPU. The parse is a pure function of the text, and both readers leave the tree as it is (the
    validator works on its copy), so one parse per distinct expression serves all; the validator's copy
    is made by a pickle round trip, 2.5x faster than `copy.deepcopy` for these plain-object trees (a tree
    that will not pickle is deep-copied as before)."""
    import copy
    import pickle

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    parse = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    cached = functools.lru_cache(maxsize=1024)(functools.partial(parse, UpdateExpressionParser))
    UpdateExpressionParser.make = staticmethod(cached)  # type: ignore[method-assign,assignment]

    def fresh_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and isinstance(value, Node):
            try:  # bytes pickled one line earlier, from moto's own parse: nothing untrusted is loaded
                return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301
            except (pickle.PicklingError, TypeError, AttributeError):
                pass
        return copy.deepcopy(value, memo)

    fresh_copy.__wrapped__ = copy.deepcopy  # type: ignore[attr-defined]
    validators.deepcopy = fresh_copy  # type: ignore[assignment]


_REREADS = 100  # passes before the error is let through: a writer that never stops is a bug worth seeing


def _reread_items_changed_meanwhile() -> None:
    """moto's DynamoDB is not thread-safe, and the endpoint serves requests on many threads: a Query sizing
    (the 1 MB page limit) or copying the items it returns while an UpdateItem on another thread added an
    attribute to one of them failed with "dictionary changed size during iteration" (a 500 that botocore
    retried, and werkzeug's traceback in the middle of `make demo`'s output). Sizing, copying and
    serialising an item now start over when that happens: the update is a few attribute writes, so the
    next pass sees it done. Serialising DynamoDB requests instead was tried and lost chaos tickets:
    requests queued behind the lock outlasted their clients' read timeouts."""
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

    for name in ("size", "__deepcopy__", "to_json"):
        method = getattr(Item, name)
        if not getattr(method, "_tms_rereading", False):
            wrapped = rereading(method)
            wrapped._tms_rereading = True  # type: ignore[attr-defined]
            setattr(Item, name, wrapped)


def _narrow_index_queries() -> None:
    """moto answers a Query on a global secondary index by walking every item of the table and, for each
    one with the index's hash key, sorting it and sizing it whole before it looks at the range condition.
    The vector index's catch-up asks for the few vectors written since its last look (`embedded_at >=`)
    in a day's partition, so each ticket's query cost grew with the whole day's tickets (~5 % of a
    300-ticket chaos run's CPU, more at 500). Here the items that fail the range condition are left out
    before moto's own query runs on the rest, with moto's comparison: the same answer, and pages no
    longer break early on the size of items that were never going to match."""
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    narrowed = threading.local()

    def all_items(self: Any) -> Any:
        items = getattr(narrowed, "items", None)
        if items is not None and items[0] is self:
            return items[1]
        return original_all_items(self)

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # moto's DynamoDBBackend.query passes (..., limit, exclusive_start_key, scan_index_forward,
        # projection_expressions, index_name, ...) by position and the key conditions by keyword.
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        conditions = kwargs.get("range_key_conditions")
        if not (index_name and range_comparison and conditions and len(conditions) == 1):
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        attr = conditions[0][0]
        items = [
            item
            for item in original_all_items(self)
            if (value := item.attrs.get(attr)) and value.compare(range_comparison, range_objs)
        ]
        narrowed.items = (self, items)
        try:
            return original_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            narrowed.items = None

    query.__wrapped__ = original_query  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
