"""Customer mail on AWS: SES identity and configuration set, the mailer's subscription and rights, the
inbound receipt rule (S3 with KMS, then the function), and the reply alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from contract import names
from tests.infra.template import Synth, function_by_name, function_statements, resources, statement_actions

pytestmark = pytest.mark.infra


def _function_actions(raw: dict[str, Any], fn: str) -> set[str]:
    """Every action the function's role is allowed."""
    return {a for s in function_statements(raw, fn) for a in statement_actions(s)}


def test_sender_identity_and_configuration_set_publish_delivery_events_to_the_tickets_topic(
    synth: Synth,
) -> None:
    synth.template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": "support@example.com"}
    )
    synth.template.has_resource_properties("AWS::SES::ConfigurationSet", {"Name": f"{names.PROJECT}-replies"})
    (dest,) = resources(synth.raw, "AWS::SES::ConfigurationSetEventDestination").values()
    ed = dest["Properties"]["EventDestination"]
    assert set(ed["MatchingEventTypes"]) >= {"delivery", "bounce", "complaint"}
    assert "TopicARN" in ed["SnsDestination"]


def test_mailer_gets_only_approved_replies_and_may_send_only_as_the_identity(synth: Synth) -> None:
    mailer_id, mailer = function_by_name(synth.raw, names.FN_MAILER)
    subs = [
        s["Properties"]
        for s in resources(synth.raw, "AWS::SNS::Subscription").values()
        if s["Properties"].get("Endpoint") == {"Fn::GetAtt": [mailer_id, "Arn"]}
    ]
    assert len(subs) == 1
    assert subs[0]["FilterPolicy"] == {names.ATTR_EVENT_TYPE: [names.EVENT_REPLY_APPROVED]}
    env = mailer["Properties"]["Environment"]["Variables"]
    assert env[names.ENV_REPLY_FROM] == "support@example.com"
    assert names.ENV_SES_CONFIGURATION_SET in env
    ses = [
        s
        for s in function_statements(synth.raw, names.FN_MAILER)
        if "ses:SendEmail" in json.dumps(s["Action"])
    ]
    (statement,) = ses
    assert "*" not in json.dumps(statement["Resource"])
    assert _function_actions(synth.raw, names.FN_MAILER) >= {
        "ses:SendEmail",
        "sns:Publish",
        "dynamodb:UpdateItem",
    }
    assert not any(a.startswith("s3:") for a in _function_actions(synth.raw, names.FN_MAILER))


def test_inbound_rule_stores_raw_mail_under_kms_then_invokes_the_function(synth: Synth) -> None:
    inbound_id, inbound = function_by_name(synth.raw, names.FN_INBOUND_MAIL)
    (rule,) = resources(synth.raw, "AWS::SES::ReceiptRule").values()
    props = rule["Properties"]["Rule"]
    assert props["ScanEnabled"] is True and props["Enabled"] is True
    s3_action, lambda_action = props["Actions"]
    assert s3_action["S3Action"]["ObjectKeyPrefix"] == names.INBOUND_MAIL_PREFIX
    assert lambda_action["LambdaAction"]["FunctionArn"] == {"Fn::GetAtt": [inbound_id, "Arn"]}
    bucket_ref = s3_action["S3Action"]["BucketName"]["Ref"]
    bucket = synth.raw["Resources"][bucket_ref]["Properties"]
    (enc,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    synth.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"FunctionName": {"Fn::GetAtt": [inbound_id, "Arn"]}, "Principal": "ses.amazonaws.com"},
    )
    env = inbound["Properties"]["Environment"]["Variables"]
    assert env[names.ENV_BUCKET_NAME] == {"Ref": bucket_ref}


