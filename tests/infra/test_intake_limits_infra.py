"""The trigger counts new tickets in the tickets table: only the limit counters, and it may announce a hit."""

from __future__ import annotations

from typing import Any

import pytest

from contract import names
from tests.infra.template import Synth, function_by_name, resources

pytestmark = pytest.mark.infra


def _statements(raw: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_trigger_may_update_only_the_limit_counters_and_publish_a_hit_on_the_alarms_topic(synth: Synth):
    _, trigger = function_by_name(synth.raw, names.FN_TRIGGER)
    env = trigger["Properties"]["Environment"]["Variables"]
    assert names.ENV_TABLE_NAME in env and names.ENV_ALARMS_TOPIC_ARN in env
    role = trigger["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(synth.raw, role)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(dynamo) == 1 and _actions(dynamo[0]) == {"dynamodb:UpdateItem"}
    leading = dynamo[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == [f"{names.LIMIT_KEY_PREFIX}*"]  # never a ticket's own item
    assert any("sns:Publish" in _actions(s) for s in statements)
