"""Fuzzing `/ticket`: any command text ends as a valid ticket or a clear, user-facing answer, within Slack's limits.

Driven through the listener function itself (`handle_ticket`) with fake ports, not over HTTP: Bolt's routing
and signature checks are covered by test_bot_commands.py; here the point is every possible text, fast.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.adapters.catalog import Catalog
from bot.adapters.slack import Profile
from bot.errors import TicketWriteError
from bot.listeners.commands import handle_ticket
from bot.logic import intake
from contract.models import SlackContext, TicketSubmitted, field_errors

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
COMMAND = {
    "team_id": "T0FAKE",
    "channel_id": "C0SUPPORT",
    "user_id": "U0AGENT",
    "trigger_id": "1337.42.abcd",
    "command": "/ticket",
}
# Slack: a message's text is truncated past 40,000 characters, a section's text may not exceed 3,000,
# a message holds at most 50 blocks (https://api.slack.com/reference/block-kit/blocks).
MESSAGE_TEXT_MAX = 40_000
SECTION_TEXT_MAX = 3_000
MESSAGE_BLOCKS_MAX = 50


# --- fakes for the listener's ports -------------------------------------------------------------------------
@dataclass
class Ack:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@dataclass
class FakeClient:
    """The two Web API methods /ticket uses."""

    opened: list[dict[str, Any]] = field(default_factory=list)

    def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        self.opened.append(view)
        return {"ok": True}

    def chat_getPermalink(self, *, channel: str, message_ts: str) -> dict[str, Any]:
        return {"ok": True, "permalink": f"https://fake.slack.com/archives/{channel}/p{message_ts}"}


@dataclass
class FakeTickets:
    written: list[TicketSubmitted] = field(default_factory=list)
    fail: bool = False

    def put(self, event: TicketSubmitted) -> None:
        if self.fail:
            raise TicketWriteError("stream unavailable")
        self.written.append(event)


class FakeStore:
    """The ticket store behind every /ticket keyword (status, mine, away/back)."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[str, Any]] = {}

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        return None

    def owned_by(self, user_id: str) -> list[dict[str, Any]]:
        return []

    def set_fields(self, key: str, fields: dict[str, Any]) -> None:
        self.fields[key] = fields


@dataclass
class FakeConversations:
    """Watched customer channels (/ticket watch and unwatch)."""

    watched: dict[str, str] = field(default_factory=dict)

    def watch(self, channel: str, company: str, by: str) -> None:
        self.watched[channel] = company

    def unwatch(self, channel: str) -> bool:
        return self.watched.pop(channel, None) is not None


class FakeRoles:
    def has(self, user_id: str, role: Any) -> bool:
        return False


@dataclass
class FakeDirectory:
    profile_of: Profile

    def profile(self, user_id: str) -> Profile:
        return self.profile_of


@dataclass
class FakeCatalog:
    def get(self) -> Catalog:
        return Catalog(products=("Amazon EC2",), issue_types=("Access Denied",))


AGENT = Profile(full_name="Ada Lovelace", first_name="Ada", last_name="Lovelace", email="ada@example.com")


@dataclass
class Run:
    """One /ticket: what was acked, written and opened."""

    acks: list[dict[str, Any]]
    written: list[TicketSubmitted]
    opened: list[dict[str, Any]]


def run_ticket(text: str, profile: Profile = AGENT, *, write_fails: bool = False) -> Run:
    """Call the /ticket listener as Bolt would, with fake ports."""
    ack, client, tickets = Ack(), FakeClient(), FakeTickets(fail=write_fails)
    clients = SimpleNamespace(
        catalog=FakeCatalog(),
        directory=FakeDirectory(profile),
        tickets=tickets,
        store=FakeStore(),
        conversations=FakeConversations(),
        roles=FakeRoles(),
        intake=SimpleNamespace(channels={}),
        now=lambda: NOW,
    )
    handle_ticket(ack, {**COMMAND, "text": text}, client, {"tms": clients})  # type: ignore[arg-type]
    return Run(ack.calls, tickets.written, client.opened)


# --- what every answer must satisfy --------------------------------------------------------------------------
def assert_within_slack_limits(answer: dict[str, Any]) -> None:
    json.dumps(answer)  # the ack body is JSON
    text = answer.get("text", "")
    assert isinstance(text, str) and len(text) <= MESSAGE_TEXT_MAX
    blocks = answer.get("blocks", [])
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()  # slack_sdk's own Block Kit checks (lengths, required fields)
        section_text = raw.get("text", {}).get("text", "")
        assert len(section_text) <= SECTION_TEXT_MAX
        assert all(len(f["text"]) <= 2000 for f in raw.get("fields", []))


