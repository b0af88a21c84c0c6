"""Retrying FAILED tickets: only FAILED ones, with their original input, under a new execution name."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from pipeline.domain.retry import RetryOutcome, retry_name, retry_ticket
from tests.conftest import make_ticket

NOW = datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
TID = "TKT-20261125-0123456789"


class FakeTickets:
    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        return self.items.get(ticket_id)


class FakeExecutions:
    def __init__(self, inputs: dict[str, dict[str, Any]]) -> None:
        self.inputs = inputs
        self.started: dict[str, dict[str, Any]] = {}

    def input_of(self, name: str) -> dict[str, Any] | None:
        return self.inputs.get(name)

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started or name in self.inputs:
            return False
        self.started[name] = payload
        return True


def test_a_failed_ticket_is_retried_with_its_original_input_under_a_new_name():
    original = {"ticket": {"ticketId": TID}, "text": "Login fails. It fails."}
    executions = FakeExecutions({TID: original})
    tickets = FakeTickets({TID: {"status": "FAILED", "error": "LlmThrottledError"}})

    result = retry_ticket(TID, tickets, executions, NOW)

    assert result.outcome is RetryOutcome.STARTED and result.started
    assert "LlmThrottledError" in result.detail
    assert executions.started == {f"{TID}-retry-20261125T010203Z": original}


def test_a_ticket_that_failed_before_sentiment_read_a_prefix_is_retried_with_the_prefix_added():
    from tests.conftest import make_ticket

    ticket = make_ticket(description="The console times out. " * 40)
    original = {"ticket": ticket.model_dump(mode="json"), "text": ticket.data.sentiment_text()}
    executions = FakeExecutions({ticket.ticketId: original})
    tickets = FakeTickets({ticket.ticketId: {"status": "FAILED"}})

    assert retry_ticket(ticket.ticketId, tickets, executions, NOW).started
    (started,) = executions.started.values()
    assert started == {**original, "sentiment_text": ticket.data.sentiment_prefix()}
    assert len(started["sentiment_text"]) <= 300 < len(started["text"])


@pytest.mark.parametrize("status", ["TRIAGED", "PROCESSING", "RESOLVED"])
def test_a_ticket_that_did_not_fail_is_left_alone(status: str):
    executions = FakeExecutions({TID: {"ticket": {}}})
    result = retry_ticket(TID, FakeTickets({TID: {"status": status}}), executions, NOW)
    assert result.outcome is RetryOutcome.NOT_FAILED and status in result.detail
    assert executions.started == {}


def test_unknown_malformed_and_expired_tickets_each_get_their_reason():
    executions = FakeExecutions({})
    tickets = FakeTickets({TID: {"status": "FAILED"}})
    assert retry_ticket("TKT-20261125-ZZZZZZZZZZ", tickets, executions, NOW).outcome is RetryOutcome.NOT_FOUND
    assert retry_ticket("ticket 42", tickets, executions, NOW).outcome is RetryOutcome.INVALID_ID
    gone = retry_ticket(TID, tickets, executions, NOW)
    assert gone.outcome is RetryOutcome.INPUT_GONE and "90 days" in gone.detail
    assert executions.started == {}


def test_a_second_retry_in_the_same_second_is_reported_not_started_twice():
    executions = FakeExecutions({TID: {"ticket": {}}})
    tickets = FakeTickets({TID: {"status": "FAILED"}})
    assert retry_ticket(TID, tickets, executions, NOW).started
    again = retry_ticket(TID, tickets, executions, NOW)
    assert again.outcome is RetryOutcome.ALREADY_STARTED and len(executions.started) == 1


def test_retry_names_are_valid_step_functions_execution_names():
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", retry_name(TID, NOW))


# --- the AWS adapters, against moto --------------------------------------------------------------------
def test_adapters_read_an_executions_input_and_tickets_by_status(offline_aws: None):
    from pipeline.adapters.aws import DynamoTickets, StepFunctionsStarter

    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="sm",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    ticket = make_ticket()
    payload = {"ticket": json.loads(ticket.model_dump_json()), "text": "t"}
    starter = StepFunctionsStarter(arn, sfn)
    assert starter.start(ticket.ticketId, payload)
    assert starter.input_of(ticket.ticketId) == payload
    assert starter.input_of("TKT-20200101-0000000000") is None

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