def test_inbound_function_reads_raw_mail_and_cannot_send_or_delete(synth: Synth) -> None:
    acts = _function_actions(synth.raw, names.FN_INBOUND_MAIL)
    assert "s3:GetObject*" in acts and {"kinesis:PutRecord", "kinesis:PutRecords"} & acts
    assert not any(a.startswith(("ses:", "s3:Delete", "dynamodb:Delete", "dynamodb:Scan")) for a in acts)
    # It writes only held-mail records (issue 27.5), never over the raw mail SES stored.
    puts = [
        s
        for s in function_statements(synth.raw, names.FN_INBOUND_MAIL)
        if "s3:Put" in json.dumps(s["Action"])
    ]
    assert all(names.INBOUND_HELD_PREFIX in json.dumps(s["Resource"]) for s in puts)


def test_bot_may_publish_approvals_to_the_tickets_topic(synth: Synth) -> None:
    _, bot = function_by_name(synth.raw, names.FN_BOT)
    assert names.ENV_TOPIC_ARN in bot["Properties"]["Environment"]["Variables"]
    assert "sns:Publish" in _function_actions(synth.raw, names.FN_BOT)


def test_reply_alarms_watch_refused_sends_and_the_bounce_rate(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{names.PROJECT}-BounceRate",
            "MetricName": "Reputation.BounceRate",
            "Threshold": 0.05,
        },
    )
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{names.PROJECT}-RepliesNotSent",
            "MetricName": "RepliesNotSent",
            "Dimensions": [{"Name": "service", "Value": names.FN_MAILER}],
            "Threshold": 1,
            "AlarmActions": Match.any_value(),
        },
    )


def test_a_configured_domain_is_verified_with_dkim_and_the_sender_must_belong_to_it() -> None:
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from infra.components.mail import sender_identity
    from infra.config import ConfigError, load_config, read_cdk_json_context

    stack = Stack(App(), "IdentityOnly")
    sender_identity(stack, "support@tms.example.com", "tms.example.com")
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::EmailIdentity",
        {"EmailIdentity": "tms.example.com", "DkimAttributes": {"SigningEnabled": True}},
    )
    with pytest.raises(ConfigError, match="not an address of ses_domain"):
        base = read_cdk_json_context()["tms"]
        bad = {**base, "reply_from": "support@other.example.com", "ses_domain": "tms.example.com"}
        load_config({"tms": bad}, {})


def test_reply_key_secret_is_read_by_mailer_and_inbound_and_inbound_may_hold_mail_and_announce_limits(
    synth: Synth,
) -> None:
    (secret_id,) = [
        k
        for k, v in resources(synth.raw, "AWS::SecretsManager::Secret").items()
        if v["Properties"].get("Name") == f"{names.PROJECT}/mail-reply-key"
    ]
    for fn in (names.FN_MAILER, names.FN_INBOUND_MAIL):
        _, function = function_by_name(synth.raw, fn)
        env = function["Properties"]["Environment"]["Variables"]
        assert env[names.ENV_MAIL_REPLY_KEY_SECRET_ARN] == {"Ref": secret_id}
        assert names.ENV_MAIL_REPLY_KEY not in env  # never the key itself
        assert "secretsmanager:GetSecretValue" in _function_actions(synth.raw, fn)
    _, inbound = function_by_name(synth.raw, names.FN_INBOUND_MAIL)
    env = inbound["Properties"]["Environment"]["Variables"]
    assert names.ENV_MAIL_TRUSTED_DOMAINS in env and names.ENV_ALARMS_TOPIC_ARN in env
    assert {"s3:PutObject", "sns:Publish"} <= _function_actions(synth.raw, names.FN_INBOUND_MAIL)
    held = [
        s
        for s in function_statements(synth.raw, names.FN_INBOUND_MAIL)
        if "s3:PutObject" in json.dumps(s["Action"])
    ]
    assert held and all(names.INBOUND_HELD_PREFIX in json.dumps(s["Resource"]) for s in held)
    (table,) = [
        t
        for t in resources(synth.raw, "AWS::DynamoDB::Table").values()
        if "StreamSpecification" in t["Properties"]
    ]
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": names.TABLE_TTL_ATTR,
        "Enabled": True,
    }
