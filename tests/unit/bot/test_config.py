"""Settings, and the Lambda entry taking its Slack credentials from Secrets Manager (never from env values)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from bot.config import BotSettings, load_settings
from bot.errors import BotConfigurationError
from contract import names
from tests.fakes.bot_harness import CATALOG
from tests.fakes.slack_api import FakeSlackApi, command_body, sign

SECRET_VALUE = {"bot_token": "xoxb-from-secrets-manager", "signing_secret": "secret-from-secrets-manager"}


@dataclass
class Ctx:
    function_name: str = "tms-bot"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tms-bot"
    aws_request_id: str = "req-1"


def test_settings_read_the_shared_variable_names(monkeypatch):
    monkeypatch.setenv(names.ENV_SLACK_CHANNEL, "C0TICKETS")
    monkeypatch.setenv(names.ENV_SLACK_API_URL, "http://127.0.0.1:9/api/")
    monkeypatch.setenv(names.ENV_STREAM_NAME, "s")

    s = BotSettings()

    assert (s.channel, s.api_url, s.stream_name) == ("C0TICKETS", "http://127.0.0.1:9/api/", "s")


def test_customer_channels_and_the_dm_window_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(names.ENV_CUSTOMER_CHANNELS, "C0ACME=Acme Corp,G0PRIVATE")
    monkeypatch.setenv(names.ENV_SLACK_DM_WINDOW_HOURS, "6")

    s = BotSettings()

    assert s.watched_channels() == {"C0ACME": "Acme Corp", "G0PRIVATE": ""} and s.dm_window_hours == 6


def test_the_reopen_window_of_slack_answers_is_the_one_inbound_mail_reads(monkeypatch):
    # One setting for both ways a customer answers: TMS_REOPEN_WINDOW_DAYS, default in contract.defaults.
    from datetime import UTC, datetime, timedelta

    from bot.app import intake_config
    from bot.logic import conversations
    from contract import defaults

    assert BotSettings().reopen_window_days == defaults.REOPEN_WINDOW_DAYS
    monkeypatch.setenv(names.ENV_REOPEN_WINDOW_DAYS, "3")
    intake = intake_config(BotSettings())
    assert intake.reopen_window_days == 3

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    resolved = {"status": "RESOLVED", "resolved_at": (now - timedelta(days=5)).isoformat(), "version": 2}
    window = timedelta(days=intake.reopen_window_days)
    assert conversations.customer_wrote(resolved, "U1", now, "still broken", "C1 1.2", window=window) is None
    assert conversations.customer_wrote(resolved, "U1", now, "still broken", "C1 1.2") is not None


def test_a_customer_channel_that_is_not_an_id_fails_at_cold_start_naming_the_setting(monkeypatch):
    monkeypatch.setenv(names.ENV_CUSTOMER_CHANNELS, "acme-support")

    with pytest.raises(ValueError, match="TMS_CUSTOMER_CHANNELS: 'acme-support' is not a Slack channel id"):
        BotSettings()


def test_missing_signing_secret_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv(names.ENV_SLACK_SIGNING_SECRET, raising=False)

    with pytest.raises(BotConfigurationError, match=names.ENV_SLACK_SIGNING_SECRET):
        BotSettings().secret("signing_secret")


def test_with_a_secret_arn_the_credentials_come_from_the_secret_not_the_environment(monkeypatch):
    monkeypatch.setenv(names.ENV_SLACK_SECRET_ARN, "arn:secret")
    monkeypatch.setenv(names.ENV_SLACK_BOT_TOKEN, "xoxb-from-env")

    s = load_settings(fetch=lambda arn: SECRET_VALUE)

    assert s.secret("bot_token") == "xoxb-from-secrets-manager"
    assert s.secret("signing_secret") == "secret-from-secrets-manager"


@pytest.fixture
def lambda_env(tmp_path, monkeypatch) -> Iterator[FakeSlackApi]:
    from aws_lambda_powertools.utilities import parameters

    from bot import handler as bot_handler
    from contract import clients

    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(), FakeSlackApi.running() as slack:
        arn = boto3.client("secretsmanager").create_secret(
            Name="tms/slack", SecretString=json.dumps(SECRET_VALUE)
        )["ARN"]
        boto3.client("kinesis").create_stream(StreamName="tickets", ShardCount=1)
        for key, value in {
            names.ENV_SLACK_SECRET_ARN: arn,
            names.ENV_SLACK_SIGNING_SECRET: "an-env-value-that-must-be-ignored",
            names.ENV_SLACK_API_URL: slack.base_url,
            names.ENV_STREAM_NAME: "tickets",
            names.ENV_TABLE_NAME: "tickets",
            names.ENV_TOPIC_ARN: boto3.client("sns").create_topic(Name="tickets")["TopicArn"],
            names.ENV_AGENTS: "U0AGENT",
        }.items():
            monkeypatch.setenv(key, value)
        clients.clear_cache()
        bot_handler.slack_handler.cache_clear()
        parameters.clear_caches()
        yield slack
        bot_handler.slack_handler.cache_clear()
        clients.clear_cache()


def _function_url_event(body: str, headers: dict[str, str]) -> dict:
    return {
        "version": "2.0",
        "rawPath": "/slack/events",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()}
        | {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": body,
        "isBase64Encoded": False,
    }


def test_lambda_verifies_with_the_secret_from_secrets_manager(lambda_env):
    from bot.handler import handler

    body = command_body("help")
    good = handler(
        _function_url_event(body, sign(SECRET_VALUE["signing_secret"], body, int(time.time()))), Ctx()
    )
    env_signed = handler(
        _function_url_event(body, sign("an-env-value-that-must-be-ignored", body, int(time.time()))), Ctx()
    )

    assert good["statusCode"] == 200 and "/ticket help" in good["body"]
    assert env_signed["statusCode"] == 401


def test_lambda_writes_the_ticket_before_acking(lambda_env):
    from bot.handler import handler

    lambda_env.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
    body = command_body("Subject | Body")
    resp = handler(
        _function_url_event(body, sign(SECRET_VALUE["signing_secret"], body, int(time.time()))), Ctx()
    )

    kinesis = boto3.client("kinesis")
    shard = kinesis.list_shards(StreamName="tickets")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="tickets", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    (record,) = kinesis.get_records(ShardIterator=it)["Records"]
    assert json.loads(record["Data"])["ticketId"] in resp["body"]
    assert lambda_env.calls_to("users.info")[0].token == SECRET_VALUE["bot_token"]


def test_tms_bot_is_a_registered_command_and_refuses_to_start_without_a_signing_secret(monkeypatch, capsys):
    from tools.cli import main

    monkeypatch.setenv(names.ENV_STREAM_NAME, "tickets")
    monkeypatch.setenv(names.ENV_TABLE_NAME, "tickets")
    monkeypatch.setenv(names.ENV_TOPIC_ARN, "arn:aws:sns:us-east-1:123456789012:tms-tickets")
    monkeypatch.setenv(names.ENV_SLACK_BOT_TOKEN, "xoxb-t")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv(names.ENV_SLACK_SIGNING_SECRET, raising=False)
    monkeypatch.delenv(names.ENV_SLACK_SECRET_ARN, raising=False)

    assert main(["bot", "--port", "0"]) == 2
    assert names.ENV_SLACK_SIGNING_SECRET in capsys.readouterr().err


def test_first_ticket_after_a_cold_start_is_acked_without_an_auth_test_call(lambda_env):
    # Given a fresh Lambda environment whose bot knows its token (and identity) from configuration
    from bot.handler import handler

    lambda_env.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
    body = command_body("Cannot log in | The login page loops since this morning.")

    # When the first /ticket arrives
    response = handler(
        _function_url_event(body, sign(SECRET_VALUE["signing_secret"], body, int(time.time()))), Ctx()
    )

    # Then it is acked with the confirmation, and Slack's API saw no auth.test, only the profile lookup,
    # made with the token from Secrets Manager
    assert response["statusCode"] == 200 and "created" in response["body"]
    assert [c.method for c in lambda_env.calls] == ["users.info"]
    assert lambda_env.calls[0].token == SECRET_VALUE["bot_token"]


def test_a_cold_ticket_builds_the_kinesis_client_only(lambda_env, monkeypatch):
    # Given a fresh Lambda environment that records which AWS clients the bot builds
    from bot.adapters import aws
    from bot.handler import handler

    built: list[tuple[str, str]] = []
    real = aws.client

    def spy(service: str, profile: str = "bot"):
        built.append((service, profile))
        return real(service, profile)

    monkeypatch.setattr(aws, "client", spy)
    lambda_env.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
    body = command_body("Cannot log in | The login page loops since this morning.")

    # When the first /ticket arrives
    response = handler(
        _function_url_event(body, sign(SECRET_VALUE["signing_secret"], body, int(time.time()))), Ctx()
    )

    # Then it is acked having built no client but the secret's and Kinesis (DynamoDB, SNS wait for the
    # listeners using them), both with the bot's short timeouts and from one boto3 session (one service index)
    assert response["statusCode"] == 200 and "created" in response["body"]
    assert sorted(built) == [("kinesis", "bot"), ("secretsmanager", "bot")]
    assert real("secretsmanager")._loader is real("kinesis")._loader


def test_oncall_comes_from_tms_oncall_and_the_old_group_variable_still_works_with_a_warning(
    monkeypatch, caplog
):
    monkeypatch.setenv(names.ENV_ONCALL, "U0ROSA,S0SUPPORT")
    monkeypatch.setenv(names.ENV_SLA_ONCALL_GROUP, "S0OLD")
    grants = BotSettings().role_grants()
    assert grants.oncall_group == "S0SUPPORT"  # TMS_ONCALL wins; its group is what warnings mention

    monkeypatch.delenv(names.ENV_ONCALL)
    with caplog.at_level("WARNING"):
        grants = BotSettings().role_grants()
    assert grants.oncall_group == "S0OLD"
    assert f"{names.ENV_SLA_ONCALL_GROUP} is deprecated: set {names.ENV_ONCALL}" in caplog.text


def test_a_bad_oncall_id_fails_at_cold_start_naming_tms_oncall(monkeypatch):
    monkeypatch.setenv(names.ENV_ONCALL, "U0ROSA,rosa")
    with pytest.raises(BotConfigurationError, match="TMS_ONCALL: not Slack user"):
        BotSettings().role_grants()
