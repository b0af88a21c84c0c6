"""The SLA timers on AWS: a schedule group, a scheduler role that can only invoke the timer function (and
dead-letter), the timer function's least privilege, the DLQ, the escalation topic and the alarms."""

from __future__ import annotations

from typing import Any

import pytest

from contract import names
from tests.infra.template import Synth, function_by_name, resources, role_statements, statement_actions

pytestmark = pytest.mark.infra


def _scheduler_role(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for logical_id, role in resources(raw, "AWS::IAM::Role").items():
        principals = [
            s["Principal"].get("Service") for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        ]
        if principals == ["scheduler.amazonaws.com"]:
            return logical_id, role
    raise AssertionError("no role for EventBridge Scheduler")


def _timer(synth: Synth) -> tuple[str, dict[str, Any]]:
    return function_by_name(synth.raw, names.FN_SLA_TIMER)


def test_one_schedule_group_holds_the_timers(synth: Synth) -> None:
    groups = resources(synth.raw, "AWS::Scheduler::ScheduleGroup")
    assert [g["Properties"]["Name"] for g in groups.values()] == [names.SLA_SCHEDULE_GROUP]


def test_scheduler_role_can_only_invoke_the_timer_function_and_dead_letter(synth: Synth) -> None:
    role_id, role = _scheduler_role(synth.raw)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    actions = {a for s in role_statements(synth.raw, role_id) for a in statement_actions(s)}
    assert "lambda:InvokeFunction" in actions and "sqs:SendMessage" in actions
    assert actions - {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    } <= {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    }
    invoke = next(
        s for s in role_statements(synth.raw, role_id) if "lambda:InvokeFunction" in statement_actions(s)
    )
    text = str(invoke["Resource"])
    assert f"function:{names.PROJECT}-{names.FN_SLA_TIMER}" in text
    assert "*" not in text.replace(f"{names.FN_SLA_TIMER}:*", "")


def test_timer_function_knows_its_group_target_role_and_dlq(synth: Synth) -> None:
    _id, fn = _timer(synth)
    env = fn["Properties"]["Environment"]["Variables"]
    for var in (
        names.ENV_SLA_SCHEDULE_GROUP,
        names.ENV_SLA_TARGET_ARN,
        names.ENV_SLA_SCHEDULER_ROLE_ARN,
        names.ENV_SLA_DLQ_ARN,
        names.ENV_ESCALATION_TOPIC_ARN,
        names.ENV_TOPIC_ARN,
        names.ENV_TABLE_NAME,
        f"{names.ENV_SLA_PREFIX}HIGH",
    ):
        assert env.get(var), var
    assert env[names.ENV_SLA_SCHEDULE_GROUP] == names.SLA_SCHEDULE_GROUP
    # It routes new tickets too (issue 32): the on-call agents (none in cdk.json) and the reassignment share
    assert env[names.ENV_ONCALL] == "" and env[names.ENV_ROUTING_REASSIGN_FRACTION] == "0.5"


def test_timer_function_manages_only_its_groups_schedules_and_passes_only_the_scheduler_role(
    synth: Synth,
) -> None:
    _id, fn = _timer(synth)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = role_statements(synth.raw, role_id)
    by_action = {a: s for s in statements for a in statement_actions(s)}
    assert {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"} <= set(
        by_action
    )
    assert f"schedule/{names.SLA_SCHEDULE_GROUP}/*" in str(by_action["scheduler:CreateSchedule"]["Resource"])
    passrole = by_action["iam:PassRole"]
    scheduler_role_id, _ = _scheduler_role(synth.raw)
    assert passrole["Resource"] == {"Fn::GetAtt": [scheduler_role_id, "Arn"]}
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    assert "dynamodb:DeleteItem" not in by_action and "dynamodb:Scan" not in by_action


def test_the_workflow_arms_timers_through_the_timer_function(synth: Synth) -> None:
    machine = next(iter(resources(synth.raw, "AWS::StepFunctions::StateMachine").values()))
    timer_id, _ = _timer(synth)
    assert machine["Properties"]["DefinitionSubstitutions"][names.ASL_SLA_TIMER_FN] == {
        "Fn::GetAtt": [timer_id, "Arn"]
    }


def test_the_bot_may_invoke_the_timer_function_and_query_owners(synth: Synth) -> None:
    _bot_id, bot = function_by_name(synth.raw, names.FN_BOT)
    statements = role_statements(synth.raw, bot["Properties"]["Role"]["Fn::GetAtt"][0])
    timer_id, _ = _timer(synth)
    invoke = [s for s in statements if "lambda:InvokeFunction" in statement_actions(s)]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": [timer_id, "Arn"]}]
    query = next(s for s in statements if "dynamodb:Query" in statement_actions(s))
    assert names.ASSIGNEE_INDEX in str(query["Resource"])
    assert bot["Properties"]["Environment"]["Variables"][names.ENV_SLA_FUNCTION] == {"Ref": timer_id}


def test_the_tickets_table_indexes_owners(synth: Synth) -> None:
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    indexes = {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {names.ASSIGNEE_INDEX, names.EMBEDDING_INDEX}  # owners, and the incident window
    gsi = indexes[names.ASSIGNEE_INDEX]
    assert gsi["KeySchema"] == [{"AttributeName": names.ASSIGNEE_ATTR, "KeyType": "HASH"}]


def test_sla_dlq_is_encrypted_and_alarmed_and_the_timer_function_has_an_errors_alarm(synth: Synth) -> None:
    queues = {q["Properties"].get("QueueName"): q for q in resources(synth.raw, "AWS::SQS::Queue").values()}
    assert "KmsMasterKeyId" in queues[names.SLA_DLQ_NAME]["Properties"]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
    }
    dlq_alarm = alarms[f"{names.PROJECT}-SlaDlqNotEmpty"]
    assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and dlq_alarm["Threshold"] == 1
    errors = alarms[f"{names.PROJECT}-SlaTimerErrors"]
    assert errors["MetricName"] == "Errors" and errors["AlarmActions"]


def test_breaches_are_emailed_by_priority_on_the_escalation_topic(synth: Synth) -> None:
    topics = {t["Properties"]["TopicName"]: t for t in resources(synth.raw, "AWS::SNS::Topic").values()}
    assert "KmsMasterKeyId" in topics[names.ESCALATION_TOPIC_NAME]["Properties"]
