"""Construct-level behaviour that the shared synth does not show: missing files, provisioned shards, the
metered-function guard."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from contract import names
from infra.components.analytics import Analytics, MissingGlueScriptError
from infra.components.ingest import Ingest
from infra.components.lambdas import LambdaPackage, metered_function, placeholder_layer
from infra.components.storage import Storage
from infra.components.workflow import MissingAslError, Workflow
from infra.config import RedshiftConfig

pytestmark = pytest.mark.infra

REDSHIFT = RedshiftConfig(
    endpoint="wh.example.us-east-1.redshift.amazonaws.com:5439",
    vpc_id="vpc-0123456789abcdef0",
    subnet_id="subnet-0123456789abcdef0",
    security_group_id="sg-0123456789abcdef0",
    availability_zone="us-east-1a",
)


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="us-east-1"))


def _package(stack: cdk.Stack, tmp_path: Path) -> LambdaPackage:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "x.py").write_text("")
    layer = placeholder_layer(tmp_path / "layer")
    return LambdaPackage(
        stack,
        "Pkg",
        code_dir=tmp_path / "code",
        layer_dir=layer,
        layer_built=False,
        log_key=cdk.aws_kms.Key(stack, "LogsKey"),
        project_name="tms",
        log_retention=logs.RetentionDays.ONE_WEEK,
    )


def test_missing_glue_script_fails_synth_with_its_path(tmp_path: Path) -> None:
    stack = _stack()
    missing = tmp_path / "glue" / "job.py"
    with pytest.raises(MissingGlueScriptError, match=str(missing)):
        Analytics(
            stack,
            "A",
            project_name="tms",
            storage=Storage(stack, "S", table_name="t"),
            redshift=REDSHIFT,
            script_path=missing,
            library_dir=tmp_path,
            schedule="rate(2 hours)",
            timeout_minutes=108,
        )


def test_missing_asl_file_fails_synth_with_its_path(tmp_path: Path) -> None:
    stack = _stack()
    storage = Storage(stack, "S", table_name="t")
    missing = tmp_path / "nope.asl.json"
    with pytest.raises(MissingAslError, match=str(missing)):
        Workflow(
            stack,
            "W",
            project_name="tms",
            asl_path=missing,
            package=_package(stack, tmp_path),
            storage=storage,
            tickets_topic=cdk.aws_sns.Topic(stack, "Topic"),
            model_id="amazon.nova-lite-v1:0",
            foundation_model_id="amazon.nova-lite-v1:0",
            inference_profile=False,
            draft_reply_concurrency=2,
            sla_timer=cdk.aws_lambda.Function.from_function_name(stack, "Timer", "tms-sla-timer"),
            sla_environment={},
            link_incident=cdk.aws_lambda.Function.from_function_name(stack, "Link", "tms-link-incident"),
        )


def test_provisioned_shards_are_configurable(tmp_path: Path) -> None:
    stack = _stack()
    storage = Storage(stack, "S", table_name="t")
    Ingest(
        stack,
        "I",
        project_name="tms",
        shards=4,
        key=storage.data_key,
        package=_package(stack, tmp_path),
        state_machine=sfn.StateMachine.from_state_machine_arn(
            stack, "SM", "arn:aws:states:us-east-1:123456789012:stateMachine:tms-ticket-pipeline"
        ),
        storage=storage,
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": 4, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}
    )


def _metered(stack: cdk.Stack, tmp_path: Path, name: str) -> None:
    metered_function(
        stack,
        "Fn",
        name=name,
        package=_package(stack, tmp_path),
        description=f"the {name} function",
        timeout=cdk.Duration.seconds(30),
    )


def test_a_function_cost_per_ticket_does_not_price_is_refused_as_metered(tmp_path: Path) -> None:
    # The mailer's GB-seconds are not in a ticket's cost: metering it would read a memory nobody set.
    with pytest.raises(ValueError, match="FUNCTION_MEMORY_MB"):
        _metered(_stack(), tmp_path, names.FN_MAILER)


def test_a_metered_function_is_deployed_with_the_memory_cost_per_ticket_reads(tmp_path: Path) -> None:
    stack = _stack()
    _metered(stack, tmp_path, names.FN_ARCHIVE)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": f"tms-{names.FN_ARCHIVE}", "MemorySize": names.FUNCTION_MEMORY_MB[names.FN_ARCHIVE]},
    )
