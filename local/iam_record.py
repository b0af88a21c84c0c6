"""Records every AWS call the local stack makes on a principal's behalf (issue 28.2: roles proven sufficient).

moto enforces IAM per action only (FACTS.md), so nothing local would notice a role that lacks
`s3:GetObject` on one prefix. With recording on (`TMS_IAM_RECORD`, off by default), every boto3 client that
`contract.clients` builds carries two botocore event hooks: `before-parameter-build` notes the call
(service, operation, the resources its parameters name) and `after-call` adds what only the answer says
(the KMS key of an object read, the stream a shard iterator belongs to). A call is tagged with the
principal in effect:

- `function:<name>` while a handler runs (`LocalLambdas.invoke`, the bot's HTTP server) and while an event
  source mapping reads for it (on AWS the mapping uses the function's role);
- `states` for the calls moto's state-machine executor makes (its clients use the `moto_executor` profile);
- `glue` for the local ETL twin's S3 calls (the Glue job's role on AWS);
- `scheduler:<group>` and `service:<principal>` for what a service does itself: EventBridge Scheduler
  invoking a target, SNS delivering to a function, SES writing inbound mail to S3 or publishing events.

Calls made by nobody in particular (tests, provisioning, the local scheduler's own reads) are not recorded.
`tools.iam` checks the record against the synthesized template's policies.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from contract import names

ACCOUNT = "123456789012"  # moto's default account: the one every local ARN carries
EXECUTOR_PROFILE = "moto_executor"
STATE_MACHINE = "states"
SES_SERVICE = "service:ses.amazonaws.com"  # SES itself: receipt rules (S3, Lambda), event publishing
SNS_SERVICE = "service:sns.amazonaws.com"  # SNS itself: deliveries to Lambda subscribers
GLUE_JOB = "glue"  # the Glue job's role: the local ETL twin's S3 reads and writes (tools/analytics/runner.py)

# S3 operations on one version of an object need the *Version action instead (s3:DeleteObjectVersion, not
# s3:DeleteObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html "Permissions").
_VERSIONED = {
    "GetObject": "GetObjectVersion",
    "HeadObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
}

T = TypeVar("T")
_PRINCIPAL: contextvars.ContextVar[str | None] = contextvars.ContextVar("tms_iam_principal", default=None)


@dataclass(frozen=True)
class Call:
    """One AWS call as IAM sees it: who, which API operation, on what (ARNs), with which keys and roles."""

    principal: str
    service: str  # botocore's service name (dynamodb, dynamodbstreams, sesv2, stepfunctions, ...)
    # The API operation (PutItem, GetObject, ...); an S3 GetObject/HeadObject/DeleteObject of one version
    # (VersionId) is recorded as GetObjectVersion/DeleteObjectVersion: IAM authorizes it with that action.
    operation: str
    resources: tuple[str, ...] = ("*",)
    kms_keys: tuple[str, ...] = ()  # keys the request names or the answer reports (SSE-KMS objects)
    passed_roles: tuple[str, ...] = ()  # roles handed to the service (iam:PassRole)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Call:
        raw = json.loads(line)
        return cls(
            principal=raw["principal"],
            service=raw["service"],
            operation=raw["operation"],
            resources=tuple(raw["resources"]),
            kms_keys=tuple(raw.get("kms_keys", ())),
            passed_roles=tuple(raw.get("passed_roles", ())),
        )


class Recorder:
    """A set of distinct calls, optionally appended to a JSON Lines file as they are first seen."""

    def __init__(self, path: Path | None = None, region: str = "us-east-1") -> None:
        self.path = path
        self.region = region
        self.calls: set[Call] = set()
        self._lock = threading.Lock()
        # shard iterator -> stream ARN (GetRecords names only the iterator); bounded.
        self._iterators: OrderedDict[str, str] = OrderedDict()

    def record(self, call: Call) -> None:
        with self._lock:
            if call in self.calls:
                return
            self.calls.add(call)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(call.to_json() + "\n")

    # --- botocore hooks ---------------------------------------------------------------------------
    def attach(self, client: Any, profile: str) -> None:
        """Register the recording hooks on one client."""
        service = client.meta.service_model.service_name

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            principal = STATE_MACHINE if profile == EXECUTOR_PROFILE else _PRINCIPAL.get()
            if principal is None:
                return
            context["tms_iam_principal"] = principal
            self.record(self._call(principal, service, model.name, params))

        def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            principal = context.get("tms_iam_principal")
            for key in ("ShardIterator", "NextShardIterator"):
                if parsed.get(key) and context.get("tms_iam_stream"):
                    self._remember_iterator(parsed[key], context["tms_iam_stream"])
            if principal and parsed.get("SSEKMSKeyId") and model.name in ("GetObject", "HeadObject"):
                resources = context.get("tms_iam_resources", ("*",))
                self.record(
                    Call(principal, service, model.name, resources, (self._key_arn(parsed["SSEKMSKeyId"]),))
                )

        def stream_of(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            stream = self._stream(service, params)
            if stream:
                context["tms_iam_stream"] = stream
            context["tms_iam_resources"] = tuple(self.resources(service, model.name, params))

        client.meta.events.register("before-parameter-build", stream_of)
        client.meta.events.register("before-parameter-build", before)
        client.meta.events.register("after-call", after)

    # --- resources from parameters -------------------------------------------------------------------
    def _call(self, principal: str, service: str, operation: str, params: dict[str, Any]) -> Call:
        if service == "s3" and params.get("VersionId") and operation in _VERSIONED:
            operation = _VERSIONED[operation]
        keys: list[str] = []
        if params.get("SSEKMSKeyId"):
            keys.append(self._key_arn(params["SSEKMSKeyId"]))
        if service == "kms" and params.get("KeyId"):
            keys.append(self._key_arn(params["KeyId"]))
        roles: list[str] = []
        target = params.get("Target") or {}
        if service == "scheduler" and target.get("RoleArn"):
            roles.append(target["RoleArn"])
        return Call(
            principal,
            service,
            operation,
            tuple(sorted(set(self.resources(service, operation, params)))),
            tuple(keys),
            tuple(roles),
        )

    def _stream(self, service: str, params: dict[str, Any]) -> str | None:
        if service == "kinesis":
            if params.get("StreamARN"):
                return str(params["StreamARN"])
            if params.get("StreamName"):
                return f"arn:aws:kinesis:{self.region}:{ACCOUNT}:stream/{params['StreamName']}"
        if service == "dynamodbstreams" and params.get("StreamArn"):
            return str(params["StreamArn"])
        if params.get("ShardIterator"):
            with self._lock:
                return self._iterators.get(params["ShardIterator"])
        return None

    def _remember_iterator(self, iterator: str, stream: str) -> None:
        with self._lock:
            self._iterators[iterator] = stream
            while len(self._iterators) > 10_000:
                self._iterators.popitem(last=False)

    def _key_arn(self, key: str) -> str:
        return key if key.startswith("arn:") else f"arn:aws:kms:{self.region}:{ACCOUNT}:key/{key}"

    def resources(self, service: str, operation: str, params: dict[str, Any]) -> list[str]:
        """The ARNs an operation's parameters name ("*" where IAM knows no resource for it)."""
        r, a = self.region, ACCOUNT
        if service == "dynamodb":
            tables = (
                [params["TableName"]] if params.get("TableName") else list(params.get("RequestItems") or {})
            )
            for item in params.get("TransactItems") or []:
                tables += [v["TableName"] for v in item.values() if isinstance(v, dict) and "TableName" in v]
            arns = [t if t.startswith("arn:") else f"arn:aws:dynamodb:{r}:{a}:table/{t}" for t in tables]
            if params.get("IndexName"):
                arns = [f"{t}/index/{params['IndexName']}" for t in arns]
            return arns or ["*"]
        if service in ("kinesis", "dynamodbstreams"):
            stream = self._stream(service, params)
            return [stream] if stream else ["*"]
        if service == "s3":
            bucket = params.get("Bucket")
            if not bucket:
                return ["*"]
            if params.get("Key") is not None:
                return [f"arn:aws:s3:::{bucket}/{params['Key']}"]
            return [f"arn:aws:s3:::{bucket}"]
        if service == "sns":
            arn = params.get("TopicArn") or params.get("TargetArn")
            return [arn] if arn else ["*"]
        if service == "sqs":
            if params.get("QueueUrl"):
                return [f"arn:aws:sqs:{r}:{a}:{str(params['QueueUrl']).rstrip('/').rsplit('/', 1)[-1]}"]
            if params.get("QueueName"):
                return [f"arn:aws:sqs:{r}:{a}:{params['QueueName']}"]
            return ["*"]
        if service == "lambda" and params.get("FunctionName"):
            fn = str(params["FunctionName"])
            return [fn if fn.startswith("arn:") else f"arn:aws:lambda:{r}:{a}:function:{fn}"]
        if service == "stepfunctions":
            arn = params.get("stateMachineArn") or params.get("executionArn")
            return [arn] if arn else ["*"]
        if service == "scheduler" and params.get("Name"):
            group = params.get("GroupName") or "default"
            return [f"arn:aws:scheduler:{r}:{a}:schedule/{group}/{params['Name']}"]
        if service == "secretsmanager" and params.get("SecretId"):
            sid = str(params["SecretId"])
            return [sid if sid.startswith("arn:") else f"arn:aws:secretsmanager:{r}:{a}:secret:{sid}"]
        if service == "sesv2" and operation == "SendEmail":
            out = []
            sender = params.get("FromEmailAddressIdentityArn")
            if sender:
                out.append(sender)
            elif params.get("FromEmailAddress"):
                address = str(params["FromEmailAddress"]).rsplit("<", 1)[-1].rstrip(">").strip()
                out.append(f"arn:aws:ses:{r}:{a}:identity/{address}")
            if params.get("ConfigurationSetName"):
                out.append(f"arn:aws:ses:{r}:{a}:configuration-set/{params['ConfigurationSetName']}")
            return out or ["*"]
        if service == "bedrock-runtime" and params.get("modelId"):
            model = str(params["modelId"])
            return [model if model.startswith("arn:") else f"arn:aws:bedrock:{r}::foundation-model/{model}"]
        if service == "kms" and params.get("KeyId"):
            return [self._key_arn(str(params["KeyId"]))]
        return ["*"]


