"""Retrying FAILED tickets: only FAILED ones, with the input the trigger kept under inputs/ (Express
executions cannot be described), under a new execution name."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from contract import defaults
from pipeline.domain.retry import RetryOutcome, retry_name, retry_ticket
from pipeline.domain.sentiment import detect_sentiment
from tests.conftest import make_ticket

NOW = datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
TID = "TKT-20261125-0123456789"


class FakeTickets:
    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        return self.items.get(ticket_id)


class FakeInputs:
    def __init__(self, stored: dict[str, dict[str, Any]]) -> None:
        self.stored = stored

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        return self.stored.get(ticket_id)


class FakeExecutions:
    """Starts executions by name and never describes one (what an Express workflow allows)."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = payload
        return True


def test_a_failed_ticket_is_retried_with_its_original_input_under_a_new_name():
    original = {"ticket": {"ticketId": TID}, "text": "Login fails. It fails."}
    inputs, executions = FakeInputs({TID: original}), FakeExecutions()
    tickets = FakeTickets({TID: {"status": "FAILED", "error": "LlmThrottledError"}})

    result = retry_ticket(TID, tickets, inputs, executions, NOW)

    assert result.outcome is RetryOutcome.STARTED and result.started
    assert "LlmThrottledError" in result.detail
    assert executions.started == {f"{TID}-retry-20261125T010203Z": original}


def test_a_ticket_that_failed_before_sentiment_read_a_prefix_is_retried_with_the_prefix_added():
    from tests.conftest import make_ticket

    ticket = make_ticket(description="The console times out. " * 40)
    original = {"ticket": ticket.model_dump(mode="json"), "text": ticket.data.sentiment_text()}
    inputs, executions = FakeInputs({ticket.ticketId: original}), FakeExecutions()
    tickets = FakeTickets({ticket.ticketId: {"status": "FAILED"}})

    assert retry_ticket(ticket.ticketId, tickets, inputs, executions, NOW).started
    (started,) = executions.started.values()
    # (and the expiry a FAILED item gets, which inputs kept before intake computed it lack)
    assert started == {
        **original,
        "sentiment": detect_sentiment(ticket.data.sentiment_prefix(), "en"),
        "expires_at": int(
            (ticket.submittedAt + timedelta(days=defaults.RETENTION_DAYS["tickets"])).timestamp()
        ),
    }


@pytest.mark.parametrize("status", ["TRIAGED", "PROCESSING", "RESOLVED"])
def test_a_ticket_that_did_not_fail_is_left_alone(status: str):
    inputs, executions = FakeInputs({TID: {"ticket": {}}}), FakeExecutions()
    result = retry_ticket(TID, FakeTickets({TID: {"status": status}}), inputs, executions, NOW)
    assert result.outcome is RetryOutcome.NOT_FAILED and status in result.detail
    assert executions.started == {}


def test_unknown_and_malformed_tickets_each_get_their_reason():
    inputs, executions = FakeInputs({}), FakeExecutions()
    tickets = FakeTickets({TID: {"status": "FAILED"}})
    unknown = retry_ticket("TKT-20261125-ZZZZZZZZZZ", tickets, inputs, executions, NOW)
    assert unknown.outcome is RetryOutcome.NOT_FOUND
    assert retry_ticket("ticket 42", tickets, inputs, executions, NOW).outcome is RetryOutcome.INVALID_ID
    assert executions.started == {}


def test_a_failed_ticket_without_a_stored_input_is_named_left_failed_and_nothing_is_started():
    inputs, executions = FakeInputs({}), FakeExecutions()
    item = {"status": "FAILED", "error": "LlmThrottledError"}
    tickets = FakeTickets({TID: item})

    gone = retry_ticket(TID, tickets, inputs, executions, NOW)

    assert gone.outcome is RetryOutcome.INPUT_GONE and not gone.started
    assert f"inputs/{TID}.json" in gone.detail and "90 days" in gone.detail and "resubmit" in gone.detail
    assert executions.started == {}
    assert tickets.get(TID) == {"status": "FAILED", "error": "LlmThrottledError"}  # nothing lost


def test_a_second_retry_in_the_same_second_is_reported_not_started_twice():
    inputs, executions = FakeInputs({TID: {"ticket": {}}}), FakeExecutions()
    tickets = FakeTickets({TID: {"status": "FAILED"}})
    assert retry_ticket(TID, tickets, inputs, executions, NOW).started
    again = retry_ticket(TID, tickets, inputs, executions, NOW)
    assert again.outcome is RetryOutcome.ALREADY_STARTED and len(executions.started) == 1


def test_retry_names_are_valid_step_functions_execution_names():
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", retry_name(TID, NOW))


# --- the AWS adapters, against moto --------------------------------------------------------------------
def test_adapters_keep_and_read_back_an_input_and_read_tickets_by_status(offline_aws: None):
    from pipeline.adapters.aws import DynamoTickets, InputNotReadableError, S3ExecutionInputs

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="tms-inputs-test")
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    ticket = make_ticket(description="Café crème: ça ne marche pas")
    payload = {"ticket": json.loads(ticket.model_dump_json()), "text": "t"}
    inputs = S3ExecutionInputs("tms-inputs-test", s3, kms_key_id=key_id)
    inputs.put(ticket.ticketId, payload)
    assert inputs.get(ticket.ticketId) == payload
    head = s3.head_object(Bucket="tms-inputs-test", Key=f"inputs/{ticket.ticketId}.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert inputs.get("TKT-20200101-0000000000") is None
    s3.put_object(Bucket="tms-inputs-test", Key="inputs/TKT-20200101-0000000001.json", Body=b"{not json")
    with pytest.raises(InputNotReadableError, match="not JSON"):
        inputs.get("TKT-20200101-0000000001")

    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for tid, status in (("A", "FAILED"), ("B", "TRIAGED"), ("C", "FAILED")):
        ddb.put_item(TableName="t", Item={"ticket_id": {"S": tid}, "status": {"S": status}})
    tickets = DynamoTickets("t", ddb)
    assert tickets.ids_with_status("FAILED") == ["A", "C"]
    assert tickets.get("B") == {"ticket_id": "B", "status": "TRIAGED"}
    assert tickets.get("Z") is None
