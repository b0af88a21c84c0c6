"""Ownership from the ticket post: Take it and Reassign are conditional writes with history; the post shows
the owner; Approve and Resolve record the first response once and tell the SLA timers."""

from __future__ import annotations

import json
from datetime import datetime

from contract.models import Priority
from tests.fakes.slack_api import block_action_payload
from tests.unit.bot.listeners.test_actions import POST_TS, TICKET_CHANNEL, TID, _click, _item, bot  # noqa: F401


class RecordingSla:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        self.calls.append(("first_response", ticket_id, by))

    def reprioritised(self, ticket_id: str, priority: Priority, at: datetime) -> None:
        self.calls.append(("reprioritised", ticket_id, str(priority)))

    def resolved(self, ticket_id: str, at: datetime) -> None:
        self.calls.append(("resolved", ticket_id))


def _reassign(bot, user: str, to: str) -> int:  # noqa: F811
    payload = block_action_payload(
        action_id="ticket_reassign", user_id=user, channel_id=TICKET_CHANNEL, message_ts=POST_TS
    )
    payload["actions"][0] |= {"type": "users_select", "selected_user": to, "block_id": f"owner:{TID}"}
    return bot.interact(payload).status


def test_take_it_makes_the_agent_the_owner_and_the_post_shows_them(bot):  # noqa: F811
    assert _click(bot, "ticket_take", "U0ADA", value=TID) == 200

    item = _item(bot)
    assert item["assignee"] == "U0ADA"
    assert item["history"][-1] | {"at": "-"} == {
        "action": "take",
        "actor": "U0ADA",
        "at": "-",
        "assignee": "U0ADA",
    }
    (update,) = bot.slack.calls_to("chat.update")
    blocks = json.dumps(update.params["blocks"])
    assert "*Owner*\\n<@U0ADA>" in blocks and "ticket_take" not in blocks and "ticket_reassign" in blocks


def test_a_second_agent_cannot_take_a_ticket_someone_owns_and_is_told_who(bot):  # noqa: F811
    _click(bot, "ticket_take", "U0ADA", value=TID)
    _click(bot, "ticket_take", "U0BOB", value=TID)

    assert _item(bot)["assignee"] == "U0ADA"
    (eph,) = bot.slack.calls_to("chat.postEphemeral")
    assert eph.params["user"] == "U0BOB" and "<@U0ADA> already owns" in eph.params["text"]


def test_reassign_gives_the_ticket_to_the_chosen_member(bot):  # noqa: F811
    _click(bot, "ticket_take", "U0ADA", value=TID)
    assert _reassign(bot, "U0ADA", "U0BOB") == 200

    item = _item(bot)
    assert item["assignee"] == "U0BOB"
    assert [h["action"] for h in item["history"]] == ["take", "reassign"]
    thread = [c.params["text"] for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert thread[-1] == "<@U0ADA> assigned the ticket to <@U0BOB>."


def test_approving_is_not_the_first_response_but_resolving_is(bot):  # noqa: F811
    # The reply reaches the customer when the mailer sends it (its SENT write records the first response);
    # an approval alone may still fail to send. Resolving answers the ticket at once.
    sla = RecordingSla()
    object.__setattr__(bot.clients, "sla", sla)

    _click(bot, "ticket_approve", "U0LEAD", value=f"{TID}|0")
    assert "first_response_at" not in _item(bot) and sla.calls == []
    _click(bot, "ticket_resolve", "U0ADA", value=TID)

    item = _item(bot)
    assert item["first_response_at"] and item["first_response_by"] == "U0ADA"
    # and (issue 32) the timer function is told the ticket ended, so the customer is asked for a rating
    assert sla.calls == [("first_response", TID, "U0ADA"), ("resolved", TID)]


def test_a_priority_change_tells_the_timers_to_rearm(bot):  # noqa: F811
    sla = RecordingSla()
    object.__setattr__(bot.clients, "sla", sla)
    payload = block_action_payload(
        action_id="ticket_priority",
        selected=f"{TID}|HIGH",
        user_id="U0LEAD",
        channel_id=TICKET_CHANNEL,
        message_ts=POST_TS,
    )
    assert bot.interact(payload).status == 200
    assert sla.calls == [("reprioritised", TID, "HIGH")]
