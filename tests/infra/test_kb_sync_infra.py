"""The kb-sync function on AWS (issue 30.1): a rate schedule runs it every KB_SYNC_INTERVAL_MINUTES; it may
list kb/docs/ only, read the objects under it, read and write kb/index.json, and invoke the one embedding
model; its failed runs and undelivered schedules go to a DLQ that alarms. Without the knowledge base, none
of it exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import defaults, names
from tests.infra.template import Synth, function_by_name, function_statements, resources, statement_actions

pytestmark = pytest.mark.infra


def _schedules(raw: dict[str, Any]) -> list[dict[str, Any]]:
    _, fn = function_by_name(raw, names.FN_KB_SYNC)
    logical = next(k for k, v in raw["Resources"].items() if v is fn)
    return [
        s
        for s in resources(raw, "AWS::Scheduler::Schedule").values()
        if logical in json.dumps(s["Properties"]["Target"]["Arn"])
    ]


def test_the_sync_runs_on_a_rate_schedule_with_a_dead_letter_queue(synth: Synth) -> None:
    (schedule,) = _schedules(synth.raw)
    props = schedule["Properties"]

    assert props["ScheduleExpression"] == f"rate({defaults.KB_SYNC_INTERVAL_MINUTES} minutes)"
    assert props["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("KbSyncDlq")
    assert (
        props["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 60 * defaults.KB_SYNC_INTERVAL_MINUTES
    )
    _, fn = function_by_name(synth.raw, names.FN_KB_SYNC)
    # One run ends before the next starts, and only one runs at a time.
    assert fn["Properties"]["Timeout"] < 60 * defaults.KB_SYNC_INTERVAL_MINUTES
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 1
    # A failed run is not retried by Lambda (the next run is the retry) and lands in the same DLQ.
    (invoke_config,) = [
        c
        for c in resources(synth.raw, "AWS::Lambda::EventInvokeConfig").values()
        if "KbSync" in json.dumps(c["Properties"]["FunctionName"])
    ]
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert "KbSyncDlq" in json.dumps(invoke_config["Properties"]["DestinationConfig"]["OnFailure"])


def test_the_schedule_role_trusts_only_this_accounts_scheduler(synth: Synth) -> None:
    # Given the kb-sync schedule, when it assumes its role, then only EventBridge Scheduler acting for this
    # account may (the confused-deputy guard the SLA timers' role has too).
    (schedule,) = _schedules(synth.raw)
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    (trust,) = synth.raw["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_dlq_alarms_on_the_alarms_topic(synth: Synth) -> None:
    (alarm,) = [
        a
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == f"{names.PROJECT}-KbSyncDlqNotEmpty"
    ]
    assert "KbSyncDlq" in json.dumps(alarm["Properties"]["Dimensions"])
    assert "Alarms" in json.dumps(alarm["Properties"]["AlarmActions"])
    # and its errors are alarmed like every function's
    assert f"{names.PROJECT}-KbSyncErrors" in {
        a["Properties"].get("AlarmName") for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
    }


def test_the_function_may_list_and_read_kb_docs_write_only_the_index_and_embed_with_the_one_model(
    synth: Synth,
) -> None:
    statements = function_statements(synth.raw, names.FN_KB_SYNC)
    s3 = [s for s in statements if any(a.startswith("s3:") for a in statement_actions(s))]
    listing = [s for s in s3 if statement_actions(s) == {"s3:ListBucket"}]
    reads = [s for s in s3 if names.KB_DOCS_PREFIX in json.dumps(s["Resource"]) and s not in listing]
    index = [s for s in s3 if s["Resource"].get("Fn::Join", ["", [""]])[1][-1] == f"/{names.KB_INDEX_KEY}"]

    assert len(listing) == 1 and listing[0]["Condition"] == {
        "StringLike": {"s3:prefix": [f"{names.KB_DOCS_PREFIX}*"]}
    }
    assert len(reads) == 1 and statement_actions(reads[0]) == {"s3:GetObject"}
    assert reads[0]["Resource"]["Fn::Join"][1][-1] == f"/{names.KB_DOCS_PREFIX}*"
    assert len(index) == 1 and statement_actions(index[0]) == {"s3:GetObject", "s3:PutObject"}
    assert len(s3) == 3  # nothing else in the bucket: no delete, no other prefix
    assert not any("s3:DeleteObject" in statement_actions(s) for s in statements)
    bedrock = [s for s in statements if any(a.startswith("bedrock:") for a in statement_actions(s))]
    (model,) = [r for s in bedrock for r in json.dumps(s["Resource"]).split('"') if "foundation-model/" in r]
    assert model.endswith(f"foundation-model/{defaults.BEDROCK_EMBEDDING_MODEL_ID}")
    assert len(bedrock) == 1 and statement_actions(bedrock[0]) == {"bedrock:InvokeModel"}


def test_the_function_embeds_like_the_draft_function_and_links_with_the_configured_base_url(
    tmp_path: Path,
) -> None:
    from tests.infra.conftest import synthesize

    raw = synthesize(tmp_path, kb_base_url="https://help.example.com/articles").raw
    _, fn = function_by_name(raw, names.FN_KB_SYNC)
    _, draft = function_by_name(raw, names.FN_DRAFT_REPLY)
    env, draft_env = (
        fn["Properties"]["Environment"]["Variables"],
        draft["Properties"]["Environment"]["Variables"],
    )

    assert env[names.ENV_KB_BASE_URL] == "https://help.example.com/articles"
    assert env[names.ENV_BUCKET_NAME] == draft_env[names.ENV_BUCKET_NAME]
    for var in (names.ENV_EMBEDDING_PROVIDER, names.ENV_EMBEDDING_MODEL_ID, names.ENV_EMBEDDING_DIMENSIONS):
        assert env[var] == draft_env[var]

    # knowledge_base off: no function, no schedule, no queue
    off = synthesize(tmp_path / "off", knowledge_base=False, precedent_base_url="").raw
    with pytest.raises(AssertionError, match="no function"):
        function_by_name(off, names.FN_KB_SYNC)
    assert "KbSync" not in json.dumps(off["Resources"])


def test_a_base_url_needs_https_and_the_knowledge_base() -> None:
    from infra.config import ConfigError, load_config, read_cdk_json_context

    context = read_cdk_json_context()
    assert context["tms"]["kb_base_url"] == ""
    with pytest.raises(ConfigError, match="kb_base_url"):
        load_config(context, {"TMS_DEPLOY_KB_BASE_URL": "http://help.example.com/a"})
    with pytest.raises(ConfigError, match="knowledge_base is false"):
        load_config(
            context,
            {"TMS_DEPLOY_KNOWLEDGE_BASE": "false", "TMS_DEPLOY_KB_BASE_URL": "https://help.example.com/a"},
        )
