"""Lambda packaging and the one way every tms function is built.

Code: whole source folders (contract/, pipeline/, bot/), chosen by inclusion, staged into a directory
and shipped as an asset, no Docker, no committed zip. Nothing is deleted after copying and no single file
is copied in from elsewhere. Third-party dependencies: one LayerVersion built by
`make layer` (infra/layer.py: pip, wheels for Lambda's glibc only, pinned by requirements.lock) into
build/lambda-layer/.
A synth without the layer (tests, CI, a fresh clone offline) gets an empty placeholder layer and a
warning; `require_layer` (set by `make deploy`) turns that into an error so it is never deployed.
Also here: the dead-letter queue every asynchronous path into a function ends in, and the failure handling
every stream mapping (Kinesis, DynamoDB streams) shares.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract import names
from infra.components._nag import acknowledge, skip_checkov
from infra.layer import DEFAULT_DEST, compile_for_lambda, require_lambda_python

# contract.names.LAMBDA_PYTHON: python3.13 on Amazon Linux 2023 (python3.11 ran on Amazon Linux 2, whose end of
# life was 2026-06-30; Lambda SnapStart for Python needs 3.12+).
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + names.LAMBDA_PYTHON.replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.X86_64
LAYER_DIR = DEFAULT_DEST
LAMBDA_TASK_ROOT = "/var/task"  # where the code asset is unpacked
# The folders that deploy to Lambda (README "Layout"): the contract every component shares and the two
# runtime packages, whole. Laptop-only code lives in other folders (local/, tools/); a handler importing
# it fails its import test on the layer (tests/integration/test_lambda_layer.py).
CODE_PACKAGES = ("contract", "pipeline", "bot")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")
DLQ_RETENTION = Duration.days(14)  # SQS's maximum: time to read, fix and redrive what failed
STREAM_RETRY_ATTEMPTS = 3
# Both streams keep records for 24 hours; a record older than this is dead-lettered (with its shard position,
# so it can still be read from the stream until the stream trims it).
STREAM_MAX_RECORD_AGE = Duration.hours(6)


class MissingLayerError(RuntimeError):
    """The dependency layer is required (deploy) but `make layer` has not built it."""


def stage_code(dest: Path, *, repo_root: Path = names.REPO_ROOT, require_bytecode: bool = False) -> Path:
    """Copy the runtime source packages into dest (the Lambda code asset), precompiled for the functions'
    Python, and return dest. Without an interpreter of that version the asset ships sources only (each cold
    start then compiles what it imports: ~3x slower imports), unless `require_bytecode` (deploy) refuses."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for package in CODE_PACKAGES:
        shutil.copytree(repo_root / package, dest / package, ignore=_IGNORE)
    compile_for_lambda(dest, LAMBDA_TASK_ROOT, python=require_lambda_python() if require_bytecode else None)
    return dest


def layer_is_built(layer_dir: Path = LAYER_DIR) -> bool:
    """Whether `make layer` has produced build/lambda-layer/python with packages in it."""
    site = layer_dir / "python"
    return site.is_dir() and any(site.iterdir())


def placeholder_layer(dest: Path) -> Path:
    """An empty layer directory so synth works before (or without) `make layer`."""
    (dest / "python").mkdir(parents=True, exist_ok=True)
    (dest / "python" / "PLACEHOLDER.txt").write_text(
        "Placeholder: run `make layer` before deploying; see infra/components/lambdas.py.\n"
    )
    return dest


class LambdaPackage(Construct):
    """What every function shares: the code asset, the dependency layer, the project its functions are named
    for, and their log groups' key and retention."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        layer_dir: Path,
        layer_built: bool,
        log_key: kms.IKey,
        project_name: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        # Every function's log group (and the workflow's) is encrypted with this customer-managed key.
        self.log_key = log_key
        self.project_name = project_name
        self.log_retention = log_retention
        self.code = lambda_.Code.from_asset(str(code_dir))
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="tms third-party dependencies (pyproject.toml dependencies, constrained by requirements.lock)",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.layer_built = layer_built
        if not layer_built:
            Annotations.of(self).add_warning_v2(
                "tms:layer-missing",
                "build/lambda-layer is not built: the functions get an EMPTY dependency layer. "
                "Run `make layer` before `cdk deploy` (make deploy does, and sets require_layer).",
            )


def encrypted_log_group(
    scope: Construct, construct_id: str, *, package: LambdaPackage, log_group_name: str
) -> logs.LogGroup:
    """A tms log group (a function's, the workflow's, an API's access log): encrypted with the package's
    logs key, kept the package's retention, deleted with the stack."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        retention=package.log_retention,
        encryption_key=package.log_key,
        removal_policy=RemovalPolicy.DESTROY,
    )


