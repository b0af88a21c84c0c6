"""Intake: one valid record starts one execution; anything else is a dead letter with its reason."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from contract import defaults
from contract.errors import InvalidTicketError
from contract.models import DESCRIPTION_MAX, SentimentResult
from pipeline.domain.intake import Outcome, RecordMeta, execution_input, handle_record, parse_ticket
from pipeline.domain.sentiment import detect_sentiment
from tests.conftest import make_ticket
from tests.fakes.intake import FakeDlq, FakeInputs, FakeStarter

META = RecordMeta(partition_key="pk", sequence_number="42", event_source_arn="arn:stream")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty body"),
        (b"\xff\xfe\x00garbage", "not valid UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (json.dumps({"eventName": "TicketClosed"}).encode(), "eventName: expected 'TicketSubmitted'"),
    ],
)
def test_malformed_record_is_dead_lettered_with_its_reason(data: bytes, reason: str):
    starter, dlq = FakeStarter(), FakeDlq()
    assert handle_record(data, META, starter, dlq, FakeInputs()) is Outcome.REJECTED
    assert starter.started == {}
    assert len(dlq.messages) == 1 and reason in dlq.messages[0]["reason"]
    assert dlq.messages[0]["sequence_number"] == "42"


def test_missing_and_over_long_fields_are_named_in_the_rejection():
    raw = json.loads(make_ticket().model_dump_json())
    del raw["data"]["customer"]["email"]
    raw["data"]["description"] = "x" * (DESCRIPTION_MAX + 1)
    with pytest.raises(InvalidTicketError) as err:
        parse_ticket(json.dumps(raw).encode())
    text = str(err.value)
    assert "data.customer.email: Field required" in text
    assert f"data.description: is {DESCRIPTION_MAX + 1} bytes" in text


def test_valid_record_starts_one_execution_named_after_the_ticket():
    ticket = make_ticket()
    starter, dlq = FakeStarter(), FakeDlq()
    assert handle_record(ticket.to_record_bytes(), META, starter, dlq, FakeInputs()) is Outcome.STARTED
    assert list(starter.started) == [ticket.ticketId]
    assert starter.started[ticket.ticketId] == execution_input(ticket)
    assert dlq.messages == []


def test_redelivered_record_is_a_duplicate_not_a_second_execution():
    ticket = make_ticket()
    starter, dlq = FakeStarter(), FakeDlq()
    handle_record(ticket.to_record_bytes(), META, starter, dlq, FakeInputs())
    assert handle_record(ticket.to_record_bytes(), META, starter, dlq, FakeInputs()) is Outcome.DUPLICATE
    assert len(starter.started) == 1


def test_execution_input_carries_the_ticket_once_and_its_sentiment_computed_at_intake():
    ticket = make_ticket(subject="Broken", description="It is broken.")
    # PII detection reads subject + the whole description, built by the workflow from the ticket itself
    # (States.Format in DetectPii): the long text is never carried twice in the state.
    assert set(execution_input(ticket)) == {"ticket", "sentiment", "expires_at"}
    # The analyzer the local runtime answered DetectSentiment with, on the same 300-character opening
    assert execution_input(ticket)["sentiment"] == detect_sentiment(ticket.data.sentiment_prefix(), "en")
    assert SentimentResult.model_validate(execution_input(ticket)["sentiment"]).Sentiment
    assert execution_input(ticket)["ticket"]["ticketId"] == ticket.ticketId


def test_the_input_is_kept_before_the_start_and_a_redelivery_keeps_the_same_input():
    ticket = make_ticket()
    starter, dlq, inputs = FakeStarter(), FakeDlq(), FakeInputs()
    handle_record(ticket.to_record_bytes(), META, starter, dlq, inputs)
    handle_record(ticket.to_record_bytes(), META, starter, dlq, inputs)
    assert inputs.stored == {ticket.ticketId: execution_input(ticket)} and inputs.puts == 2
    assert starter.started[ticket.ticketId] == inputs.stored[ticket.ticketId]


def test_an_input_that_cannot_be_kept_starts_nothing_and_raises_for_the_mapping_to_retry():
    ticket = make_ticket()
    starter, dlq = FakeStarter(), FakeDlq()
    with pytest.raises(OSError):
        handle_record(ticket.to_record_bytes(), META, starter, dlq, FakeInputs(fail=OSError("s3 down")))
    assert starter.started == {} and dlq.messages == []


def test_the_input_says_when_the_item_expires_should_the_ticket_fail_the_same_on_every_delivery():
    # Given a ticket submitted at a known time, kept 45 days
    ticket = make_ticket()

    first = execution_input(ticket, retention_days=45)

    # Then the expiry is 45 days after submission, in the TTL attribute's epoch seconds, and a redelivered
    # record builds the same input
    assert first["expires_at"] == int((ticket.submittedAt + timedelta(days=45)).timestamp())
    assert execution_input(ticket, retention_days=45) == first
    assert execution_input(ticket)["expires_at"] == int(
        (ticket.submittedAt + timedelta(days=defaults.RETENTION_DAYS["tickets"])).timestamp()
    )
