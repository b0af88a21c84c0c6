"""The knowledge base on AWS (issue 30, docs/decisions/0020-knowledge-base-store.md): the draft function reads
kb/index.json from the archive bucket and embeds with the stack's one Titan model, and may do nothing more;
`knowledge_base: false` in cdk.json takes all of it away."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import defaults, names
from tests.infra.template import Synth, function_by_name, function_statements, resources, statement_actions

pytestmark = pytest.mark.infra


def _draft_env(raw: dict[str, Any]) -> dict[str, Any]:
    _, function = function_by_name(raw, names.FN_DRAFT_REPLY)
    return dict(function["Properties"]["Environment"]["Variables"])


def test_the_draft_function_searches_the_index_in_the_archive_bucket_with_the_incident_embedder(
    synth: Synth,
) -> None:
    env = _draft_env(synth.raw)
    _, link = function_by_name(synth.raw, names.FN_LINK_INCIDENT)
    link_env = link["Properties"]["Environment"]["Variables"]

    assert env[names.ENV_KB_PROVIDER] == "s3"
    assert env[names.ENV_BUCKET_NAME] == {"Ref": next(iter(_archive_bucket(synth.raw)))}
    for var in (names.ENV_EMBEDDING_PROVIDER, names.ENV_EMBEDDING_MODEL_ID, names.ENV_EMBEDDING_DIMENSIONS):
        assert env[var] == link_env[var]
    assert env[names.ENV_EMBEDDING_MODEL_ID] == defaults.BEDROCK_EMBEDDING_MODEL_ID


def _archive_bucket(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resources(raw, "AWS::S3::Bucket").items() if k.startswith("StorageArchive")}


def test_the_draft_function_may_read_only_objects_under_kb_and_write_none(synth: Synth) -> None:
    s3 = [
        s
        for s in function_statements(synth.raw, names.FN_DRAFT_REPLY)
        if any(a.startswith("s3:") for a in statement_actions(s))
    ]

    assert len(s3) == 1 and statement_actions(s3[0]) == {"s3:GetObject"}
    resource = json.dumps(s3[0]["Resource"])
    assert f"/{names.KB_PREFIX}*" in resource
    for other in (names.ARCHIVE_PREFIX, names.ORIGINALS_PREFIX, names.INPUTS_PREFIX):
        assert f"/{other}" not in resource
    # The archive bucket is SSE-S3: reading it needs no key, so the draft function gets no kms:Decrypt.
    assert not any(
        a.startswith("kms:")
        for s in function_statements(synth.raw, names.FN_DRAFT_REPLY)
        for a in statement_actions(s)
    )


def test_the_draft_function_may_invoke_the_reply_model_and_only_the_one_embedding_model(synth: Synth) -> None:
    (bedrock,) = [
        s
        for s in function_statements(synth.raw, names.FN_DRAFT_REPLY)
        if any("bedrock" in a for a in statement_actions(s))
    ]
    embedding = [r for r in json.dumps(bedrock["Resource"]).split('"') if "titan-embed" in r]

    assert statement_actions(bedrock) == {"bedrock:InvokeModel"}
    assert len(embedding) == 1 and embedding[0].endswith(
        f"foundation-model/{defaults.BEDROCK_EMBEDDING_MODEL_ID}"
    )


def _lifecycle_env(raw: dict[str, Any]) -> dict[str, Any]:
    _, function = function_by_name(raw, names.FN_TICKET_LIFECYCLE)
    return dict(function["Properties"]["Environment"]["Variables"])


def test_with_precedents_the_lifecycle_function_writes_only_the_index_and_embeds_with_the_one_model(
    synth: Synth,
) -> None:
    env = _lifecycle_env(synth.raw)
    statements = function_statements(synth.raw, names.FN_TICKET_LIFECYCLE)
    kb = [s for s in statements if names.KB_PREFIX in json.dumps(s["Resource"])]
    bedrock = [s for s in statements if any(a.startswith("bedrock:") for a in statement_actions(s))]
    comprehend = [s for s in statements if any(a.startswith("comprehend:") for a in statement_actions(s))]

    assert env[names.ENV_PRECEDENT_BASE_URL] == "https://support.example.com/tickets"
    assert env[names.ENV_KB_PROVIDER] == "s3"
    assert env[names.ENV_EMBEDDING_MODEL_ID] == _draft_env(synth.raw)[names.ENV_EMBEDDING_MODEL_ID]
    # Get and Put on the one index object: no wildcard, no list, no delete, no other kb/ key
    assert len(kb) == 1 and statement_actions(kb[0]) == {"s3:GetObject", "s3:PutObject"}
    assert kb[0]["Resource"]["Fn::Join"][1][-1] == f"/{names.KB_INDEX_KEY}"
    (model,) = [r for s in bedrock for r in json.dumps(s["Resource"]).split('"') if "foundation-model/" in r]
    assert model.endswith(f"foundation-model/{defaults.BEDROCK_EMBEDDING_MODEL_ID}")
    assert len(bedrock) == 1 and statement_actions(bedrock[0]) == {"bedrock:InvokeModel"}
    # (CDK merges it with the other "*" actions: X-Ray, the stream listing)
    assert {a for s in comprehend for a in statement_actions(s) if a.startswith("comprehend:")} == {
        "comprehend:DetectPiiEntities"
    }


def test_the_erasure_function_may_rewrite_the_index_and_delete_its_versions_and_nothing_else_under_kb(
    synth: Synth,
) -> None:
    statements = function_statements(synth.raw, names.FN_ERASURE)
    kb = [s for s in statements if names.KB_PREFIX in json.dumps(s)]

    listing = [s for s in kb if statement_actions(s) == {"s3:ListBucketVersions"}]
    objects = [s for s in kb if "s3:PutObject" in statement_actions(s)]
    assert len(kb) == 2 and len(listing) == 1 and len(objects) == 1
    assert listing[0]["Condition"] == {"StringEquals": {"s3:prefix": names.KB_INDEX_KEY}}
    assert statement_actions(objects[0]) == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObjectVersion",
    }
    assert objects[0]["Resource"]["Fn::Join"][1][-1] == f"/{names.KB_INDEX_KEY}"


def test_precedents_need_the_knowledge_base_and_an_https_link() -> None:
    from infra.config import ConfigError, load_config, read_cdk_json_context

    context = read_cdk_json_context()
    assert context["tms"]["precedent_base_url"] == ""  # off unless you name where agents open a ticket
    with pytest.raises(ConfigError, match="knowledge_base is false"):
        load_config(
            context,
            {
                "TMS_DEPLOY_KNOWLEDGE_BASE": "false",
                "TMS_DEPLOY_PRECEDENT_BASE_URL": "https://help.example.com/t",
            },
        )
    with pytest.raises(ConfigError, match="precedent_base_url"):
        load_config(context, {"TMS_DEPLOY_PRECEDENT_BASE_URL": "http://help.example.com/t"})


def test_knowledge_base_false_takes_the_read_the_embedder_and_the_provider_away(tmp_path: Path) -> None:
    from tests.infra.conftest import synthesize

    # One synth for the optional model uses switched off (each synth costs ~20 s): the knowledge base here,
    # the incident second opinion in tests/infra/test_incidents_infra.py (it reads this template too).
    raw = synthesize(tmp_path, knowledge_base=False, precedent_base_url="", incident_second_opinion=False).raw
    _assert_second_opinion_off(raw)

    assert names.ENV_KB_PROVIDER not in _draft_env(raw)
    statements = json.dumps(function_statements(raw, names.FN_DRAFT_REPLY))
    assert names.KB_PREFIX not in statements and "titan-embed" not in statements
    # Without precedents the lifecycle function has no knowledge-base access at all
    assert names.ENV_PRECEDENT_BASE_URL not in _lifecycle_env(raw)
    lifecycle = json.dumps(function_statements(raw, names.FN_TICKET_LIFECYCLE))
    assert names.KB_PREFIX not in lifecycle and "bedrock" not in lifecycle and "comprehend" not in lifecycle


def _assert_second_opinion_off(raw: dict) -> None:
    from tests.infra.test_incidents_infra import assert_link_incident_without_second_opinion

    assert_link_incident_without_second_opinion(raw)


def test_the_switch_is_on_in_cdk_json_and_read_from_the_environment() -> None:
    from infra.config import load_config, read_cdk_json_context

    context = read_cdk_json_context()
    assert context["tms"]["knowledge_base"] is True
    assert load_config(context, {"TMS_DEPLOY_KNOWLEDGE_BASE": "false"}).knowledge_base is False