RECORDER: Recorder | None = None


def recording_path() -> Path | None:
    """TMS_IAM_RECORD: the JSON Lines file to append recorded calls to (unset: no recording)."""
    raw = os.environ.get(names.ENV_IAM_RECORD, "").strip()
    return Path(raw) if raw else None


def start(path: Path | None, region: str = "us-east-1") -> Recorder:
    """Record from now on (every client built after this carries the hooks); idempotent per path."""
    global RECORDER
    from contract import clients

    if RECORDER is None or RECORDER.path != path:
        RECORDER = Recorder(path, region)
        recorder = RECORDER
        clients.set_client_hook(recorder.attach)
        clients.clear_cache()
    return RECORDER


def stop() -> None:
    """Stop recording (clients built from now on carry no hooks)."""
    global RECORDER
    from contract import clients

    RECORDER = None
    clients.set_client_hook(None)
    clients.clear_cache()


@contextlib.contextmanager
def acting_as(principal: str) -> Iterator[None]:
    """Tag the AWS calls made in this block (this thread or task) with `principal`."""
    token = _PRINCIPAL.set(principal)
    try:
        yield
    finally:
        _PRINCIPAL.reset(token)


def in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` run in a copy of the caller's context (its principal) from any thread: a pool's workers do not
    inherit the submitting thread's context variables."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.copy().run(fn, *args, **kwargs)

    return run


def function(name: str) -> str:
    """The principal of a function's execution role."""
    return f"function:{name}"


def record_service_call(principal: str, service: str, operation: str, resources: tuple[str, ...]) -> None:
    """Record a call a service makes itself (no client of ours makes it); no-op unless recording."""
    if RECORDER is not None:
        RECORDER.record(Call(principal, service, operation, resources))


def load(path: Path) -> set[Call]:
    """Every call recorded in a JSON Lines file."""
    if not path.exists():
        return set()
    return {Call.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
