"""Erasure and retention on AWS: the erasure function's role reaches exactly the stores it erases (the table,
the erased prefixes and their versions, the SLA schedule group, the Slack and Redshift secrets, the Redshift
Data API), the table expires items by its TTL attribute, and the bucket's lifecycle rules apply the configured
retention."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract import defaults, erasure, names
from infra.config import RetentionConfig, load_config, read_cdk_json_context
from tests.infra.template import Synth, function_by_name, function_statements, resources, statement_actions

pytestmark = pytest.mark.infra


def _flat(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_flat(v) for v in value["Fn::Join"][1])
    if isinstance(value, list):
        return " ".join(_flat(v) for v in value)
    return str(value)


def test_the_erasure_role_has_only_what_erasure_needs(synth: Synth) -> None:
    statements = function_statements(synth.raw, names.FN_ERASURE)
    granted = set().union(*(statement_actions(s) for s in statements))
    s3 = {a for a in granted if a.startswith("s3:")}
    ddb = {a for a in granted if a.startswith("dynamodb:")}

    assert ddb == {"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert s3 == {
        "s3:ListBucketVersions",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:PutObject",
    }
    assert {
        "scheduler:DeleteSchedule",
        "redshift-data:ExecuteStatement",
        "redshift-data:DescribeStatement",
    } <= granted
    assert not {a for a in granted if a.endswith("*") and not a.startswith(("kms:", "xray:"))}
    # Object actions stop at the prefixes that hold customer data; a rewrite only where objects are shared.
    erased = {r.prefix for r in erasure.S3_PREFIXES if r.match != "none"}
    deletable, listable = "", set()
    # kb:precedents: the one index object, read, rewritten and its versions deleted (tests/infra/test_kb_infra.py)
    statements = [s for s in statements if names.KB_INDEX_KEY not in json.dumps(s)]
    for s in statements:
        if statement_actions(s) & {"s3:DeleteObjectVersion"}:
            resources_ = _flat(s["Resource"])
            deletable += resources_
            assert names.ETL_STATE_PREFIX not in resources_
        if statement_actions(s) == {"s3:PutObject"}:
            assert _flat(s["Resource"]).endswith(f"/{names.QUARANTINE_PREFIX}*")
        if "scheduler:DeleteSchedule" in statement_actions(s):
            assert f"schedule/{names.PROJECT}-sla/*" in _flat(s["Resource"])
        if "s3:ListBucketVersions" in statement_actions(s):
            prefixes = set(s["Condition"]["StringLike"]["s3:prefix"])
            assert prefixes <= {p + "*" for p in erased}
            listable |= prefixes
    # Every prefix holding customer data is erasable in the bucket it lives in (inbound mail: its own bucket).
    assert all(f"/{p}*" in deletable for p in erased) and listable == {p + "*" for p in erased}
    assert "MailInbound" in deletable


def test_the_erasure_function_knows_every_store_it_erases(synth: Synth) -> None:
    _, function = function_by_name(synth.raw, names.FN_ERASURE)
    env = function["Properties"]["Environment"]["Variables"]

    for var in (
        names.ENV_TABLE_NAME,
        names.ENV_BUCKET_NAME,
        names.ENV_SLA_SCHEDULE_GROUP,
        names.ENV_SLACK_SECRET_ARN,
        names.ENV_REDSHIFT_CLUSTER,
        names.ENV_REDSHIFT_SECRET_ARN,
    ):
        assert env.get(var), var
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1


def test_ticket_items_expire_by_the_ttl_attribute_the_archive_stamps(synth: Synth) -> None:
    (table,) = [t for t in resources(synth.raw, "AWS::DynamoDB::Table").values()]
    _, archive = function_by_name(synth.raw, names.FN_ARCHIVE)

    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": names.TABLE_TTL_ATTR,
        "Enabled": True,
    }
    env = archive["Properties"]["Environment"]["Variables"]
    assert env[names.ENV_RETENTION_PREFIX + "TICKETS"] == str(defaults.RETENTION_DAYS["tickets"])
    # The trigger puts the same expiry in each execution input, for the item of a ticket that ends FAILED.
    _, trigger = function_by_name(synth.raw, names.FN_TRIGGER)
    trigger_env = trigger["Properties"]["Environment"]["Variables"]
    assert trigger_env[names.ENV_RETENTION_PREFIX + "TICKETS"] == str(defaults.RETENTION_DAYS["tickets"])


def test_the_bucket_applies_the_configured_retention(synth: Synth) -> None:
    (bucket,) = [
        b
        for b in resources(synth.raw, "AWS::S3::Bucket").values()
        if b["Properties"].get("VersioningConfiguration")
    ]
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}

    for rule_id, prefix, setting in erasure.RETAINED_PREFIXES:
        assert rules[f"retain-{rule_id}"]["Prefix"] == prefix
        assert rules[f"retain-{rule_id}"]["ExpirationInDays"] == defaults.RETENTION_DAYS[setting]
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_retention_is_configured_in_cdk_json_with_the_defaults_when_unset() -> None:
    context = read_cdk_json_context()
    assert context["tms"]["retention"] == {}  # the defaults live once, in contract/defaults.py
    config = load_config({"tms": {**context["tms"], "retention": {"inbound_mail": 30}}}, {})

    assert (
        config.retention.inbound_mail == 30 and config.retention.tickets == defaults.RETENTION_DAYS["tickets"]
    )
    assert RetentionConfig().environment()[names.ENV_RETENTION_PREFIX + "WAREHOUSE"] == str(
        defaults.RETENTION_DAYS["warehouse"]
    )
