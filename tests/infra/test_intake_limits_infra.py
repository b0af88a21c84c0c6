"""The trigger counts new tickets in the tickets table: only the limit counters, and it may announce a hit."""

from __future__ import annotations

import pytest

from contract import names
from tests.infra.template import Synth, function_by_name, role_statements, statement_actions

pytestmark = pytest.mark.infra


def test_the_trigger_may_update_only_the_limit_counters_and_publish_a_hit_on_the_alarms_topic(synth: Synth):
    _, trigger = function_by_name(synth.raw, names.FN_TRIGGER)
    env = trigger["Properties"]["Environment"]["Variables"]
    assert names.ENV_TABLE_NAME in env and names.ENV_ALARMS_TOPIC_ARN in env
    role = trigger["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = role_statements(synth.raw, role)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in statement_actions(s))]
    assert len(dynamo) == 1 and statement_actions(dynamo[0]) == {"dynamodb:UpdateItem"}
    leading = dynamo[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == [f"{names.LIMIT_KEY_PREFIX}*"]  # never a ticket's own item
    assert any("sns:Publish" in statement_actions(s) for s in statements)
