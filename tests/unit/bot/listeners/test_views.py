"""The /ticket modal's submission: per-field errors, or Kinesis write then ack and an ephemeral confirmation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from contract.models import Source, TicketSubmitted
from tests.fakes.bot_harness import BotHarness
from tests.fakes.slack_api import email_value, select_value, text_value, view_submission_payload

AGENT = "U0AGENT"


@pytest.fixture
def bot(start_bot) -> Iterator[BotHarness]:
    with start_bot() as harness:
        yield harness


def _form(**overrides: str) -> dict:
    values = {
        "subject": text_value("Bucket policy denies our role"),
        "description": text_value("Since Monday every GetObject from the app role returns 403."),
        "product": select_value("Amazon S3"),
        "issue_type": select_value("Access Denied"),
        "customer_name": text_value("Grace Brewster Hopper"),
        "customer_email": email_value("grace@example.com"),
        "customer_company": text_value("Navy"),
    }
    for key, value in overrides.items():
        values[key] = email_value(value) if key == "customer_email" else text_value(value)
    return view_submission_payload(
        callback_id="ticket_form",
        values=values,
        private_metadata=json.dumps({"channel_id": "C0SUPPORT"}),
        user_id=AGENT,
    )


def test_valid_form_writes_the_ticket_then_closes_the_modal_and_confirms_ephemerally(bot):
    resp = bot.interact(_form())

    assert resp.status == 200 and resp.body == ""  # an empty 200 closes the modal
    (record,) = bot.records()
    event = TicketSubmitted.model_validate(record)
    assert event.source == Source.SLACK
    assert event.data.customer.first_name == "Grace" and event.data.customer.last_name == "Brewster Hopper"
    assert event.data.product == "Amazon S3" and event.data.issue_type == "Access Denied"
    assert (
        event.slack is not None and event.slack.channel_id == "C0SUPPORT" and event.slack.team_id == "T0FAKE"
    )
    (eph,) = bot.slack.calls_to("chat.postEphemeral")
    assert eph.params["user"] == AGENT and eph.params["channel"] == "C0SUPPORT"
    assert event.ticketId in eph.params["text"]


def test_invalid_email_and_single_name_come_back_as_per_field_errors_and_nothing_is_written(bot):
    resp = bot.interact(_form(customer_email="not-an-email", customer_name="Cher"))

    body = resp.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"customer_email", "customer_name"}
    assert "first and last name" in body["errors"]["customer_name"]
    assert bot.records() == []
    assert bot.slack.calls_to("chat.postEphemeral") == []


def test_blank_subject_is_an_error_on_the_subject_field(bot):
    body = bot.interact(_form(subject="   ")).json()

    assert body == {"response_action": "errors", "errors": {"subject": "must not be blank"}}
    assert bot.records() == []