class ServiceFunction(Construct):
    """A tms Lambda: own role, own log group with retention, X-Ray tracing, Powertools settings.

    `name` is its key in contract.names.HANDLERS: the function is <project>-<name>, runs that handler, logs
    as Powertools service `name` and puts metrics in the project's namespace (the package's project)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        package: LambdaPackage,
        description: str,
        memory_size: int,
        timeout: Duration,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        snapstart: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        project_name = package.project_name
        function_name = f"{project_name}-{name}"
        self.log_group = encrypted_log_group(
            self, "Logs", package=package, log_group_name=f"/aws/lambda/{function_name}"
        )
        # A role per function instead of AWSLambdaBasicExecutionRole: logs only to its own group.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name} execution role",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=names.HANDLERS[name],
            code=package.code,
            layers=[package.layer],
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
            # SnapStart snapshots each published version after its init; $LATEST never uses it.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snapstart else None,
            environment={
                names.ENV_POWERTOOLS_SERVICE_NAME: name,
                "POWERTOOLS_METRICS_NAMESPACE": project_name,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **names.LAMBDA_RUNTIME_ENV,
                **(environment or {}),
            },
        )
        acknowledge(
            self.role,
            "IAM5",
            "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions (tracing ACTIVE).",
            "Resource::*",
        )
        acknowledge(
            self.function,
            "L1",
            "python3.13 (Amazon Linux 2023, supported until 2029-06-30), not 3.14: the runtime's Python must "
            "run where tms is built and tested, to compile the assets' bytecode and run the Lambda-side tests "
            "(make test), and the developers' and CI's machines have Python up to 3.13 (docs/deploy.md).",
        )
        _skip_checkov_function_findings(self.function, reserved=reserved_concurrency is not None)


def metered_function(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    package: LambdaPackage,
    description: str,
    timeout: Duration,
    environment: Mapping[str, str] | None = None,
    reserved_concurrency: int | None = None,
) -> ServiceFunction:
    """A ServiceFunction whose GB-seconds a ticket records: its memory is the one the cost per ticket reads
    (names.FUNCTION_MEMORY_MB[name]), so the deployed size and the costed size cannot drift apart."""
    if name not in names.FUNCTION_MEMORY_MB:
        raise ValueError(
            f"{name!r} has no memory in contract.names.FUNCTION_MEMORY_MB: add it there (cost per ticket reads "
            "it) or build the function with ServiceFunction and its own memory_size"
        )
    return ServiceFunction(
        scope,
        construct_id,
        name=name,
        package=package,
        description=description,
        memory_size=names.FUNCTION_MEMORY_MB[name],
        timeout=timeout,
        environment=environment,
        reserved_concurrency=reserved_concurrency,
    )


def _skip_checkov_function_findings(function: lambda_.Function, *, reserved: bool) -> None:
    skip_checkov(
        function,
        "CKV_AWS_116",
        "No DLQ on the function: nothing invokes it asynchronously without a failure path. Step Functions "
        "tasks and the function URL are synchronous (ASL Catch marks the ticket FAILED; Slack retries), "
        "stream mappings have the on-failure destination (the tickets DLQ), and the notifier's SNS deliveries "
        "are retried by Lambda with every error counted by the function's Errors alarm.",
    )
    skip_checkov(
        function,
        "CKV_AWS_117",
        "Not in a VPC: the function reaches only public AWS endpoints (IAM-authorized) and the Slack API; "
        "it touches no private network resource, and a VPC would add NAT gateways and cold-start ENIs.",
    )
    skip_checkov(
        function,
        "CKV_AWS_173",
        "The environment holds resource names, ARNs and settings only, never a secret (Slack tokens and "
        "database passwords are read from Secrets Manager at run time); Lambda encrypts it at rest.",
    )
    if not reserved:
        skip_checkov(
            function,
            "CKV_AWS_115",
            "No reserved concurrency: its load is bounded upstream (stream shards and mapping batch size, "
            "SNS deliveries, Slack's request rate), and reserving capacity would throttle the Slack ack path. "
            "The one function that calls a quota-limited API (draft-reply, Bedrock) has a reserved limit.",
        )


def dead_letter_queue(
    scope: Construct, construct_id: str, *, queue_name: str, key: kms.IKey, reason: str
) -> sqs.Queue:
    """An SSL-only dead-letter queue encrypted with key, kept DLQ_RETENTION, deleted with the stack; reason
    says whose dead-letter queue it is (cdk-nag SQS3 asks every queue for one of its own)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge(queue, "SQS3", reason)
    return queue


def scheduler_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    """The role EventBridge Scheduler assumes to invoke a function on schedule: trusted by the scheduler
    acting for this account only (aws:SourceAccount, the confused-deputy guard); the caller grants the
    invoke and the dead-letter queue."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
        description=description,
    )


def stream_failure_handling(dlq: sqs.IQueue) -> dict[str, Any]:
    """The keyword arguments every stream event source takes for bounded failure handling: bisect a failing
    batch, STREAM_RETRY_ATTEMPTS retries, STREAM_MAX_RECORD_AGE, partial batch responses, one batch per shard
    at a time (a ticket's records stay in order), and dlq as the on-failure destination."""
    return {
        "bisect_batch_on_error": True,
        "retry_attempts": STREAM_RETRY_ATTEMPTS,
        "max_record_age": STREAM_MAX_RECORD_AGE,
        "report_batch_item_failures": True,
        "parallelization_factor": 1,
        "on_failure": sources.SqsDlq(dlq),
    }
