"""The intake audit Lambda with moto: what the trigger's filter drops is dead-lettered with its reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from contract import names
from contract.clients import clear_cache as clear_aws_clients
from local.lambdas import LocalLambdaContext
from tests.conftest import make_ticket
from tests.fakes.intake import kinesis_event


def _event(payloads: list[bytes]) -> dict[str, Any]:
    return kinesis_event(payloads, first_sequence=2000)


@pytest.fixture
def aws(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    monkeypatch.setenv(names.ENV_DLQ_URL, dlq)
    monkeypatch.delenv(names.ENV_STATE_MACHINE_ARN, raising=False)  # the audit needs only the DLQ
    from pipeline.handlers import intake_audit
    from pipeline.settings import audit_settings

    def clear() -> None:
        clear_aws_clients()
        audit_settings.cache_clear()
        intake_audit._dlq.cache_clear()

    clear()
    yield {"sqs": sqs, "dlq": dlq, "handler": intake_audit.handler}
    clear()


def _dlq(aws: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = aws["sqs"].receive_message(QueueUrl=aws["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def test_records_the_trigger_filter_drops_are_dead_lettered_with_their_reason(aws: dict[str, Any]):
    # Given a batch mixing tickets with everything Lambda's eventName filter drops
    ticket = make_ticket()
    payloads = [
        ticket.to_record_bytes(),
        b"{broken",
        b"",
        b"\xff\xfe\x00",
        json.dumps({"eventName": "TicketClosed", "ticketId": "x"}).encode(),
        b"[1, 2]",
    ]
    # When the audit function sees the batch on its unfiltered mapping
    response = aws["handler"](_event(payloads), LocalLambdaContext(function_name="intake-audit"))
    # Then every dropped record is in the DLQ once, with its reason and where to find it; the ticket is not
    assert response == {"batchItemFailures": []}
    letters = sorted(_dlq(aws), key=lambda m: m["sequence_number"])
    assert [m["sequence_number"] for m in letters] == ["2001", "2002", "2003", "2004", "2005"]
    assert {m["stage"] for m in letters} == {"intake-filter"}
    reasons = [m["reason"] for m in letters]
    for expected, reason in zip(
        ["not JSON", "empty body", "not valid UTF-8", "got 'TicketClosed'", "expected a JSON object"],
        reasons,
        strict=True,
    ):
        assert expected in reason
    assert base64.b64decode(letters[3]["data_base64"]).startswith(b'{"eventName": "TicketClosed"')


def test_a_batch_of_valid_tickets_leaves_the_dlq_empty(aws: dict[str, Any]):
    payloads = [make_ticket().to_record_bytes() for _ in range(3)]
    response = aws["handler"](_event(payloads), LocalLambdaContext(function_name="intake-audit"))
    assert response == {"batchItemFailures": []}
    assert _dlq(aws) == []


def test_an_unreachable_dlq_fails_only_the_dropped_records_so_the_mapping_retries_them(
    aws: dict[str, Any],
):
    # Given the DLQ is gone (a transient outage as far as this function can tell)
    aws["sqs"].delete_queue(QueueUrl=aws["dlq"])
    payloads = [make_ticket().to_record_bytes(), b"not json"]
    # When the batch is audited
    response = aws["handler"](_event(payloads), LocalLambdaContext(function_name="intake-audit"))
    # Then the record that could not be parked is reported failed, never silently acknowledged
    assert response == {"batchItemFailures": [{"itemIdentifier": "2001"}]}
