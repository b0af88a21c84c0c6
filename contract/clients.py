"""The one way to build an AWS client in tms: every adapter, command, bench and the bot come here.

A client is built from a stack description (anything with `endpoint_url` and `region`, e.g.
local.stack.StackInfo) or, without one, from the standard AWS environment (region, credentials,
AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>), which is what Lambda functions use. A local stack
(`endpoint_url` set) gets moto's dummy credentials from here, so no command needs ~/.aws or AWS_* variables
to talk to it; a deployed stack (`endpoint_url` None) gets boto3's default credential chain.

Per-use botocore settings are named profiles (PROFILES): the bot's short timeouts for Slack's 3-second
ack, the ETL's long read timeout, ... A profile is a parameter, never a second way of building clients.
Clients are cached per (service, stack, profile): built once per process, as STYLE.md asks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol

from botocore.config import Config

# moto accepts any credentials; these are its documented dummy values. Only ever used with an endpoint.
LOCAL_CREDENTIALS: dict[str, str] = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}

# The longest an operator's function (erasure) runs: its Lambda timeout (CDK) and what `invoke` waits for.
OPERATOR_FUNCTION_TIMEOUT_S = 120

# botocore's `max_attempts` counts RETRIES (3 = up to 4 attempts); `total_max_attempts` counts attempts, the
# initial one included: the profiles whose comment names an exact number of attempts use it.
PROFILES: dict[str, Config] = {
    # Lambda handlers and adapters: a few adaptive retries, modest timeouts.
    "default": Config(
        retries={"max_attempts": 5, "mode": "adaptive"},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=50,
    ),
    # The bot writes inside Slack's 3 s ack budget: short timeouts, few standard-mode retries.
    "bot": Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=1,
        read_timeout=2,
        max_pool_connections=20,
    ),
    # Operator commands (demo, generate, retry, dlq, submit): patient, many standard retries.
    "cli": Config(
        retries={"max_attempts": 8, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=20,
    ),
    # A synchronous invoke of a long operator function (erasure): waits past the function's own timeout, and
    # never retries on a read timeout (that would start the work again beside the running one).
    "invoke": Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=OPERATOR_FUNCTION_TIMEOUT_S + 30,
        max_pool_connections=4,
    ),
    # The ETL copies the archive with many threads and large reads.
    "etl": Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=16,
    ),
    # Bulk ingest: PutRecords batches; the sender retries failed entries itself (partial failures).
    "ingest": Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=20,
    ),
    # Bedrock: one quick SDK retry; the workflow's ASL Retry does the backoff.
    "llm": Config(retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=90),
    # The incident step's second opinion: a yes/no answer of a few tokens, asked inside a 60 s function that
    # also embeds; one attempt, bounded well under the function's timeout (a slow judge is a failed one, and
    # a failed one leaves the link as scored).
    "judge": Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=15
    ),
    # The local runtime's pollers, provisioning and checks against its loopback endpoint.
    "local": Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=50),
    # moto's state-machine executor calling back into the endpoint: no retries (the ASL declares them),
    # no client-side validation (the service validates), generous timeouts and pool.
    "moto_executor": Config(
        parameter_validation=False,
        retries={"max_attempts": 0, "total_max_attempts": 1},
        connect_timeout=60,
        read_timeout=60,
        max_pool_connections=100,
    ),
}


class StackEndpoint(Protocol):
    """What a client needs to know about a stack (local.stack.StackInfo has it)."""

    @property
    def endpoint_url(self) -> str | None: ...

    @property
    def region(self) -> str: ...


# Client lookup and creation are serialised: clients are thread-safe once built, sessions are not while
# building, and functools.cache alone lets two threads build the same client at once.
_CREATE_LOCK = threading.Lock()

# Called with (client, profile) for every client built: the local runtime's IAM call recorder
# (local/iam_record.py) registers its botocore event hooks here. None - the default, and always on
# Lambda - costs nothing.
_CLIENT_HOOK: Callable[[Any, str], None] | None = None


def set_client_hook(hook: Callable[[Any, str], None] | None) -> None:
    """Have `hook(client, profile)` called on every client built from now on (None: no hook)."""
    global _CLIENT_HOOK
    _CLIENT_HOOK = hook


@functools.cache
def _session(endpoint_url: str | None, region: str | None) -> Any:
    """One boto3 session per endpoint and region: its clients share the service models and the endpoint
    rules it loaded once (a session per client reloaded them for every client, ~0.2 s CPU each)."""
    import boto3

    if endpoint_url:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
            aws_session_token=LOCAL_CREDENTIALS["aws_session_token"],
            region_name=region,
        )
    return boto3.session.Session(region_name=region)


@functools.cache  # a functools cache, so the local runtime's cold start (cache_clear on all) forgets it too
def _cached_client(service: str, endpoint_url: str | None, region: str | None, profile: str) -> Any:
    config = PROFILES[profile]
    session = _session(endpoint_url, region)
    if endpoint_url:
        client = session.client(service, endpoint_url=endpoint_url, config=config)
    else:
        client = session.client(service, config=config)
    if _CLIENT_HOOK is not None:
        _CLIENT_HOOK(client, profile)
    return client


def aws_client(
    service: str,
    stack: StackEndpoint | None = None,
    *,
    profile: str = "default",
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Any:
    """A configured boto3 client for `service`, cached per process.

    `stack`: talk to that stack (its endpoint and region; moto's dummy credentials when it is local).
    Without it: `endpoint_url`/`region` when given, else the standard AWS environment.
    `profile`: a key of PROFILES (timeouts and retries for this use).
    """
    if profile not in PROFILES:
        raise KeyError(f"no AWS client profile {profile!r}; known: {', '.join(PROFILES)}")
    if stack is not None:
        endpoint_url, region = stack.endpoint_url, stack.region
    with _CREATE_LOCK:
        return _cached_client(service, endpoint_url, region, profile)


@functools.cache
def dynamodb_serializer() -> Any:
    """boto3's DynamoDB attribute-value serializer, built on first use: importing boto3's package loads its
    session and s3transfer, which the functions otherwise load with their first client, not at import."""
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@functools.cache
def dynamodb_deserializer() -> Any:
    """boto3's DynamoDB attribute-value deserializer, built on first use (see dynamodb_serializer)."""
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def clear_cache() -> None:
    """Forget every cached client (a test that changes the environment, a stack that restarted)."""
    _cached_client.cache_clear()
    _session.cache_clear()
