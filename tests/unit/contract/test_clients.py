"""One way to reach a stack (issue 12): contract.clients builds every AWS client."""

from __future__ import annotations

import re

import pytest

from contract import names
from contract.clients import LOCAL_CREDENTIALS, PROFILES, aws_client, clear_cache
from local.stack import StackInfo

LOCAL = StackInfo("http://127.0.0.1:1", "eu-west-1", "s", "t", "b", "arn:t", "q", "arn:sm")
DEPLOYED = StackInfo(None, "eu-central-1", "s", "t", "b", "arn:t", "q", "arn:sm")


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clear_cache()
    yield
    clear_cache()


def test_a_client_for_the_local_stack_needs_no_credentials_from_the_machine():
    s3 = aws_client("s3", LOCAL, profile="etl")

    creds = s3._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == (
        LOCAL_CREDENTIALS["aws_access_key_id"],
        LOCAL_CREDENTIALS["aws_secret_access_key"],
    )
    assert s3.meta.endpoint_url == LOCAL.endpoint_url and s3.meta.region_name == "eu-west-1"


def test_a_deployed_stack_uses_the_default_chain_and_the_real_endpoint():
    sfn = aws_client("stepfunctions", DEPLOYED, profile="cli")
    assert sfn.meta.region_name == "eu-central-1"
    assert "amazonaws.com" in sfn.meta.endpoint_url


def test_profiles_carry_their_timeouts_and_clients_are_built_once():
    bot = aws_client("dynamodb", LOCAL, profile="bot")
    etl = aws_client("s3", LOCAL, profile="etl")
    assert bot.meta.config.read_timeout == PROFILES["bot"].read_timeout == 2
    assert etl.meta.config.read_timeout == 60
    assert aws_client("dynamodb", LOCAL, profile="bot") is bot
    assert aws_client("dynamodb", LOCAL, profile="cli") is not bot


def test_the_profiles_that_promise_an_exact_number_of_attempts_keep_it():
    # botocore's `max_attempts` counts retries: {"max_attempts": 1} would try twice
    attempts = {
        name: aws_client("lambda", LOCAL, profile=name).meta.config.retries["total_max_attempts"]
        for name in ("invoke", "llm", "judge")
    }
    # a synchronous invoke never starts the operator's work a second time; Bedrock gets one quick retry (the
    # workflow's ASL Retry does the backoff); the second opinion none (a failed one leaves the link as scored)
    assert attempts == {"invoke": 1, "llm": 2, "judge": 1}


def test_an_unknown_profile_is_an_error_not_a_default():
    with pytest.raises(KeyError, match="no AWS client profile 'fast'"):
        aws_client("s3", LOCAL, profile="fast")


def test_no_module_builds_a_boto3_client_any_other_way():
    pattern = re.compile(r"boto3\.client\(|\.session\.Session\(|session\.client\(|boto3\.Session\(")
    offenders = []
    for folder in ("pipeline", "bot", "bench", "scripts", "glue"):
        for path in (names.REPO_ROOT / folder).rglob("*.py"):
            if path.name == "clients.py" and path.parent.name == "adapters":
                continue
            # The Glue job runs on Glue with only glue/ shipped (--extra-py-files): no pipeline package there.
            if path.name == "job.py" and path.parent.name == "glue":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(names.REPO_ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_clients_of_one_stack_share_the_service_models_they_loaded():
    # One session per endpoint and region: a second client reuses the models and endpoint rules the first
    # loaded, instead of every client reading botocore's JSON again (10x the CPU for 40 clients).
    kinesis = aws_client("kinesis", LOCAL, profile="bot")
    dynamodb = aws_client("dynamodb", LOCAL, profile="default")
    assert kinesis._loader is dynamodb._loader
    assert aws_client("kinesis", DEPLOYED, profile="bot")._loader is not kinesis._loader
    assert dynamodb.meta.config.read_timeout == PROFILES["default"].read_timeout  # profiles still apply


def test_clients_built_from_many_threads_at_once_are_each_built_once():
    from concurrent.futures import ThreadPoolExecutor

    services = ["s3", "sqs", "sns", "kinesis", "dynamodb"] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        built = list(pool.map(lambda s: aws_client(s, LOCAL, profile="local"), services))
    assert {id(c) for c in built} == {id(aws_client(s, LOCAL, profile="local")) for s in set(services)}
