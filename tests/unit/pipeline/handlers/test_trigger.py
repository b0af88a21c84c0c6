"""The trigger Lambda with moto: partial batch failures, dead letters, duplicates, the kept input."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contract import defaults, names
from contract.clients import clear_cache as clear_aws_clients
from contract.models import Source
from local.lambdas import LocalLambdaContext
from pipeline.domain.dead_letters import DeadLetterKind, classify
from tests.conftest import make_ticket
from tests.fakes.intake import kinesis_event

BUCKET = "tms-trigger-test"


def _stored_input(aws: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    obj = aws["s3"].get_object(Bucket=BUCKET, Key=f"{names.INPUTS_PREFIX}{ticket_id}.json")
    assert obj["ServerSideEncryption"] == "aws:kms"  # unredacted customer text: the data key
    return dict(json.loads(obj["Body"].read()))


def _event(payloads: list[bytes]) -> dict[str, Any]:
    return kinesis_event(payloads, first_sequence=1000)


@pytest.fixture
def aws(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    sqs = boto3.client("sqs")
    sfn = boto3.client("stepfunctions")
    s3 = boto3.client("s3")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sfn.create_state_machine(
        name="sm",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
        type="EXPRESS",
    )["stateMachineArn"]
    s3.create_bucket(Bucket=BUCKET)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv(names.ENV_STATE_MACHINE_ARN, arn)
    monkeypatch.setenv(names.ENV_DLQ_URL, dlq)
    monkeypatch.setenv(names.ENV_BUCKET_NAME, BUCKET)
    monkeypatch.setenv(names.ENV_ORIGINALS_KEY_ID, key_id)
    from pipeline.handlers import trigger
    from pipeline.settings import trigger_settings

    clear_aws_clients()
    trigger_settings.cache_clear()
    trigger._deps.cache_clear()
    yield {"sqs": sqs, "sfn": sfn, "s3": s3, "dlq": dlq, "arn": arn, "handler": trigger.handler}
    clear_aws_clients()
    trigger_settings.cache_clear()
    trigger._deps.cache_clear()


def _dlq(aws: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = aws["sqs"].receive_message(QueueUrl=aws["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def test_malformed_record_goes_to_dlq_and_the_rest_of_the_batch_is_processed(aws: dict[str, Any]):
    good = [make_ticket(), make_ticket()]
    event = _event([good[0].to_record_bytes(), b"{broken", good[1].to_record_bytes()])
    response = aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    assert response == {"batchItemFailures": []}
    names_started = {e["name"] for e in aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]}
    assert names_started == {t.ticketId for t in good}
    letters = _dlq(aws)
    assert len(letters) == 1 and "not JSON" in letters[0]["reason"]
    assert letters[0]["sequence_number"] == "1001"


def test_redelivered_batch_starts_no_second_execution(aws: dict[str, Any]):
    ticket = make_ticket()
    event = _event([ticket.to_record_bytes()])
    aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    response = aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    assert response == {"batchItemFailures": []}
    assert len(aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]) == 1
    assert _dlq(aws) == []


def test_a_start_failure_is_reported_as_a_batch_item_failure_for_retry(aws: dict[str, Any], monkeypatch):
    from botocore.exceptions import ClientError

    from pipeline.adapters.aws import StepFunctionsStarter

    first, second = make_ticket(), make_ticket()

    def flaky(self: StepFunctionsStarter, name: str, payload: dict[str, Any]) -> bool:
        if name == second.ticketId:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution"
            )
        return True

    monkeypatch.setattr(StepFunctionsStarter, "start", flaky)
    event = _event([first.to_record_bytes(), second.to_record_bytes()])
    response = aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "1001"}]}
    assert _dlq(aws) == []


def test_each_started_ticket_has_its_execution_input_kept_for_retry(aws: dict[str, Any]):
    from pipeline.domain.intake import execution_input

    ticket = make_ticket(description="Les factures sont fausses depuis lundi, ça bloque la compta.")
    aws["handler"](_event([ticket.to_record_bytes()]), LocalLambdaContext(function_name="trigger"))
    (started,) = aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]
    described = aws["sfn"].describe_execution(executionArn=started["executionArn"])
    assert _stored_input(aws, ticket.ticketId) == json.loads(described["input"]) == execution_input(ticket)


def test_a_start_failure_after_the_input_is_kept_loses_nothing(aws: dict[str, Any], monkeypatch):
    from botocore.exceptions import ClientError

    from pipeline.adapters.aws import StepFunctionsStarter

    ok, ticket = make_ticket(), make_ticket()

    def down(self: StepFunctionsStarter, name: str, payload: dict[str, Any]) -> bool:
        if name == ticket.ticketId:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution")
        return True

    monkeypatch.setattr(StepFunctionsStarter, "start", down)
    event = _event([ok.to_record_bytes(), ticket.to_record_bytes()])
    response = aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    # The record is retried by the mapping; the kept input is the same bytes the retry will write again.
    assert response == {"batchItemFailures": [{"itemIdentifier": "1001"}]}
    assert _stored_input(aws, ticket.ticketId)["ticket"]["ticketId"] == ticket.ticketId


def test_the_input_cannot_be_kept_so_no_execution_starts_and_the_record_is_retried(
    aws: dict[str, Any], monkeypatch
):
    from contract.lambda_events import BatchFailed

    aws["s3"].delete_bucket(Bucket=BUCKET)
    ticket = make_ticket()
    # A batch of which every record failed raises: the mapping retries (and bisects) it.
    with pytest.raises(BatchFailed, match="NoSuchBucket"):
        aws["handler"](_event([ticket.to_record_bytes()]), LocalLambdaContext(function_name="trigger"))
    assert aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"] == []


def test_the_sixth_api_ticket_of_an_hour_from_one_customer_waits_in_the_dlq_with_one_alert(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    # Given the tickets table and the alarms topic (the new-ticket limits count there and announce there)
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="tickets",
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    tap = aws["sqs"].create_queue(QueueName="alarms-tap")["QueueUrl"]
    tap_arn = aws["sqs"].get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=tap_arn)
    monkeypatch.setenv(names.ENV_TABLE_NAME, "tickets")
    monkeypatch.setenv(names.ENV_TICKETS_PER_SENDER, str(defaults.TICKETS_PER_SENDER_HOUR))  # the default
    monkeypatch.setenv(names.ENV_ALARMS_TOPIC_ARN, topic)
    # When seven API tickets of one customer and one generated ticket arrive in one hour
    tickets = [make_ticket() for _ in range(7)]
    generated = make_ticket().model_copy(update={"source": Source.GENERATOR})
    event = _event([t.to_record_bytes() for t in [*tickets, generated]])
    response = aws["handler"](event, LocalLambdaContext(function_name="trigger"))
    # Then five start, the generator's load tool is not counted, and two wait in the DLQ with the reason
    assert response == {"batchItemFailures": []}
    started = {e["name"] for e in aws["sfn"].list_executions(stateMachineArn=aws["arn"])["executions"]}
    assert started == {t.ticketId for t in tickets[:5]} | {generated.ticketId}
    letters = _dlq(aws)
    kept = sorted(json.loads(base64.b64decode(m["data_base64"]))["ticketId"] for m in letters)
    assert kept == sorted(t.ticketId for t in tickets[5:])  # the whole record is kept, to resubmit
    assert all(m["stage"] == "intake-limit" for m in letters)
    assert "over the limit of 5 new api tickets per hour from ana@example.com" in letters[0]["reason"]
    assert classify(letters[0]) == DeadLetterKind.REJECTED  # `tms dlq` lists it by reason
    # and the limit is announced once, not per ticket
    alerts = aws["sqs"].receive_message(QueueUrl=tap, MaxNumberOfMessages=10).get("Messages", [])
    assert len(alerts) == 1 and "Intake limit hit" in json.loads(alerts[0]["Body"])["Subject"]
