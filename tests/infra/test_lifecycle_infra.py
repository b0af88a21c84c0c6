"""The lifecycle feed on AWS: the tickets table streams old and new images to the ticket-lifecycle function
through a mapping with bounded failure handling and its own DLQ; the function may only write under
lifecycle/ and the routing loads; the Glue job reads lifecycle/ and loads it; the DLQ and the function are alarmed."""

from __future__ import annotations

from typing import Any

import pytest

from contract import names
from infra.components.lambdas import STREAM_MAX_RECORD_AGE as MAX_RECORD_AGE
from infra.components.lambdas import STREAM_RETRY_ATTEMPTS as RETRY_ATTEMPTS
from infra.components.lifecycle import BATCH_SIZE
from tests.infra.template import (
    Synth,
    function_by_name,
    resources,
    role_of,
    role_statements,
    statement_actions,
)

pytestmark = pytest.mark.infra


def _queue_id(raw: dict[str, Any], name: str) -> str:
    return next(
        k for k, q in resources(raw, "AWS::SQS::Queue").items() if q["Properties"].get("QueueName") == name
    )


def test_the_tickets_table_streams_new_and_old_images(synth: Synth) -> None:
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_stream_mapping_bisects_retries_a_bounded_number_of_times_and_dead_letters(synth: Synth) -> None:
    fn_id, fn = function_by_name(synth.raw, names.FN_TICKET_LIFECYCLE)
    (props,) = [
        m["Properties"]
        for m in resources(synth.raw, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fn_id}
    ]
    (table_id,) = resources(synth.raw, "AWS::DynamoDB::Table")
    assert props["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == BATCH_SIZE
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == RETRY_ATTEMPTS
    assert props["MaximumRecordAgeInSeconds"] == MAX_RECORD_AGE.to_seconds()
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ParallelizationFactor"] == 1
    dlq_id = _queue_id(synth.raw, names.LIFECYCLE_DLQ_NAME)
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
    assert fn["Properties"]["Environment"]["Variables"][names.ENV_BUCKET_NAME] == {
        "Ref": next(k for k, b in resources(synth.raw, "AWS::S3::Bucket").items() if "Archive" in k)
    }


def test_the_lifecycle_function_may_write_only_under_lifecycle_and_never_read_the_bucket(
    synth: Synth,
) -> None:
    _fn_id, fn = function_by_name(synth.raw, names.FN_TICKET_LIFECYCLE)
    statements = role_statements(synth.raw, role_of(fn))
    s3 = [s for s in statements if any(a.startswith("s3:") for a in statement_actions(s))]
    # With precedents on (the test synth), the one other S3 statement is Get/Put of kb/index.json alone
    # (tests/infra/test_kb_infra.py); nothing else of the bucket is ever read.
    s3 = [s for s in s3 if not str(s["Resource"]).endswith(f"'/{names.KB_INDEX_KEY}']]}}")]
    assert [statement_actions(s) for s in s3] == [{"s3:PutObject"}]
    assert f"/{names.LIFECYCLE_PREFIX}*" in str(s3[0]["Resource"])
    assert f"/{names.MANIFEST_PREFIX}{names.LIFECYCLE_PREFIX}*" in str(s3[0]["Resource"])
    actions = {a for s in statements for a in statement_actions(s)}
    # Items: only the routing loads it keeps in step with their tickets (issue 32), never a ticket's own item
    items = [
        s
        for s in statements
        if any(
            a.startswith("dynamodb:") and ("Item" in a or a in {"dynamodb:Scan", "dynamodb:Query"})
            for a in statement_actions(s)
        )
    ]
    assert [statement_actions(s) for s in items] == [{"dynamodb:UpdateItem"}]
    leading = items[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == [f"{names.ROUTING_KEY_PREFIX}*"]
    assert {"dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= actions


def test_the_glue_job_reads_and_loads_lifecycle_records(synth: Synth) -> None:
    (job,) = resources(synth.raw, "AWS::Glue::Job").values()
    args = job["Properties"]["DefaultArguments"]
    assert str(args["--lifecycle_path"]).endswith(
        names.LIFECYCLE_PREFIX + '"]]}'
    ) or names.LIFECYCLE_PREFIX in str(args["--lifecycle_path"])
    reads = [s for s in role_statements(synth.raw, role_of(job)) if statement_actions(s) == {"s3:GetObject"}]
    assert any(f"/{names.LIFECYCLE_PREFIX}*" in str(s["Resource"]) for s in reads)


def test_the_lifecycle_dlq_is_encrypted_and_alarmed_and_the_function_has_an_errors_alarm(
    synth: Synth,
) -> None:
    dlq_id = _queue_id(synth.raw, names.LIFECYCLE_DLQ_NAME)
    assert "KmsMasterKeyId" in synth.raw["Resources"][dlq_id]["Properties"]
    alarms = resources(synth.raw, "AWS::CloudWatch::Alarm").values()
    watched = {str(d.get("Value")) for a in alarms for d in a["Properties"].get("Dimensions", [])}
    assert any(dlq_id in w for w in watched)
    fn_id, _ = function_by_name(synth.raw, names.FN_TICKET_LIFECYCLE)
    assert any(fn_id in w for w in watched)