def assert_ticket_or_clear_answer(text: str, run: Run) -> None:
    assert len(run.acks) == 1, "every /ticket is acked exactly once"
    (answer,) = run.acks
    if run.opened:  # /ticket alone opens the form and acks empty
        (view,) = run.opened
        View(**view).validate_json()
        assert answer == {} and not run.written and not text.strip()
        return
    assert_within_slack_limits(answer)
    assert answer["text"].strip(), "an empty answer tells the agent nothing"
    if run.written:
        (event,) = run.written
        assert event.ticketId in answer["text"]
        # What Slack accepted, the pipeline accepts: the record round-trips through the shared contract.
        assert TicketSubmitted.model_validate_json(event.to_record_bytes()) == event
        assert event.data.subject and event.data.description
        return
    # Not written: help, a status answer, an answer to a keyword (mine, watch, unwatch, away, back), or a
    # rejection that says why. Customer text in it is escaped (a watched company's name, say).
    if isinstance(intake.parse_command(text), (intake.Mine, intake.Watch, intake.Unwatch, intake.Away)):
        assert "<!channel>" not in answer["text"], answer["text"][:200]
        return
    assert answer["text"].startswith((":warning:", "*tms:", "*TKT-")), answer["text"][:200]


# --- strategies: the texts agents (and their clipboards) produce ------------------------------------------
hostile_chars = st.sampled_from(
    [
        "|",
        " ",
        "\t",
        "\n",
        "\r",
        "\x00",
        "\x1b",
        "\u200b",
        "\u202e",
        "\ufeff",
        "&",
        "<",
        ">",
        "*",
        "`",
        "é",
        "😀",
    ]
)
command_words = st.sampled_from(["", "help", "HELP", "status", "Status", "status ", "statusx", "helpme"])
any_text = st.text(max_size=400)  # arbitrary unicode, control characters included
huge_text = st.text(alphabet=st.sampled_from("ab |é😀\n"), min_size=4_000, max_size=20_000)
piped = st.tuples(st.text(max_size=300), st.text(max_size=5_000)).map(lambda p: f"{p[0]} | {p[1]}")
ticket_texts = st.one_of(
    any_text,
    piped,
    huge_text,
    st.lists(st.one_of(hostile_chars, st.text(max_size=5)), max_size=60).map("".join),
    st.tuples(command_words, any_text).map(lambda p: f"{p[0]} {p[1]}"),
    st.just("").map(lambda _: string.whitespace),
)
profiles = st.sampled_from(
    [
        AGENT,
        Profile(full_name="", first_name="", last_name="", email=""),  # a bot user, no profile
        Profile(full_name="X", first_name="X", last_name="", email="not-an-email"),
        Profile(full_name="é" * 200, first_name="é" * 100, last_name="é" * 100, email="a@b.co"),
    ]
)


@FUZZ
@given(ticket_texts)
@example("")
@example("   \t\n")
@example("|")
@example(" | ")
@example("a|b")
@example("||||")
@example("status")
@example("status " + "x" * 10_000)
@example("status <!channel>")
@example("\x00 | \x00")
@example("é" * 200 + " | body")
@example("subject | " + "d" * 4_501)
@example("s" * 50_000 + " | " + "d" * 50_000)
# every keyword, every run: Hypothesis once found "MINE", which the harness then had no port for
@example("MINE")
@example("watch Acme <!channel>")
@example("unwatch")
@example("away")
@example("back")
@example("help")
def test_any_ticket_text_ends_as_a_valid_ticket_or_a_clear_answer_within_slack_limits(text: str) -> None:
    assert_ticket_or_clear_answer(text, run_ticket(text))


@FUZZ
@given(piped, profiles)
def test_any_inline_ticket_with_any_agent_profile_is_created_or_rejected_with_reasons(
    text: str, profile: Profile
) -> None:
    run = run_ticket(text, profile)

    assert_ticket_or_clear_answer(text, run)
    if not run.written:
        (answer,) = run.acks
        assert answer["text"].startswith(":warning: The ticket was not created:")
        assert "\n• " in answer["text"], "a rejection lists at least one reason"


valid_words = st.text(alphabet=string.ascii_letters + string.digits + " éü😀", min_size=1, max_size=80)


@settings(max_examples=50, deadline=None)
@given(st.tuples(valid_words, valid_words).filter(lambda p: p[0].strip() and p[1].strip()))
def test_a_failed_stream_write_is_answered_with_an_error_and_no_confirmation(parts: tuple[str, str]) -> None:
    run = run_ticket(f"{parts[0]} | {parts[1]}", write_fails=True)

    (answer,) = run.acks
    assert_within_slack_limits(answer)
    assert run.written == []
    assert answer["text"].startswith(":warning:") and "nothing was created" in answer["text"]


@FUZZ
@given(piped, profiles)
def test_inline_rejections_name_a_field_for_each_problem(text: str, profile: Profile) -> None:
    cmd = intake.parse_command(text)
    assert isinstance(cmd, intake.Inline)
    try:
        intake.inline_ticket(
            cmd,
            full_name=profile.full_name,
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            slack=SlackContext(team_id="T0FAKE", channel_id="C0SUPPORT", user_id="U0AGENT"),
            now=NOW,
        )
    except Exception as e:
        from pydantic import ValidationError

        assert isinstance(e, ValidationError), repr(e)
        lines = intake.inline_errors(e)
        assert len(lines) == len(field_errors(e)) >= 1
        assert all(": " in line and len(line) < 500 for line in lines), lines
