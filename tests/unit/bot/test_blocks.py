"""Every Block Kit payload round-trips through slack_sdk.models validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import blocks
from bot.blocks import TicketView
from contract.models import MailEventKind, TicketMailMessage, TicketStatus

LONG = "x" * 9000


def _item(**overrides):
    item = {
        "ticket_id": "TKT-20250102-ABCDEFGHJK",
        "subject": "<script> & co",
        "customer_full_name": "Ada Lovelace",
        "company": "Engines",
        "product": "Amazon EC2",
        "issue_type": "Instance Connectivity",
        "priority": "HIGH",
        "priority_reasoning": LONG,
        "sentiment": "NEGATIVE",
        "sentiment_score_negative": 0.93,
        "response_text": LONG,
        "status": "TRIAGED",
        "slack_user": "U0AGENT",
    }
    return item | overrides


def _valid_blocks(payload_blocks):
    for parsed in Block.parse_all(payload_blocks):
        parsed.validate_json()


@pytest.mark.parametrize("status", ["TRIAGED", "APPROVED", "RESOLVED", "FAILED", "PROCESSING"])
def test_ticket_post_is_valid_block_kit_in_every_status_even_with_oversized_text(status):
    payload = blocks.ticket_message("C1", TicketView.from_item(_item(status=status)))

    _valid_blocks(payload["blocks"])
    assert "&lt;script&gt; &amp; co" in payload["text"]


def test_high_ticket_mentions_the_submitter_and_normal_does_not():
    assert "<@U0AGENT>" in blocks.ticket_fallback_text(TicketView.from_item(_item()))
    assert "<@" not in blocks.ticket_fallback_text(TicketView.from_item(_item(priority="NORMAL")))


def test_every_ephemeral_thread_and_alarm_payload_is_valid_block_kit():
    for payload in (
        blocks.confirmation("TKT-20250102-ABCDEFGHJK"),
        blocks.error_message("bad", ["subject: must not be blank", LONG]),
        blocks.help_message(),
        blocks.status_message(
            _item(slack_channel="C1", slack_ts="1.2"), "https://x.slack.com/archives/C1/p12"
        ),
        blocks.thread_message("C1", "1.2", "<@U1> approved the reply."),
        blocks.failure_message("C1", "TKT-1", "ArchiveError", LONG, "1.2"),
        blocks.alarm_message("C1", name="a", new_state="OK", old_state="ALARM", reason=LONG, changed_at="t"),
    ):
        _valid_blocks(payload["blocks"])


def test_modals_are_valid_views_and_keep_their_metadata():
    form = View(**blocks.ticket_form([f"P{i}" for i in range(150)], ["I"], "C1"))
    form.validate_json()
    assert json.loads(form.private_metadata) == {"channel_id": "C1"}
    assert len(form.blocks[2].element.options) == 100  # Slack's static_select cap

    edit = View(**blocks.edit_reply_form("TKT-1", LONG, 3, "C1", "1.2"))
    edit.validate_json()
    assert json.loads(edit.private_metadata)["version"] == 3


def test_rating_post_shows_the_score_and_quotes_the_comment_escaped() -> None:
    # Given a customer's rating with a comment that tries a mention and a link (issue 32)
    msg = TicketMailMessage(
        kind=MailEventKind.CSAT_RECEIVED,
        ticket_id="TKT-20250102-ABCDEFGHJK",
        status=TicketStatus.CLOSED,
        at=datetime(2025, 1, 2, 12, 0, tzinfo=UTC),
        rating="2",
        text="Slow. <!channel> see <https://evil.example|this>",
    )

    payload = blocks.mail_event_message("C0TICKETS", "1.2", msg)

    # Then the thread shows the score and the comment as inert text, and the status as CLOSED
    assert payload["text"] == ":star: The customer rated the ticket: 2/5. Status: CLOSED"
    quoted = payload["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt;" in quoted and "<!channel>" not in quoted


def test_unverified_mail_on_a_waiting_ticket_says_auto_close_is_paused() -> None:
    msg = TicketMailMessage(
        kind=MailEventKind.UNVERIFIED_MAIL,
        ticket_id="TKT-20250102-ABCDEFGHJK",
        status=TicketStatus.WAITING_CUSTOMER,
        at=datetime(2025, 1, 2, 12, 0, tzinfo=UTC),
        address="ada@example.com",
        mention="U0OWNER",
        autoclose_paused=True,
    )

    text = blocks.mail_event_text(msg)

    assert text.endswith("Status unchanged: WAITING_CUSTOMER. Auto-close is paused: the owner decides")


def _post_text(item) -> str:
    payload = blocks.ticket_message("C1", TicketView.from_item(item))
    _valid_blocks(payload["blocks"])
    return json.dumps(payload["blocks"])


def test_a_grounded_post_links_its_sources_with_their_scores_and_the_confidence():
    sources = [
        {
            "id": "ec2-unreachable#1",
            "title": "Instance unreachable: security groups & NACLs",
            "uri": "https://help.example.com/articles/ec2-unreachable",
            "score": 0.7421,
        }
    ]
    text = _post_text(_item(sources=json.dumps(sources), retrieval_confidence=0.7421))

    assert "confidence 0.74" in text
    assert (
        "<https://help.example.com/articles/ec2-unreachable|Instance unreachable: security groups &amp; NACLs> (0.74)"
        in text
    )


def test_an_ungrounded_post_says_nothing_was_relevant_and_a_post_without_a_knowledge_base_says_nothing():
    assert "No knowledge-base article was relevant enough (best score 0.41)" in _post_text(
        _item(sources="", retrieval_confidence=0.41)
    )
    assert ":books:" not in _post_text(_item())


def test_a_hostile_source_never_becomes_a_live_link_or_a_mention():
    sources = [
        {
            "id": "a#0",
            "title": "Read me|<!channel>",
            "uri": "https://evil.example/x|<!channel>",
            "score": 0.9,
        },
        {"id": "b#0", "title": "Plain", "uri": "javascript:alert(1)", "score": 0.8},
    ]
    text = _post_text(_item(sources=json.dumps(sources), retrieval_confidence=0.9))

    assert "<!channel>" not in text
    assert "<javascript:" not in text and "&lt;!channel&gt;" in text
