"""Issue 31 on AWS: cdk.json `customer_channels` (and the strictness and DM window) reach the bot function;
nothing new is deployed for it (the events come through the bot's function URL, the claims live in the
tickets table the bot already writes)."""

from __future__ import annotations

import pytest

from contract import defaults, names
from infra.config import load_config, read_cdk_json_context
from tests.infra.template import Synth, function_by_name

pytestmark = pytest.mark.infra


def test_no_channel_is_watched_on_a_fresh_deploy_and_the_bot_gets_the_defaults(synth: Synth) -> None:
    assert read_cdk_json_context()["tms"]["customer_channels"] == {}
    _, res = function_by_name(synth.raw, names.FN_BOT)
    env = res["Properties"]["Environment"]["Variables"]
    assert env[names.ENV_CUSTOMER_CHANNELS] == ""
    assert env[names.ENV_TICKETING_STRICTNESS] == defaults.TICKETING_STRICTNESS
    assert float(env[names.ENV_SLACK_DM_WINDOW_HOURS]) == defaults.SLACK_DM_WINDOW_HOURS


def test_configured_channels_become_the_bots_setting_with_their_companies() -> None:
    tms = read_cdk_json_context()["tms"] | {
        "customer_channels": {"C0GLOBEX": "", "C0ACME": "Acme Corp"},
        "ticketing_strictness": "strict",
        "slack_dm_window_hours": 8,
        "reopen_window_days": 5,
    }
    env = load_config({"tms": tms}, {}).slack_intake_environment()
    assert env == {
        names.ENV_CUSTOMER_CHANNELS: "C0ACME=Acme Corp,C0GLOBEX",
        names.ENV_TICKETING_STRICTNESS: "strict",
        names.ENV_SLACK_DM_WINDOW_HOURS: "8",
        names.ENV_REOPEN_WINDOW_DAYS: "5",  # the same window inbound mail reopens within
    }


@pytest.mark.parametrize(
    "value",
    [{"#acme": "Acme"}, {"U0GRACE": "Acme"}, {"C0ACME": "Acme, Inc"}],
)
def test_anything_but_channel_ids_and_plain_company_names_is_refused_at_synth(value: object) -> None:
    tms = read_cdk_json_context()["tms"] | {"customer_channels": value}
    with pytest.raises(ValueError, match="customer_channels"):
        load_config({"tms": tms}, {}).slack_intake_environment()
