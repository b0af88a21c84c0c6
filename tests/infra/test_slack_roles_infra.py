"""Roles (issue 27.1) on AWS: cdk.json `agents`/`approvers`/`admins` reach the bot and the notifier as env vars."""

from __future__ import annotations

import pytest

from contract import names
from infra.config import load_config, read_cdk_json_context
from tests.infra.template import Synth, function_by_name

pytestmark = pytest.mark.infra


def test_roles_are_empty_in_cdk_json_so_a_fresh_deploy_lets_nobody_act() -> None:
    tms = read_cdk_json_context()["tms"]
    assert (tms["agents"], tms["approvers"], tms["admins"], tms["four_eyes"]) == ([], [], [], True)
    assert tms["oncall"] == []  # nobody on call: nothing is routed


def test_the_bot_and_the_notifier_get_the_roles_of_the_config(synth: Synth) -> None:
    for fn in (names.FN_BOT, names.FN_NOTIFIER):
        _, res = function_by_name(synth.raw, fn)
        env = res["Properties"]["Environment"]["Variables"]
        assert (
            env[names.ENV_APPROVERS] == ""
            and env[names.ENV_AGENTS] == ""
            and env[names.ENV_FOUR_EYES] == "on"
        )


def test_configured_roles_become_comma_separated_ids_and_pin_the_installation() -> None:
    tms = read_cdk_json_context()["tms"] | {
        "agents": ["U0AGENT", "S0SUPPORT"],
        "approvers": ["U0LEAD"],
        "admins": ["W0ADMIN"],
        "four_eyes": False,
        "slack_app_id": "A0TMS",
        "slack_team_id": "T0TEAM",
        "oncall": ["U0AGENT", "U0LEAD"],
    }
    config = load_config({"tms": tms}, {})
    env = config.slack_roles_environment()
    assert config.routing_environment() == {
        names.ENV_ONCALL: "U0AGENT,U0LEAD",
        names.ENV_ROUTING_REASSIGN_FRACTION: "0.5",
    }
    assert env == {
        names.ENV_AGENTS: "U0AGENT,S0SUPPORT",
        names.ENV_APPROVERS: "U0LEAD",
        names.ENV_ADMINS: "W0ADMIN",
        names.ENV_ONCALL: "U0AGENT,U0LEAD",
        names.ENV_FOUR_EYES: "off",
        names.ENV_SLACK_APP_ID: "A0TMS",
        names.ENV_SLACK_TEAM_ID: "T0TEAM",
    }


@pytest.mark.parametrize(
    "field,value",
    [("approvers", ["alice"]), ("agents", ["C0CHANNEL"]), ("slack_team_id", "X1"), ("slack_app_id", "T0")],
)
def test_anything_but_slack_ids_is_refused_at_synth(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        load_config({"tms": read_cdk_json_context()["tms"] | {field: value}}, {})
