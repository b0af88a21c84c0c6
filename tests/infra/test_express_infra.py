"""The workflow deploys as Express by default: logged to an encrypted log group (its only history), within
Express's 5 minutes, and the trigger may keep each execution input under inputs/ and nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from contract import names
from tests.infra.template import Synth, function_by_name, resources, role_statements, statement_actions

pytestmark = pytest.mark.infra


def test_the_workflow_is_express_with_every_event_logged_without_ticket_data(synth: Synth) -> None:
    (machine,) = resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineType"] == "EXPRESS"
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = synth.raw["Resources"][log_group_id]["Properties"]
    assert "KmsKeyId" in log_group and log_group["RetentionInDays"] == 30
    synth.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"StateMachineType": "EXPRESS", "TracingConfiguration": {"Enabled": True}},
    )


def test_the_trigger_may_only_put_inputs_encrypted_with_the_data_key(synth: Synth) -> None:
    _, trigger = function_by_name(synth.raw, names.FN_TRIGGER)
    env = trigger["Properties"]["Environment"]["Variables"]
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    data_key = table["Properties"]["SSESpecification"]["KMSMasterKeyId"]
    assert env[names.ENV_ORIGINALS_KEY_ID] == data_key and env[names.ENV_BUCKET_NAME]
    statements = role_statements(synth.raw, trigger["Properties"]["Role"]["Fn::GetAtt"][0])
    s3 = [s for s in statements if any(a.startswith("s3:") for a in statement_actions(s))]
    assert [statement_actions(s) for s in s3] == [{"s3:PutObject"}]  # no read, no delete
    resource = s3[0]["Resource"]
    assert resource["Fn::Join"][1][-1] == f"/{names.INPUTS_PREFIX}*"
    kms = [s for s in statements if any(a.startswith("kms:") for a in statement_actions(s))]
    assert any({"kms:GenerateDataKey", "kms:Encrypt"} <= statement_actions(s) for s in kms)


def test_inputs_expire_and_the_warehouse_load_cannot_read_them(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Id": "expire-execution-inputs",
                                "Prefix": names.INPUTS_PREFIX,
                                "ExpirationInDays": names.INPUTS_RETENTION_DAYS,
                                "Status": "Enabled",
                            }
                        )
                    ]
                )
            }
        },
    )
    (glue_role,) = (
        logical_id
        for logical_id, role in resources(synth.raw, "AWS::IAM::Role").items()
        if "glue.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    )
    assert names.INPUTS_PREFIX not in json.dumps(role_statements(synth.raw, glue_role))


def test_a_standard_workflow_is_one_cdk_json_field_away(tmp_path: Path) -> None:
    from tests.infra.conftest import synthesize

    raw = synthesize(tmp_path, workflow_type="STANDARD").raw
    (machine,) = resources(raw, "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["StateMachineType"] == "STANDARD"
