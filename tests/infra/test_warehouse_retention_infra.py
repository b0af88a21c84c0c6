"""Warehouse retention on AWS: a daily schedule runs, through the Redshift Data API, the DELETEs of the one
retention definition (contract/erasure.py) with the configured days, under a role that may start statements
on this warehouse with the loader's secret and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract import defaults, erasure
from infra.config import load_config, read_cdk_json_context
from tests.infra.template import Synth, resources

pytestmark = pytest.mark.infra

TARGET = "aws-sdk:redshiftdata:batchExecuteStatement"


def _retention_schedule(synth: Synth) -> dict[str, Any]:
    (schedule,) = [
        s
        for s in resources(synth.raw, "AWS::Scheduler::Schedule").values()
        if TARGET in json.dumps(s["Properties"]["Target"]["Arn"])
    ]
    return schedule["Properties"]


def _input(target: dict[str, Any]) -> dict[str, Any]:
    """The target's input, with each CloudFormation reference it joins in replaced by a marker."""
    raw = target["Input"]
    if isinstance(raw, dict):
        raw = "".join(p if isinstance(p, str) else f"<{next(iter(p.values()))}>" for p in raw["Fn::Join"][1])
    return dict(json.loads(raw))


def test_a_daily_schedule_runs_the_contracts_deletes_with_the_configured_days(synth: Synth) -> None:
    config = load_config({"tms": read_cdk_json_context()["tms"]}, {})
    props = _retention_schedule(synth)
    body = _input(props["Target"])

    assert props["ScheduleExpression"] == defaults.WAREHOUSE_RETENTION_SCHEDULE
    assert props["State"] == "ENABLED"
    assert body["Sqls"] == erasure.redshift_retention_statements(
        config.retention.warehouse, schema=config.redshift.schema_name, tickets_table=config.redshift.table
    )
    assert f"DATEADD(day, -{config.retention.warehouse}, GETDATE())" in body["Sqls"][0]
    kind, target = config.redshift.data_api_target
    assert body[{"cluster": "ClusterIdentifier", "workgroup": "WorkgroupName"}[kind]] == target
    assert body["Database"] == config.redshift.database
    assert "RedshiftSecret" in body["SecretArn"]


def test_the_schedule_role_may_only_start_statements_on_the_warehouse_with_the_loaders_secret(
    synth: Synth,
) -> None:
    props = _retention_schedule(synth)
    role_id = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = synth.raw["Resources"][role_id]["Properties"]
    statements = [
        s
        for p in resources(synth.raw, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    granted = {s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"]): s for s in statements}

    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }
    assert set(granted) == {
        "redshift-data:BatchExecuteStatement",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    }
    assert ":cluster:tms-warehouse" in json.dumps(granted["redshift-data:BatchExecuteStatement"]["Resource"])
    assert "RedshiftSecret" in json.dumps(granted["secretsmanager:GetSecretValue"]["Resource"])
    assert "kms:ViaService" in json.dumps(granted["kms:Decrypt"]["Condition"])
    assert all(s["Resource"] != "*" for s in statements)
