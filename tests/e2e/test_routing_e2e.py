"""Routing on the local stack, end to end, with short timers: /ticket away → six tickets through the workflow →
routing in the ArmSlaTimers step gives two to each present on-call agent and none to the away one, and each
first post names its owner and its due time in <!date^…> form → nobody answers → at half the SLA the local
scheduler fires each reassignment timer once → each ticket moves to another present agent, once, and its
thread says so."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from contract import names
from tests.conftest import wait_for
from tests.fakes.bot_harness import BotHarness, bot_on_local_stack
from tools.cli import main

pytestmark = pytest.mark.integration

# Agents of the test workspace (tests.fakes.bot_harness.AGENTS), all on call; U0NOBODY goes away.
ONCALL = ("U0AGENT", "U0ADA", "U0NOMAIL", "U0NOBODY")
AWAY = "U0NOBODY"
# Every priority 24 s: reassignment at 12 s (the default half), the SLA warning at 19 s.
SLAS = {"HIGH": "24s", "MEDIUM": "24s", "NORMAL": "24s"}
SUBJECTS = {
    "Login page loops back to itself": "After the password step the browser returns to the sign-in form.",
    "Invoice shows the wrong VAT number": "Our December invoice carries last year's VAT registration.",
    "Webhook deliveries stopped at noon": "No events reached our endpoint since 12:04 CET, retries show 0.",
    "Cannot add a second admin": "The invite button is greyed out for the owner account on the Team plan.",
    "CSV export cuts off at 1000 rows": "Exports of the audit log end at row 1000 with no warning.",
    "Mobile app crashes on launch": "Version 4.2 closes immediately on Android 14 devices after the splash.",
}


@pytest.fixture(scope="module")
def routing_stack(tmp_path_factory) -> Iterator[tuple[BotHarness, Any]]:
    env = {
        names.ENV_SLACK_POST_INTERVAL: "0",
        names.ENV_ONCALL: ",".join(ONCALL),
        **{f"{names.ENV_SLA_PREFIX}{p}": v for p, v in SLAS.items()},
    }
    with bot_on_local_stack(tmp_path_factory.mktemp("routing-e2e"), extra_env=env, with_sla=True) as (
        bot,
        stack,
        slack,
    ):
        slack.add_user("U0AGENT", "Ada Lovelace", "ada@example.com")
        yield bot, stack


def test_six_tickets_spread_over_present_oncall_agents_and_unanswered_ones_move_once(routing_stack, capsys):
    bot, stack = routing_stack
    store = bot.clients.store

    # Given one on-call agent is away
    assert "You are away" in bot.command("away", user_id=AWAY).json()["text"]

    # When six tickets arrive
    for subject, description in SUBJECTS.items():
        assert bot.command(f"{subject} | {description}").status == 200
    tickets = [r["ticketId"] for r in bot.records()]
    assert len(tickets) == 6
    items = {
        t: wait_for(lambda t=t: (store.get(t) or {}).get("slack_ts") and store.get(t), 90, f"{t} posted")
        for t in tickets
    }

    # Then routing gave two to each present agent and none to the away one, recorded like a Take it
    first_owner = {
        t: next(h["assignee"] for h in item["history"] if h["action"] == "assign" and h["actor"] == "routing")
        for t, item in items.items()
    }
    assert Counter(first_owner.values()) == {"U0AGENT": 2, "U0ADA": 2, "U0NOMAIL": 2}

    # And each first post already names its owner and shows the due time as <!date^…>
    for t in tickets:
        (post,) = [
            c.params
            for c in bot.slack.calls_to("chat.postMessage")
            if "thread_ts" not in c.params and t in json.dumps(c.params)
        ]
        body = json.dumps(post["blocks"])
        assert f"*Owner*\\n<@{first_owner[t]}>" in body
        assert "*First response due*\\n<!date^" in body and " UTC>" in body

    # When nobody answers, at half the SLA each ticket moves to another present agent, once
    moved = {
        t: wait_for(
            lambda t=t: (store.get(t) or {}).get("reassign_announced") and store.get(t), 60, f"{t} moved"
        )
        for t in tickets
    }
    stack.wait_idle(timeout=30)
    for t, item in moved.items():
        assert item["reassigned_from"] == first_owner[t]
        assert item["assignee"] not in (first_owner[t], AWAY)
        assert [h["action"] for h in item["history"]].count("reassign") == 1
        notes = [
            c.params
            for c in bot.slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == item["slack_ts"]
            and ":arrows_counterclockwise:" in c.params["text"]
        ]
        assert len(notes) == 1 and f"<@{item['assignee']}> now owns" in notes[0]["text"]
    # And `tms ticket show --json` names the owner
    capsys.readouterr()
    assert main(["ticket", "show", tickets[0], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (
        shown["assignee"] == moved[tickets[0]]["assignee"]
        and shown["reassigned_from"] == first_owner[tickets[0]]
    )
    # And the loads followed: six open tickets, still none on the away agent
    loads = {
        u: int((store.get(f"{names.ROUTING_KEY_PREFIX}{u}") or {}).get("open_count") or 0) for u in ONCALL
    }
    assert sum(loads.values()) == 6 and loads[AWAY] == 0
