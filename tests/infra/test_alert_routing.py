"""Alerts reach people by a path that does not depend on what failed: the notifier's own errors skip Slack."""

from __future__ import annotations

from typing import Any

from contract import names
from tests.infra.conftest import TEST_EMAILS
from tests.infra.template import Synth, function_by_name, resources

NOTIFIER_ERRORS = f"{names.PROJECT}-NotifierErrors"


def _topic_id(synth: Synth, suffix: str) -> str:
    return next(
        k
        for k, v in resources(synth.raw, "AWS::SNS::Topic").items()
        if v["Properties"]["TopicName"] == f"{names.PROJECT}-{suffix}"
    )


def _subscriptions(synth: Synth, topic_id: str) -> list[dict[str, Any]]:
    return [
        s["Properties"]
        for s in resources(synth.raw, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]


def _alarm(synth: Synth, name: str) -> dict[str, Any]:
    (alarm,) = (
        a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == name
    )
    return alarm


def _topics_the_notifier_reads(synth: Synth) -> set[str]:
    notifier_id, _ = function_by_name(synth.raw, names.FN_NOTIFIER)
    reads = {
        s["Properties"]["TopicArn"]["Ref"]
        for s in resources(synth.raw, "AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == {"Fn::GetAtt": [notifier_id, "Arn"]}
    }
    assert reads, "the notifier subscribes to nothing: this test would prove nothing"
    return reads


def test_notifier_errors_alarm_targets_no_topic_the_notifier_subscribes_to(synth: Synth) -> None:
    alarm = _alarm(synth, NOTIFIER_ERRORS)
    targets = {action["Ref"] for action in alarm["AlarmActions"] + alarm["OKActions"]}

    assert targets, "the notifier errors alarm notifies nobody"
    assert targets.isdisjoint(_topics_the_notifier_reads(synth))
    assert targets == {_topic_id(synth, "ops")}


def test_every_other_alarm_still_posts_to_slack_through_the_alarms_topic(synth: Synth) -> None:
    others = [
        a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] != NOTIFIER_ERRORS
    ]
    alarms_topic = {"Ref": _topic_id(synth, "alarms")}

    assert others and all(a["AlarmActions"] == [alarms_topic] for a in others)
    assert _topic_id(synth, "alarms") in _topics_the_notifier_reads(synth)


def test_ops_topic_reaches_every_email_unfiltered_and_no_function(synth: Synth) -> None:
    subscriptions = _subscriptions(synth, _topic_id(synth, "ops"))

    assert {s["Protocol"] for s in subscriptions} == {"email"}
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(TEST_EMAILS)
    # Alarm notifications carry no priority attribute: a filter policy would silently drop them.
    assert all("FilterPolicy" not in s for s in subscriptions)


def test_ops_topic_is_encrypted_tls_only_and_cloudwatch_may_publish_to_it(synth: Synth) -> None:
    ops = _topic_id(synth, "ops")
    topic = resources(synth.raw, "AWS::SNS::Topic")[ops]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_services = {
        service
        for statement in resources(synth.raw, "AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"]["Statement"]
        for service in [statement.get("Principal", {}).get("Service", [])]
        for service in ([service] if isinstance(service, str) else service)
    }
    (policy,) = (
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(synth.raw, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": ops}]
    )

    assert "cloudwatch.amazonaws.com" in key_services
    publishers = {
        service
        for s in policy
        if s["Effect"] == "Allow" and s["Action"] == "sns:Publish"
        for service in [s["Principal"]["Service"]]
        for service in ([service] if isinstance(service, str) else service)
    }
    assert publishers == {"cloudwatch.amazonaws.com"}
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )
