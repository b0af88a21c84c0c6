"""Shared fixtures: every test run gets its own state dir, so tests never touch a user's local stack."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from moto.core import config as _moto_config

from contract import names
from contract.models import Customer, Source, TicketData, TicketSubmitted

# moto replaces boto3's default session at every mock start, so every test re-parses botocore's endpoint and
# service JSON (~0.1 s a session, ~20 s of the unit suite). Tests run without real credentials and every client
# names its region, so one default session per worker serves them all.
_moto_config.default_user_config["core"]["reset_boto3_session"] = False
SUITE_SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"


@pytest.fixture(autouse=True, scope="session")
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    state = tmp_path_factory.mktemp("tms-state")
    saved = os.environ.get(names.ENV_STATE_DIR)
    os.environ[names.ENV_STATE_DIR] = str(state)
    # Tests never reach a real LLM or AWS account, whatever the developer's shell exports.
    for var in (names.ENV_LLM_PROVIDER, names.ENV_LLM_BASE_URL, names.ENV_FAULTS, "AWS_PROFILE"):
        os.environ.pop(var, None)
    # Local stacks (in-process and every `tms` subprocess) wait a tenth of the ASL's Retry intervals: the
    # attempts, backoff and jitter are the declared ones, the suite just does not sleep through them.
    saved_scale = os.environ.get(names.ENV_LOCAL_RETRY_WAIT_SCALE)
    os.environ[names.ENV_LOCAL_RETRY_WAIT_SCALE] = "0.1"
    # Tests put many tickets of one test customer (make_ticket's) through a stack: the new-ticket limits are
    # raised for the suite; tests/unit/pipeline/domain/test_limits.py and the trigger's test use the defaults.
    limits = {names.ENV_TICKETS_PER_SENDER: "100000", names.ENV_TICKETS_PER_DOMAIN: "1000000"}
    # Every local Spark the suite starts (in a worker, `tms chaos`'s, `tms etl`'s) compiles with the JVM's
    # quick compiler only: its loads are a few dozen rows to a few hundred, and the optimizing compiler cost
    # ~37 % more JVM CPU for them (docs/measurements/2026-12-07e-suite-time.md).
    # (Set in the environment, even empty, it is kept: TMS_SPARK_JAVA_OPTIONS= measures the JVM's defaults.)
    limits[names.ENV_SPARK_JAVA_OPTIONS] = os.environ.get(
        names.ENV_SPARK_JAVA_OPTIONS, SUITE_SPARK_JAVA_OPTIONS
    )
    saved_limits = {k: os.environ.get(k) for k in limits}
    os.environ.update(limits)
    yield
    for k, v in saved_limits.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if saved_scale is None:
        os.environ.pop(names.ENV_LOCAL_RETRY_WAIT_SCALE, None)
    else:
        os.environ[names.ENV_LOCAL_RETRY_WAIT_SCALE] = saved_scale
    if saved is None:
        os.environ.pop(names.ENV_STATE_DIR, None)
    else:
        os.environ[names.ENV_STATE_DIR] = saved


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process with dummy credentials: never the local stack's endpoint, never a real account."""
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, step: float = 0.1) -> T:
    """Poll `predicate` until it returns something truthy and return that; fail the test naming `what`
    once `timeout` seconds passed (the local stack's effects are asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def make_ticket(
    subject: str = "Cannot reach my instance",
    description: str = "Our production instance stopped answering on port 443 this morning.",
    product: str = "Amazon EC2",
    issue_type: str = "Instance Connectivity",
    now: datetime | None = None,
) -> TicketSubmitted:
    """A valid ticket event for tests."""
    return TicketSubmitted.new(
        TicketData(
            subject=subject,
            description=description,
            customer=Customer(
                first_name="Ana",
                last_name="Silva",
                full_name="Ana Silva",
                email="ana@example.com",
                company="Acme",
            ),
            product=product,
            issue_type=issue_type,
        ),
        Source.API,
        now=now or datetime.now(UTC),
    )


@pytest.fixture
def ticket() -> TicketSubmitted:
    return make_ticket()


def expected_alarm_names() -> set[str]:
    """Every alarm the stack must define (without the project prefix): the workflow's, the stream's,
    the DLQ's, customer mail's (refused sends, bounce rate), and errors and throttles of every function."""
    expected = {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "StreamIteratorAge",
        "DlqNotEmpty",
        "RepliesNotSent",
        "BounceRate",
        "SlaDlqNotEmpty",
        "LifecycleDlqNotEmpty",
        "KbSyncDlqNotEmpty",
    }
    expected |= {
        f"{fn.title().replace('-', '')}{kind}" for fn in names.HANDLERS for kind in ("Errors", "Throttles")
    }
    return expected


# --- distribution over xdist workers (`--dist loadfile`, see the Makefile) ----------------------------------
# Each test file runs whole on one worker (its module fixtures, e.g. a local stack, start once). Files are
# handed out in collection order, so the heaviest go first (longest-processing-time first) and neither
# worker is left with a long file at the end. xdist re-sorts the files by their number of tests unless told
# not to (`loadscopereorder`, on by default): that had queued the 4-test chaos file behind ~90 s of many-test
# files, and the whole suite waited for it (378 s; 281 s with the order kept, same machine, back to back).
HEAVIEST_FIRST = (
    "tests/integration/test_chaos.py",  # one 500-ticket run under faults: minutes
    "tests/integration/test_lambda_layer.py",  # pip assembles a ~200 MB layer (reused when inputs match)
    "tests/integration/test_etl_duckdb.py",
    "tests/integration/test_etl_postgres.py",
    "tests/integration/test_cli_local.py",
    "tests/integration/test_pipeline_local.py",
    "tests/unit/glue/test_transforms.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # xdist is installed: keep the order set below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(HEAVIEST_FIRST)}
    # Stable: the order inside each file is kept.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
