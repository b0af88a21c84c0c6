"""The rating page on AWS (issue 32): behind API Gateway throttled per stage and per client IP (WAF), never a
bare function URL; request bodies never logged; the timer function may send mail and read both keys."""

from __future__ import annotations

import pytest

from contract import defaults, names
from tests.infra.template import Synth, resources

pytestmark = pytest.mark.infra


def test_the_rating_page_is_throttled_per_stage_and_per_client(synth: Synth) -> None:
    (stage,) = resources(synth.raw, "AWS::ApiGateway::Stage").values()
    settings = stage["Properties"]["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] == defaults.CSAT_API_RATE_PER_SECOND
    assert settings["ThrottlingBurstLimit"] == defaults.CSAT_API_BURST
    assert settings["DataTraceEnabled"] is False  # bodies carry customers' comments
    assert stage["Properties"]["TracingEnabled"] is True and stage["Properties"]["AccessLogSetting"]

    (acl,) = resources(synth.raw, "AWS::WAFv2::WebACL").values()
    (rate,) = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": defaults.CSAT_REQUESTS_PER_IP_5MIN,
    }
    assert rate["Action"] == {"Block": {}}
    (association,) = resources(synth.raw, "AWS::WAFv2::WebACLAssociation").values()
    assert "restapis" in str(association["Properties"]["ResourceArn"])
    (plan,) = resources(synth.raw, "AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Throttle"]["RateLimit"] == defaults.CSAT_API_RATE_PER_SECOND


def test_no_function_url_serves_the_rating_page(synth: Synth) -> None:
    page = [
        logical
        for logical, fn in resources(synth.raw, "AWS::Lambda::Function").items()
        if fn["Properties"].get("FunctionName") == f"{names.PROJECT}-{names.FN_CSAT}"
    ]
    assert len(page) == 1
    urls = resources(synth.raw, "AWS::Lambda::Url").values()
    assert not any(page[0] in str(u["Properties"]["TargetFunctionArn"]) for u in urls)
    methods = {
        m["Properties"]["HttpMethod"] for m in resources(synth.raw, "AWS::ApiGateway::Method").values()
    }
    assert methods == {"GET", "POST"}


def test_the_timer_function_knows_the_page_and_the_waiting_period(synth: Synth) -> None:
    (timer,) = [
        fn
        for fn in resources(synth.raw, "AWS::Lambda::Function").values()
        if fn["Properties"].get("FunctionName") == f"{names.PROJECT}-{names.FN_SLA_TIMER}"
    ]
    env = timer["Properties"]["Environment"]["Variables"]
    assert env[names.ENV_AUTOCLOSE_AFTER] == defaults.AUTOCLOSE_AFTER
    assert env[names.ENV_CSAT_LINK_VALID] == defaults.CSAT_LINK_VALID
    assert names.ENV_CSAT_BASE_URL in env and names.ENV_CSAT_KEY_SECRET_ARN in env
    assert names.ENV_REPLY_FROM in env and names.ENV_MAIL_REPLY_KEY_SECRET_ARN in env
