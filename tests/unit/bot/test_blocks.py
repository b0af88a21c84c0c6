"""Every Block Kit payload round-trips through slack_sdk.models validation."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import blocks
from bot.blocks import TicketView

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
