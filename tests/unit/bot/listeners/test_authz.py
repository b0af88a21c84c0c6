"""Issue 27.1: only the right people speak for the company.

One middleware checks every request against the permission table (fail closed); approvers alone send to
customers, never the draft's last editor (four eyes), and only the draft version that was on screen; the
bot serves one installation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from bot import blocks
from bot.listeners.authz import REQUIRED
from bot.logic.roles import Role, RoleGrants, Roles
from contract import names
from tests.fakes.bot_harness import (
    DEFAULT_ROLES,
    TICKET_CHANNEL,
    BotHarness,
    button_value,
)
from tests.fakes.slack_api import (
    block_action_payload,
    email_value,
    select_value,
    text_value,
    view_submission_payload,
)

TID = "TKT-20250102-ABCDEFGHJK"
POST_TS = "1700000000.000100"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)
STRANGER = "U0STRANGER"  # a member of the workspace with no role
AGENT = "U0AGENT"  # an agent, not an approver
ALICE, BOB = "U0ALICE", "U0BOB"  # approvers


@contextmanager
def _bot(
    start_bot: Callable[..., AbstractContextManager[BotHarness]], **harness: Any
) -> Iterator[tuple[BotHarness, Callable[[], list[dict[str, Any]]]]]:
    """A bot over one TRIAGED ticket, and a function listing what was handed to the mailer."""
    ddb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="tickets")["TopicArn"]
    queue = sqs.create_queue(QueueName="mailer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    item = {
        "ticket_id": TID,
        "status": "TRIAGED",
        "priority": "NORMAL",
        "subject": "Login broken",
        "description": "It fails.",
        "customer_full_name": "Ada Lovelace",
        "response_text": "Dear Ada, we are on it.",
        "slack_channel": TICKET_CHANNEL,
        "slack_ts": POST_TS,
        "incident_id": "INC-1",
        "incident_members": ["TKT-OTHER"],
    }
    ddb.put_item(
        TableName="tickets",
        Item={k: {"SS": v} if isinstance(v, list) else {"S": v} for k, v in item.items()},
    )

    def sent() -> list[dict[str, Any]]:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in msgs]

    with start_bot(now=lambda: NOW, sns=sns, topic_arn=topic, **harness) as bot:
        yield bot, sent


@pytest.fixture
def env(start_bot: Any) -> Iterator[tuple[BotHarness, Callable[[], list[dict[str, Any]]]]]:
    with _bot(start_bot) as pair:
        yield pair


@pytest.fixture
def bot_with(start_bot: Any) -> Callable[..., AbstractContextManager[Any]]:
    return lambda **harness: _bot(start_bot, **harness)


def _click(bot: BotHarness, action_id: str, user: str, value: str = TID, **payload: Any) -> int:
    body = block_action_payload(
        action_id=action_id, value=value, user_id=user, channel_id=TICKET_CHANNEL, message_ts=POST_TS
    )
    for key, extra in payload.items():
        body[key] = body[key] | extra if isinstance(body.get(key), dict) else extra
    return bot.interact(body).status


def _edit(bot: BotHarness, user: str, text: str, version: int) -> Any:
    meta = json.dumps({"ticket_id": TID, "version": version, "channel": TICKET_CHANNEL, "ts": POST_TS})
    payload = view_submission_payload(
        callback_id=blocks.EDIT_REPLY_FORM,
        values={blocks.REPLY_FIELD: text_value(text)},
        private_metadata=meta,
        user_id=user,
    )
    return bot.interact(payload)


def _item(bot: BotHarness) -> dict[str, Any]:
    return bot.clients.store.get(TID) or {}


def _refusals(bot: BotHarness, user: str) -> list[str]:
    return [c.params["text"] for c in bot.slack.calls_to("chat.postEphemeral") if c.params["user"] == user]


def _nothing_happened(bot: BotHarness, sent: Callable[[], list[dict[str, Any]]]) -> None:
    item = _item(bot)
    assert item["status"] == "TRIAGED" and "version" not in item and "history" not in item
    for method in ("chat.update", "chat.postMessage", "views.open"):
        assert bot.slack.calls_to(method) == [], method
    assert sent() == []


BUTTONS = sorted(action for kind, action in REQUIRED if kind == "block_actions")


@pytest.mark.parametrize("action_id", BUTTONS)
def test_a_member_without_a_role_is_refused_every_button_and_nothing_happens(env, action_id):
    bot, sent = env

    assert _click(bot, action_id, STRANGER, value=f"{TID}|0") == 200

    (refusal,) = _refusals(bot, STRANGER)
    assert "You're not allowed to" in refusal and "TMS_" in refusal
    _nothing_happened(bot, sent)


@pytest.mark.parametrize("action_id", [blocks.ACTION_APPROVE, blocks.ACTION_RETRY_SEND])
def test_an_agent_who_is_not_an_approver_cannot_send_to_the_customer(env, action_id):
    bot, sent = env

    _click(bot, action_id, AGENT, value=f"{TID}|0")

    (refusal,) = _refusals(bot, AGENT)
    assert "`TMS_APPROVERS`" in refusal
    _nothing_happened(bot, sent)


def test_an_agent_may_work_the_ticket(env):
    bot, _ = env

    _click(bot, blocks.ACTION_RESOLVE, AGENT)

    assert _item(bot)["status"] == "RESOLVED" and _refusals(bot, AGENT) == []


def test_an_action_missing_from_the_table_is_refused_even_to_an_admin(env):
    bot, sent = env

    assert _click(bot, "ticket_erase_everything", "U0LEAD") == 200

    assert "You're not allowed to" in _refusals(bot, "U0LEAD")[0]
    _nothing_happened(bot, sent)


def test_every_button_and_form_the_bot_renders_is_in_the_permission_table():
    ids = {v for k, v in vars(blocks).items() if k.startswith("ACTION_")}
    assert ids <= {action for kind, action in REQUIRED if kind == "block_actions"}
    assert {blocks.TICKET_FORM, blocks.EDIT_REPLY_FORM} <= {
        cb for kind, cb in REQUIRED if kind == "view_submission"
    }


def test_a_non_agent_cannot_edit_the_draft_and_the_modal_says_why(env):
    bot, sent = env

    resp = _edit(bot, STRANGER, "Send me your password", 0)

    body = resp.json()
    assert body["response_action"] == "errors" and "not allowed" in body["errors"][blocks.REPLY_FIELD]
    assert _item(bot)["response_text"] == "Dear Ada, we are on it."
    _nothing_happened(bot, sent)


def test_a_non_agent_cannot_file_a_ticket_for_any_address(env):
    bot, _ = env
    values = {
        "subject": text_value("Invoice"),
        "description": text_value("Pay here"),
        "product": select_value("Amazon EC2"),
        "issue_type": select_value("Instance Connectivity"),
        "customer_name": text_value("Victim Person"),
        "customer_email": email_value("victim@example.com"),
        "customer_company": text_value(""),
    }
    form = view_submission_payload(
        callback_id=blocks.TICKET_FORM, values=values, private_metadata="{}", user_id=STRANGER
    )

    assert bot.interact(form).json()["response_action"] == "errors"
    inline = bot.command("Invoice | pay here", user_id=STRANGER)
    assert "not allowed" in inline.json()["text"]
    assert bot.records() == []


def test_ticket_status_is_shown_only_to_agents(env):
    bot, _ = env

    guest = bot.command(f"status {TID}", user_id="U0GUEST")
    agent = bot.command(f"status {TID}", user_id=AGENT)

    assert guest.status == 200 and "not allowed" in guest.json()["text"] and "Login broken" not in guest.body
    assert guest.json()["response_type"] == "ephemeral"
    assert "Login broken" in agent.json()["text"]


# --- four eyes and the draft on screen ---------------------------------------------------------------------


def test_the_last_editor_of_a_draft_cannot_approve_it(env):
    bot, sent = env
    assert _edit(bot, ALICE, "Dear Ada, fixed.", 0).status == 200

    _click(bot, blocks.ACTION_APPROVE, ALICE, value=f"{TID}|1")

    assert _item(bot)["status"] == "TRIAGED" and sent() == []
    assert "you edited this draft last" in _refusals(bot, ALICE)[0]

    _click(bot, blocks.ACTION_APPROVE, BOB, value=f"{TID}|1")

    item = _item(bot)
    assert item["status"] == "APPROVED" and item["approved_by"] == BOB
    assert [m["approved_by"] for m in sent()] == [BOB]


def test_with_four_eyes_off_the_editor_may_approve_their_own_draft(bot_with):
    with bot_with(four_eyes="off") as (bot, sent):
        _edit(bot, ALICE, "Dear Ada, fixed.", 0)
        _click(bot, blocks.ACTION_APPROVE, ALICE, value=f"{TID}|1")

        assert _item(bot)["approved_by"] == ALICE and len(sent()) == 1


def test_an_approve_of_an_older_draft_is_refused_and_the_post_shows_the_new_one(env):
    bot, sent = env
    _edit(bot, BOB, "Dear Ada, please send us your password.", 0)  # a second before Alice clicks
    bot.slack.reset()

    _click(bot, blocks.ACTION_APPROVE, ALICE, value=f"{TID}|0")

    assert _item(bot)["status"] == "TRIAGED" and sent() == []
    assert "the draft changed" in _refusals(bot, ALICE)[0]
    (update,) = bot.slack.calls_to("chat.update")
    assert button_value(update.params["blocks"], blocks.ACTION_APPROVE) == f"{TID}|1"
    assert "password" in json.dumps(update.params["blocks"])


def test_an_approve_without_a_draft_version_is_refused_as_stale(env):
    bot, sent = env

    _click(bot, blocks.ACTION_APPROVE, ALICE, value=TID)

    assert _item(bot)["status"] == "TRIAGED" and sent() == []
    assert "the draft changed" in _refusals(bot, ALICE)[0]


def test_the_approve_button_carries_the_draft_version(env):
    bot, _ = env
    _edit(bot, BOB, "v1", 0)
    _edit(bot, BOB, "v2", 1)

    update = bot.slack.calls_to("chat.update")[-1]
    assert button_value(update.params["blocks"], blocks.ACTION_APPROVE) == f"{TID}|2"
    assert _item(bot)["draft_version"] == 2 and _item(bot)["draft_edited_by"] == BOB


# --- no approvers -----------------------------------------------------------------------------------------


def test_without_approvers_nothing_is_sent_and_the_post_says_how_to_configure_them(bot_with):
    with bot_with(roles={"agents": f"{AGENT},U0LEAD"}) as (bot, sent):
        _click(bot, blocks.ACTION_APPROVE, "U0LEAD", value=f"{TID}|0")
        assert _item(bot)["status"] == "TRIAGED" and sent() == []
        assert "`TMS_APPROVERS`" in _refusals(bot, "U0LEAD")[0]

        bot.interact(_priority_click(bot, AGENT))  # any re-render of the post

        (update,) = bot.slack.calls_to("chat.update")
        rendered = json.dumps(update.params["blocks"])
        assert "No approvers are configured" in rendered and "TMS_APPROVERS" in rendered
        assert blocks.ACTION_APPROVE not in rendered


def _priority_click(bot: BotHarness, user: str, **payload: Any) -> dict[str, Any]:
    body = block_action_payload(
        action_id=blocks.ACTION_PRIORITY,
        selected=f"{TID}|HIGH",
        user_id=user,
        channel_id=TICKET_CHANNEL,
        message_ts=POST_TS,
    )
    return body | payload


def test_the_notifier_posts_tickets_without_approve_when_no_approvers_are_configured():
    from bot.logic.mrkdwn import escape  # noqa: F401 - the notice is ours, not customer text

    view = blocks.TicketView.from_item({"ticket_id": TID, "status": "TRIAGED"}, approvers_configured=False)
    rendered = json.dumps(blocks.ticket_message(TICKET_CHANNEL, view))
    assert "No approvers are configured" in rendered and blocks.ACTION_APPROVE not in rendered
    with_approvers = json.dumps(
        blocks.ticket_message(
            TICKET_CHANNEL, blocks.TicketView.from_item({"ticket_id": TID, "status": "TRIAGED"})
        )
    )
    assert blocks.ACTION_APPROVE in with_approvers and "No approvers" not in with_approvers


# --- the installation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"api_app_id": "A0OTHERAPP"},
        {"team": {"id": "T0OTHER", "domain": "other"}},
        {"api_app_id": None},
    ],
    ids=["foreign-app", "foreign-team", "no-app"],
)
def test_requests_of_another_app_or_workspace_are_refused(env, override):
    bot, sent = env

    resp = bot.interact(_priority_click(bot, ALICE, **override))

    assert resp.status == 403
    _nothing_happened(bot, sent)
    assert bot.slack.calls_to("chat.postEphemeral") == []


def test_a_foreign_command_is_refused(env):
    bot, _ = env

    assert bot.command(f"status {TID}", team_id="T0OTHER", user_id=AGENT).status == 403


def test_a_slack_connect_agent_of_another_team_is_judged_by_role_not_by_team(env):
    bot, _ = env
    body = _priority_click(bot, ALICE)
    body["user"] = body["user"] | {"team_id": "T0PARTNER"}

    assert bot.interact(body).status == 200
    assert _item(bot)["priority"] == "HIGH"


def test_without_a_configured_installation_requests_are_accepted(bot_with):
    with bot_with(app_id="", team_id="") as (bot, _):
        assert bot.interact(_priority_click(bot, ALICE, api_app_id="A0ANY")).status == 200
        assert _item(bot)["priority"] == "HIGH"


# --- user groups ------------------------------------------------------------------------------------------


def test_members_of_an_approver_user_group_may_approve_and_the_group_is_cached(bot_with):
    roles = DEFAULT_ROLES | {"approvers": "S0LEADS"}
    with bot_with(roles=roles) as (bot, sent):
        bot.slack.usergroups["S0LEADS"] = ["U0CAROL"]

        _click(bot, blocks.ACTION_RESOLVE, "U0NOTLEAD")
        _click(bot, blocks.ACTION_APPROVE, "U0CAROL", value=f"{TID}|0")

        assert _item(bot)["approved_by"] == "U0CAROL" and len(sent()) == 1
        assert len(bot.slack.calls_to("usergroups.users.list")) == 1


def test_on_a_plan_without_user_groups_the_group_grants_nothing(bot_with):
    roles = DEFAULT_ROLES | {"approvers": "S0LEADS"}
    with bot_with(roles=roles) as (bot, sent):
        bot.slack.fail_next(
            "usergroups.users.list", status=200, retry_after=None, error="plan_upgrade_required", times=9
        )

        _click(bot, blocks.ACTION_APPROVE, "U0CAROL", value=f"{TID}|0")

        assert _item(bot)["status"] == "TRIAGED" and sent() == []
        assert "`TMS_APPROVERS`" in _refusals(bot, "U0CAROL")[0]


# --- the model --------------------------------------------------------------------------------------------


def test_approvers_admins_and_oncall_are_agents_and_nobody_else_is_anything():
    grants = RoleGrants.parse(agents="U0A", approvers="U0P", admins="U0D", oncall="S0ONCALL")
    roles = Roles(grants)

    assert [roles.has(u, Role.AGENT) for u in ("U0A", "U0P", "U0D", "U0X", "")] == [True] * 3 + [False] * 2
    assert roles.has("U0P", Role.APPROVER) and not roles.has("U0A", Role.APPROVER)
    assert not roles.has("U0P", Role.ADMIN) and roles.has("U0D", Role.ADMIN)
    assert grants.oncall_group == "S0ONCALL" and roles.approvers_configured
    assert not Roles(RoleGrants()).has("U0A", Role.AGENT)
    assert not Roles(RoleGrants.parse(agents="U0A")).approvers_configured


@pytest.mark.parametrize("bad", ["alice", "U0A,<!channel>", "u0lower", "C0CHANNEL"])
def test_settings_that_are_not_slack_ids_fail_at_cold_start(bad):
    from bot.config import BotSettings
    from bot.errors import BotConfigurationError

    with pytest.raises(BotConfigurationError, match=names.ENV_APPROVERS):
        BotSettings(approvers=bad).role_grants()


def test_issue_31_interactions_have_their_roles_and_customer_messages_need_none() -> None:
    from bot.listeners.authz import OPEN_EVENTS, interaction_key

    watch = interaction_key({"command": "/ticket", "text": "  WATCH Acme Corp"})
    assert watch == ("command", "/ticket watch") and REQUIRED[watch].role is Role.ADMIN
    assert REQUIRED[interaction_key({"command": "/ticket", "text": "unwatch"})].role is Role.ADMIN
    # "/ticket watchdog restarts | ..." is a ticket, not a setting
    assert interaction_key({"command": "/ticket", "text": "watchdog restarts | loop"}) == (
        "command",
        "/ticket",
    )
    reaction = interaction_key({"type": "event_callback", "event": {"type": "reaction_added"}})
    assert REQUIRED[reaction].role is Role.AGENT
    shortcut = interaction_key({"type": "message_action", "callback_id": blocks.CREATE_TICKET_SHORTCUT})
    assert REQUIRED[shortcut].role is Role.AGENT
    # A customer is nobody in the roles model: whether their message is a ticket is the listener's call.
    assert interaction_key({"type": "event_callback", "event": {"type": "message"}})[1] in OPEN_EVENTS
