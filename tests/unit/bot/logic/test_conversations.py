"""The decisions behind Slack-born tickets (issue 31): what an event is, who is a customer, the title, and
what a customer's later message does to the ticket (as inbound mail would)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.logic import conversations as conv
from bot.logic.actions import Action
from bot.logic.conversations import Customer, Kind, Message

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_channels_parse_with_and_without_companies_and_a_bad_id_names_the_setting() -> None:
    assert conv.parse_customer_channels(" C0ACME=Acme  Corp , G0PRIVATE,, C0GLOBEX= ") == {
        "C0ACME": "Acme Corp",
        "G0PRIVATE": "",
        "C0GLOBEX": "",
    }
    assert conv.parse_customer_channels("") == {}
    with pytest.raises(ValueError, match="TMS_CUSTOMER_CHANNELS: '#acme' is not a Slack channel id"):
        conv.parse_customer_channels("C0ACME,#acme")


@pytest.mark.parametrize(
    "event,kind",
    [
        ({"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1"}, Kind.NEW),
        ({"channel": "C1", "user": "U1", "text": "x", "ts": "1.2", "thread_ts": "1.1"}, Kind.THREAD),
        ({"channel": "C1", "user": "U1", "text": "x", "ts": "1.1", "thread_ts": "1.1"}, Kind.NEW),
        ({"channel": "D1", "channel_type": "im", "user": "U1", "text": "x", "ts": "1.1"}, Kind.DM),
        ({"channel": "C1", "subtype": "channel_join", "user": "U1", "ts": "1.1"}, Kind.IGNORE),
        ({"channel": "C1", "bot_id": "B1", "user": "U9", "text": "x", "ts": "1.1"}, Kind.IGNORE),
        ({"channel": "C1", "user": "U0BOT", "text": "x", "ts": "1.1"}, Kind.IGNORE),
        ({"channel": "C1", "subtype": "file_share", "user": "U1", "text": "log", "ts": "1.1"}, Kind.NEW),
        ({"channel": "C1", "subtype": "message_changed", "message": {"ts": "1.1", "text": "y"}}, Kind.EDITED),
        ({"channel": "C1", "subtype": "message_deleted", "deleted_ts": "1.1"}, Kind.DELETED),
    ],
)
def test_what_a_message_event_is(event: dict, kind: Kind) -> None:
    assert Message.from_event(event, bot_user_id="U0BOT").kind is kind


def test_a_change_that_keeps_the_text_is_not_an_edit() -> None:
    # Slack reports a new thread reply or an unfurl as a message_changed of the parent, text unchanged.
    event = {
        "channel": "C1",
        "subtype": "message_changed",
        "message": {"ts": "1.1", "user": "U1", "text": "same", "reply_count": 2},
        "previous_message": {"ts": "1.1", "user": "U1", "text": "same", "reply_count": 1},
    }
    assert Message.from_event(event).kind is Kind.IGNORE


def test_an_edit_names_the_original_message() -> None:
    msg = Message.from_event(
        {
            "channel": "C1",
            "subtype": "message_changed",
            "ts": "9.9",
            "message": {"ts": "1.1", "user": "U1", "text": "new"},
        }
    )
    assert (msg.ts, msg.user, msg.text) == ("1.1", "U1", "new")


def test_customers_are_other_organisations_or_anyone_not_an_agent() -> None:
    assert conv.is_customer("T0ACME", "T0OURS", is_agent=True)  # Slack Connect: their agent is our customer
    assert conv.is_customer("T0OURS", "T0OURS", is_agent=False)  # internal helpdesk
    assert not conv.is_customer("T0OURS", "T0OURS", is_agent=True)
    assert not conv.is_customer("", "T0OURS", is_agent=True)


@pytest.mark.parametrize(
    "text,title",
    [
        (
            "Our nightly export fails with AccessDenied. Can you check?",
            "Our nightly export fails with AccessDenied.",
        ),
        (
            ":rotating_light: *Checkout is down* for <@U0LIN|lin> and me\nlogs below",
            "Checkout is down for @lin and me",
        ),
        (
            "see <https://status.acme.example/x|our status page>: red since 9",
            "see our status page: red since 9",
        ),
        ("```\nTraceback (most recent call last)\n```", "Traceback (most recent call last)"),
        ("`updated_since` is ignored by GET /v2/orders", "updated_since is ignored by GET /v2/orders"),
        (
            "When we export invoices for more than two hundred customers at once the job stops halfway without any message",
            "When we export invoices for more than two hundred customers at once the job…",
        ),
        (":wave:", "(message without text)"),
    ],
)
def test_a_title_is_the_first_sentence_without_markup_and_short(text: str, title: str) -> None:
    assert conv.title_from(text) == title
    assert len(conv.title_from(text)) <= conv.TITLE_MAX_CHARS


def test_a_customer_without_email_is_filed_under_the_invalid_placeholder() -> None:
    lin = Customer("U0LIN", "Lin Chen", "Lin", "Chen", "", team_id="T0ACME", company="Acme")
    ticket = conv.ticket_from_message(
        text="Invoices lack the VAT number, please reissue",
        customer=lin,
        team_id="T0OURS",
        channel="C0ACME",
        thread_ts="1.1",
        origin="channel",
        now=NOW,
    )
    assert str(ticket.data.customer.email) == "U0LIN@users.slack.invalid"
    assert (
        ticket.slack is not None and ticket.slack.answered_in_slack and ticket.slack.user_team_id == "T0ACME"
    )


@pytest.mark.parametrize(
    "status,action,new_status,counts",
    [
        ("TRIAGED", Action.CUSTOMER_WROTE, None, False),
        ("APPROVED", Action.CUSTOMER_WROTE, None, False),  # the mailer's claim expects the approval's version
        ("SENT", Action.CUSTOMER_REPLIED, "CUSTOMER_REPLIED", True),
        ("WAITING_CUSTOMER", Action.CUSTOMER_REPLIED, "CUSTOMER_REPLIED", True),
    ],
)
def test_a_customers_later_message_moves_the_ticket_like_a_mail_answer(
    status, action, new_status, counts
) -> None:
    change = conv.customer_wrote({"status": status}, "U0GRACE", NOW, "still <b>broken</b>", "C1 2.2")
    assert change is not None and change.action is action and change.counts_version is counts
    assert change.set_fields.get("status") == new_status
    assert change.set_fields["last_customer_text"] == "still <b>broken</b>"


def test_a_resolved_ticket_reopens_within_the_window_and_not_after() -> None:
    resolved = {"status": "RESOLVED", "resolved_at": "2026-12-01T09:00:00.000Z"}
    reopen = conv.customer_wrote(resolved, "U0GRACE", NOW, "it broke again", "C1 3.3")
    assert reopen is not None and reopen.action is Action.REOPENED
    assert conv.customer_wrote(resolved, "U0GRACE", NOW + timedelta(days=30), "again", "C1 4.4") is None
    assert conv.customer_wrote({"status": "FAILED"}, "U0GRACE", NOW, "hello?", "C1 5.5") is None


def test_an_agents_answer_is_the_first_response_only_when_none_was_recorded() -> None:
    change = conv.agent_answered("U0ADA", NOW, "Rolling back now", "C1 6.6")
    assert change.set_if_absent == {
        "first_response_at": "2026-12-07T09:00:00.000Z",
        "first_response_by": "U0ADA",
    }
    assert "first_response_at" not in change.set_fields and not change.counts_version


def test_the_dm_window_is_inclusive_and_a_missing_time_is_outside() -> None:
    assert conv.within("2026-12-06T09:00:00.000Z", NOW, 24)
    assert not conv.within("2026-12-06T08:59:59.000Z", NOW, 24)
    assert not conv.within("", NOW, 24)
