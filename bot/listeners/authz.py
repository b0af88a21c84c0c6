"""One global middleware decides who may do what, before any listener runs (issue 27.1).

Every action, view submission, command and shortcut is looked up in `REQUIRED`; anything not in the table
is refused (fail closed), so a new button does nothing until someone decides who may press it. Before the
roles, the installation is pinned: a request of another app (api_app_id) or of another workspace or
org than the one installed (Bolt's installation team/enterprise id, not the clicking user's team: Slack
Connect customers belong to other teams) is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.logic.roles import SETTING_OF, Role, Roles
from bot.observability import logger

COMMAND = "/ticket"


@dataclass(frozen=True)
class Permission:
    """The role an interaction needs, and what it does in words (for the refusal)."""

    role: Role
    what: str


# (payload kind, action_id / callback_id / command) -> what it needs. Not listed: refused.
REQUIRED: dict[tuple[str, str], Permission] = {
    ("command", COMMAND): Permission(Role.AGENT, "use /ticket"),
    ("block_actions", blocks.ACTION_APPROVE): Permission(Role.APPROVER, "approve replies to customers"),
    ("block_actions", blocks.ACTION_RETRY_SEND): Permission(Role.APPROVER, "send replies to customers"),
    ("block_actions", blocks.ACTION_EDIT): Permission(Role.AGENT, "edit replies"),
    ("block_actions", blocks.ACTION_PRIORITY): Permission(Role.AGENT, "change priorities"),
    ("block_actions", blocks.ACTION_RESOLVE): Permission(Role.AGENT, "resolve tickets"),
    ("block_actions", blocks.ACTION_DESCRIPTION): Permission(Role.AGENT, "read ticket descriptions"),
    ("block_actions", blocks.ACTION_TAKE): Permission(Role.AGENT, "take tickets"),
    ("block_actions", blocks.ACTION_REASSIGN): Permission(Role.AGENT, "assign tickets"),
    ("block_actions", blocks.ACTION_SPLIT_INCIDENT): Permission(Role.AGENT, "split incidents"),
    ("block_actions", blocks.ACTION_REMOVE_SOURCE): Permission(Role.AGENT, "remove draft sources"),
    ("block_actions", blocks.ACTION_RESOLVE_INCIDENT): Permission(Role.AGENT, "resolve incidents"),
    ("view_submission", blocks.TICKET_FORM): Permission(Role.AGENT, "create tickets"),
    ("view_submission", blocks.EDIT_REPLY_FORM): Permission(Role.AGENT, "edit replies"),
    # Issue 31: a 🎫 opens a ticket only when an agent adds it (anyone else's reactions do nothing), the
    # "Create ticket" message shortcut is /ticket's form, and watching a channel is a channel setting.
    ("event", "reaction_added"): Permission(Role.AGENT, "open tickets with :ticket:"),
    ("message_action", blocks.CREATE_TICKET_SHORTCUT): Permission(Role.AGENT, "create tickets"),
    ("command", f"{COMMAND} watch"): Permission(Role.ADMIN, "watch customer channels"),
    ("command", f"{COMMAND} unwatch"): Permission(Role.ADMIN, "stop watching customer channels"),
}
# Events anyone may cause: whether a message is a customer's request, a customer's answer or an agent's
# public answer is the listener's decision (bot.logic.conversations), not a permission.
OPEN_EVENTS = frozenset({"message"})
UNKNOWN = Permission(Role.ADMIN, "do that")  # the refusal of anything not in the table


def interaction_key(body: dict[str, Any]) -> tuple[str, str]:
    """What the request asks for, as a key of REQUIRED ("", "") when it cannot be told."""
    if body.get("command"):
        word = str(body.get("text") or "").strip().split(" ", 1)[0].lower()
        if word in ("watch", "unwatch"):
            return "command", f"{body['command']} {word}"
        return "command", str(body["command"])
    kind = str(body.get("type") or "")
    if kind in ("block_actions", "block_suggestion"):
        acts = body.get("actions") or [{}]
        ids = {str(a.get("action_id", "")) for a in acts if isinstance(a, dict)} or {""}
        # Slack sends one action per request; several different ones are not something we answer.
        return kind, ids.pop() if len(ids) == 1 else ""
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id", ""))
    if kind in ("shortcut", "message_action"):
        return kind, str(body.get("callback_id", ""))
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", ""))
    return kind, ""


def user_of(body: dict[str, Any]) -> str:
    """The Slack user who clicked, submitted or typed the command ("" when none)."""
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id") or "")
    if isinstance(user, str):
        return user
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):
        return str(event["user"])
    return str(body.get("user_id") or "")


class InstallationPin:
    """Our app id and the installed workspace or org; unset values accept anything (warned once)."""

    def __init__(self, app_id: str, team_id: str) -> None:
        self._app_id = app_id
        self._team_id = team_id
        self._warned = False

    def refuses(self, body: dict[str, Any], context: dict[str, Any]) -> str:
        """Why this request is not for our installation ("" when it is)."""
        if not (self._app_id and self._team_id) and not self._warned:
            self._warned = True
            logger.warning(
                "installation not pinned: set TMS_SLACK_APP_ID and TMS_SLACK_TEAM_ID to refuse other apps "
                "and workspaces"
            )
        app_id = str(body.get("api_app_id") or "")
        if self._app_id and app_id != self._app_id:
            return f"api_app_id {app_id or '(none)'}"
        if self._team_id:
            # An org-wide install is pinned by its enterprise id, a workspace install by its team id.
            installed = (
                context.get("enterprise_id") if self._team_id.startswith("E") else context.get("team_id")
            )
            if installed != self._team_id:
                return f"installation {installed or '(none)'}"
        return ""


def register(app: App, roles: Roles, pin: InstallationPin) -> None:
    """Register the middleware deciding every request (before the listeners)."""

    @app.middleware
    def authorize_request(
        body: dict[str, Any], context: dict[str, Any], client: WebClient, next: Callable[[], Any]
    ) -> Any:
        key = interaction_key(body)
        foreign = pin.refuses(body, context)
        if foreign:
            logger.warning("request of another installation refused", extra={"why": foreign, "kind": key[0]})
            return BoltResponse(status=403, body="")
        if key[0] in ("url_verification", "ssl_check"):
            return next()  # Bolt answers these itself, before this middleware; no listener sees them
        if key[0] == "event" and key[1] in OPEN_EVENTS:
            return next()
        permission = REQUIRED.get(key)
        user = user_of(body)
        if permission is not None and roles.has(user, permission.role):
            return next()
        permission = permission or UNKNOWN
        logger.info(
            "refused", extra={"slack_user": user, "kind": key[0], "id": key[1], "role": str(permission.role)}
        )
        return _refuse(body, key, client, user, permission)


def _refuse(
    body: dict[str, Any], key: tuple[str, str], client: WebClient, user: str, permission: Permission
) -> BoltResponse:
    message = blocks.refusal(permission.what, SETTING_OF[permission.role])
    kind = key[0]
    if kind == "command":
        return _json(200, {"response_type": "ephemeral", **message})
    if kind == "view_submission":
        fields = list(((body.get("view") or {}).get("state") or {}).get("values") or {})
        if fields:  # keep the modal open and say why on its fields
            return _json(200, {"response_action": "errors", "errors": dict.fromkeys(fields, message["text"])})
        return BoltResponse(status=200, body="")
    if kind in ("block_actions", "shortcut", "message_action") and user:
        channel = ((body.get("container") or {}).get("channel_id")) or ((body.get("channel") or {}).get("id"))
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, **message)
            except SlackApiError:
                logger.exception("refusal not posted", extra={"slack_user": user})
    return BoltResponse(status=200, body="")  # the ack: Slack shows nothing else, nothing happened


def _json(status: int, payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=status, body=json.dumps(payload), headers={"content-type": "application/json;charset=utf-8"}
    )
