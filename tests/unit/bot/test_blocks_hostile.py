"""Issue 27.3: customer-controlled text never becomes a live mention, link or special command in Slack.

Every post type is rendered with hostile names, companies, subjects, senders and bodies; every string of
every payload (blocks, fallback text, metadata, everything) is walked. Slack only parses `<...>` as a
token, so a raw `<` may appear only in the tokens we build ourselves from real ids: mentions of real users
and of the on-call group, and links to Slack's own archives and permalinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot import blocks
from bot.blocks import TicketView
from bot.logic import actions
from bot.logic.mrkdwn import escape, user_mention
from contract.models import MailEventKind, Priority, TicketMailMessage, TicketStatus

AGENT = "U0AGENT"
ONCALL = "S0ONCALL"
TID = "TKT-20250102-ABCDEFGHJK"
AT = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
EVIL_FROM = '"x><!channel> <https://evil.example|View invoice>"@evil.example'
HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<@W0ADMIN|admin>",
    "<#C0GENERAL>",
    "<!subteam^S0ALL|@all>",
    "<!date^1700000000^{date}|soon>",
    "<https://evil.example|View invoice>",
    "<mailto:billing@evil.example|billing@ourcompany.com>",
    "&lt;!channel&gt;",
    "&lt;",
    "&amp;lt;@U0AGENT&amp;gt;",
    "``` <!here> ```",
    "`<@U123>`",
    "*bold* <!channel> *",
    "_x_ ~y~\n> <!here>",
    "\u202e<!channel>\u202c gnp.exe",
    "\u200b<\u200b!here>\u2066<@U0AGENT>\u2069",
    "שלום <!channel> مرحبا",
    EVIL_FROM,
]
EVERYTHING = " ".join(HOSTILE)
LONG = ("<!channel> " * 2000) + "<https://evil.example|tail>"
# The tokens we build: mentions of real ids, and links to Slack's own pages.
ALLOWED = re.compile(
    r"<@(U0AGENT|U0LEAD)>"
    r"|<!subteam\^S0ONCALL>"
    r"|<https://slack\.com/archives/C[A-Z0-9]+/p\d+\|TKT-[A-Z0-9-]+>"
    r"|<https://fake\.slack\.com/archives/C[A-Z0-9]+/p\d+\|Open the thread>"
)


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def assert_inert(payload: Any) -> None:
    """No raw `<` outside our own tokens, anywhere in the payload."""
    for s in strings(payload):
        rest = ALLOWED.sub("", s)
        assert "<" not in rest, f"live token in {s[:300]!r}"
        assert "\u202e" not in s and "\u2066" not in s, f"bidi override survived in {s[:120]!r}"


def assert_posted_without_unfurls(payload: dict[str, Any]) -> None:
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False
    if payload.get("blocks"):
        for parsed in Block.parse_all(payload["blocks"]):
            parsed.validate_json()


def hostile_item(text: str, **overrides: Any) -> dict[str, Any]:
    """A ticket item whose every customer- or mail-controlled attribute is `text`."""
    item = {
        "ticket_id": TID,
        "subject": text,
        "description": text,
        "customer_full_name": text,
        "company": text,
        "product": text,
        "issue_type": text,
        "priority": "HIGH",
        "priority_reasoning": text,
        "sentiment": text,
        "response_text": text,
        "status": "TRIAGED",
        "slack_user": text,  # a forged submitter: rendered as text, never a mention
        "updated_by": EVIL_FROM,  # an inbound mail makes the sender the last actor
        "last_action": text,
        "updated_at": text,
        "assignee": text,
        "sla_due_at": text,
        "incident_id": "INC-1",
        "incident_report": text,
    }
    return item | overrides


TEXTS = [*HOSTILE, EVERYTHING, LONG]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_ticket_posts_and_updates_render_hostile_customer_text_inert(text: str) -> None:
    views = [
        TicketView.from_item(hostile_item(text)),
        TicketView.from_item(hostile_item(text, slack_user=AGENT, assignee="")),
        TicketView.from_item(
            hostile_item(text, incident_members={TID, "TKT-2"}, incident_companies={text, "Acme"})
        ),
        TicketView.from_item(hostile_item(text, status="SEND_FAILED", description_truncated=True)),
    ]
    for view in views:
        for payload in (
            blocks.ticket_message("C0TICKETS", view),
            blocks.ticket_update("C0TICKETS", "1.2", view),
            blocks.incident_member_message("C0TICKETS", "1.2", view),
        ):
            assert_inert(payload)
            assert_posted_without_unfurls(payload)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
@pytest.mark.parametrize("kind", list(MailEventKind))
@pytest.mark.parametrize("via", ["email", "slack"])
def test_mail_events_of_every_kind_render_hostile_senders_and_bodies_inert(
    text: str, kind: MailEventKind, via: str
) -> None:
    msg = TicketMailMessage(
        kind=kind,
        ticket_id=TID,
        status=TicketStatus.CUSTOMER_REPLIED,
        at=AT,
        actor=EVIL_FROM,
        address=text,
        text=text,
        mail_message_id=text,
        via=via,  # type: ignore[arg-type]
        mention=text,
        flag=text,
        reopened=True,
        autoclose_paused=True,
        rating=text,  # issue 32: a rating is one of ours, but the post must stay inert whatever arrives
    )
    for thread_ts in ("1.2", ""):
        payload = blocks.mail_event_message("C0TICKETS", thread_ts, msg)
        assert_inert(payload)
        assert_posted_without_unfurls(payload)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_failures_alerts_and_sla_posts_render_hostile_text_inert(text: str) -> None:
    payloads = [
        blocks.failure_message("C0TICKETS", TID, text, text, "1.2"),
        blocks.failure_message("C0TICKETS", TID, text, text, None),
        blocks.alarm_message(
            "C0ALERTS", name=text, new_state=text, old_state=text, reason=text, changed_at=text
        ),
        blocks.glue_job_message("C0ALERTS", job_name=text, state=text, message=text, run_id=text, at=text),
        blocks.glue_job_message(
            "C0ALERTS", job_name=text, state="SUCCEEDED", message=text, run_id=text, at=text
        ),
        blocks.generic_alert_message("C0ALERTS", subject=text, message=text),
        blocks.sla_warning_message(
            "C0TICKETS", "1.2", ticket_id=TID, priority="HIGH", due_at=text, who=blocks.mention(text, ONCALL)
        ),
        blocks.sla_warning_message(
            "C0TICKETS", "1.2", ticket_id=TID, priority="HIGH", due_at=text, who=blocks.mention("", text)
        ),
        blocks.sla_breach_message(
            "C0ALERTS",
            ticket_id=TID,
            priority="HIGH",
            subject=text,
            due_at=text,
            link=blocks.slack_link("C0TICKETS", "1700000000.000100"),
            owner=text,
        ),
    ]
    for payload in payloads:
        assert_inert(payload)
        assert_posted_without_unfurls(payload)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_thread_messages_and_conflict_reasons_render_hostile_actors_inert(text: str) -> None:
    changes = [
        actions.approve(text, AT, 0),
        actions.edit_reply(text, AT, text, 1),
        actions.change_priority(text, AT, Priority.HIGH),
        actions.resolve(text, AT),
        actions.take(text, AT),
        actions.reassign(AGENT, AT, text),
        actions.retry_send(text, AT),
        actions.queue_failed(text, AT, text),
    ]
    for change in changes:
        payload = blocks.thread_message("C0TICKETS", "1.2", change.summary)
        assert_inert(payload)
        assert_posted_without_unfurls(payload)
        reason = actions.conflict_reason(change, {"status": text, "updated_by": text, "assignee": text})
        assert_inert(blocks.error_message(reason))


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_modals_and_ephemeral_replies_render_hostile_text_inert(text: str) -> None:
    permalink = "https://fake.slack.com/archives/C0TICKETS/p1700000000000100"
    payloads = [
        blocks.description_view(TID, text, text),
        blocks.status_message(hostile_item(text), permalink),
        blocks.status_message(hostile_item(text), None),
        blocks.mine_message([hostile_item(text), hostile_item(text, sla_breached=True)]),
        blocks.error_message(f"No ticket {escape(text)}.", [text, text]),
        blocks.confirmation(TID, [f"address `{escape(text)}`"]),
    ]
    for payload in payloads:
        assert_inert(payload)


def test_mentions_are_built_only_from_real_slack_ids() -> None:
    assert user_mention("U0AGENT") == "<@U0AGENT>"
    assert user_mention("W0ENTERPRISE1") == "<@W0ENTERPRISE1>"
    for forged in ("u0agent", "U0AGENT>", "U0AGENT|x", "<!channel>", EVIL_FROM, "B0BOT", "U", ""):
        assert "<" not in user_mention(forged)
    assert blocks.mention("", "S0ONCALL") == "<!subteam^S0ONCALL>"
    assert "<" not in blocks.mention("", "S0X><!channel")


def test_the_evil_from_address_shows_as_text_and_links_nowhere() -> None:
    view = TicketView.from_item(hostile_item("ok", updated_by=EVIL_FROM))
    note = view.note
    assert "&lt;!channel&gt;" in note and "&lt;https://evil.example|View invoice&gt;" in note
    assert "<" not in note
