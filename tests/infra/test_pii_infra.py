"""The PII step is deployed as the ASL declares it: allowed, switched on by default, originals kept apart."""

from __future__ import annotations

import json

import pytest

from contract import names
from infra.config import load_config, read_cdk_json_context
from tests.infra.template import Synth, function_by_name, resources, role_statements, statement_actions

pytestmark = pytest.mark.infra


def test_pii_step_is_the_workflows_one_comprehend_call_and_retries_throttling() -> None:
    states = json.loads(names.ASL_PATH.read_text())["States"]
    step = states["DetectPii"]
    assert step["Resource"] == "arn:aws:states:::aws-sdk:comprehend:detectPiiEntities"
    # PII detection reads subject + the whole description (the redaction's offsets refer to it); sentiment
    # comes in the execution input, computed at intake (docs/cost.md, issue 28.3).
    assert (
        step["Parameters"]["Text.$"]
        == "States.Format('{}. {}', $.ticket.data.subject, $.ticket.data.description)"
    )
    assert [s for s in states.values() if "comprehend" in s.get("Resource", "")] == [step]
    assert "Comprehend.ThrottlingException" in step["Retry"][0]["ErrorEquals"]
    assert step["Catch"][0]["Next"] == "MarkFailed"
    assert states["DraftReply"]["Parameters"]["Payload"]["pii.$"] == "$.pii"
    assert states["Archive"]["Parameters"]["Payload"]["pii.$"] == "$.pii"


def test_workflow_may_detect_pii_and_redaction_is_on_by_default(synth: Synth) -> None:
    (machine,) = resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["DefinitionSubstitutions"][names.ASL_PII_REDACTION] == "on"
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert any(
        "comprehend:DetectPiiEntities" in statement_actions(s) for s in role_statements(synth.raw, role)
    )


def test_redaction_switch_is_a_documented_deployment_field() -> None:
    context = read_cdk_json_context()
    assert context["tms"]["pii_redaction"] is True
    off = {"tms": {**context["tms"], "pii_redaction": False}}
    assert load_config(off, {}).pii_redaction is False
    assert load_config(context, {"TMS_DEPLOY_PII_REDACTION": "false"}).pii_redaction is False


def test_archive_function_writes_originals_encrypted_and_the_warehouse_load_cannot_read_them(
    synth: Synth,
) -> None:
    _, archive = function_by_name(synth.raw, names.FN_ARCHIVE)
    key_ref = archive["Properties"]["Environment"]["Variables"][names.ENV_ORIGINALS_KEY_ID]
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    assert key_ref == table["Properties"]["SSESpecification"]["KMSMasterKeyId"]  # the data key
    archive_statements = json.dumps(
        role_statements(synth.raw, archive["Properties"]["Role"]["Fn::GetAtt"][0])
    )
    assert f"/{names.ORIGINALS_PREFIX}*" in archive_statements
    (glue_role,) = (
        logical_id
        for logical_id, role in resources(synth.raw, "AWS::IAM::Role").items()
        if "glue.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    )
    assert names.ORIGINALS_PREFIX not in json.dumps(role_statements(synth.raw, glue_role))
