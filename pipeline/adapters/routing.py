"""Routing adapters: agents' load items and tickets' owners in the tickets table (conditional UpdateItem
only), and the tickets topic for reassignment messages. The same calls run on AWS and on the local endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract import names
from contract.errors import RoutingError
from contract.models import format_utc
from contract.models.routing import TicketReassignedMessage
from pipeline.adapters.aws import client, from_item
from pipeline.domain.routing import OPEN, ROUTER, AgentLoad, load_key

_CONDITION_FAILED = "ConditionalCheckFailedException"
_KEY = "ticket_id"
_NOT_IN_SET = "(attribute_not_exists(open_tickets) OR NOT contains(open_tickets, :tid))"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoRoutingStore:
    """Load items (`routing#<user>`: open_tickets string set, open_count, last_assigned_at, away) and the
    ticket items' owner, in one table."""

    def __init__(self, table_name: str, dynamodb: Any = None):
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def _update(self, key: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            resp = self._ddb.update_item(
                TableName=self._table, Key={_KEY: _s(key)}, ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == _CONDITION_FAILED:
                return None
            raise RoutingError(f"could not update {key}: {e.response['Error']['Code']}") from e
        except BotoCoreError as e:
            raise RoutingError(f"could not update {key}: {e}") from e
        return from_item(resp["Attributes"])

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item as plain values."""
        try:
            raw = self._ddb.get_item(TableName=self._table, Key={_KEY: _s(ticket_id)}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as e:
            raise RoutingError(f"could not read {ticket_id}") from e
        item = raw.get("Item")
        return None if item is None else from_item(item)

    def loads(self, user_ids: Sequence[str]) -> list[AgentLoad]:
        """Consistent reads, one per agent (an on-call rota is a handful of people)."""
        out = []
        for user in user_ids:
            item = self.get(load_key(user))
            if item is None:
                out.append(AgentLoad(user_id=user))
                continue
            out.append(
                AgentLoad(
                    user_id=user,
                    open_count=int(item.get("open_count") or 0),
                    last_assigned_at=str(item.get("last_assigned_at") or ""),
                    away=bool(item.get("away")),
                    exists=True,
                    tickets=frozenset(item.get("open_tickets") or ()),
                )
            )
        return out

    def reserve(self, load: AgentLoad, ticket_id: str, now: datetime) -> bool:
        """+1 on the agent's load if it is still what the router read (the count) and they are not away."""
        values = {
            ":next": _n(load.open_count + 1),
            ":now": _s(format_utc(now)),
            ":u": _s(load.user_id),
            ":ids": {"SS": [ticket_id]},
        }
        if load.exists:
            # An item the bot created (`/ticket away`, then back) may have no count yet: that is zero.
            counted = (
                "(open_count = :seen OR attribute_not_exists(open_count))"
                if load.open_count == 0
                else "open_count = :seen"
            )
            condition = f"{counted} AND (attribute_not_exists(away) OR away = :no) AND {_NOT_IN_SET}"
            values |= {":seen": _n(load.open_count), ":no": {"BOOL": False}, ":tid": _s(ticket_id)}
        else:
            condition = "attribute_not_exists(ticket_id)"
        return (
            self._update(
                load_key(load.user_id),
                UpdateExpression="SET open_count = :next, last_assigned_at = :now, user_id = :u ADD open_tickets :ids",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
            is not None
        )

    def count(self, user_id: str, ticket_id: str) -> bool:
        """+1 unless the ticket is already on the agent's load."""
        return (
            self._update(
                load_key(user_id),
                UpdateExpression=(
                    "SET open_count = if_not_exists(open_count, :zero) + :one, user_id = :u ADD open_tickets :ids"
                ),
                ConditionExpression=_NOT_IN_SET,
                ExpressionAttributeValues={
                    ":zero": _n(0),
                    ":one": _n(1),
                    ":u": _s(user_id),
                    ":ids": {"SS": [ticket_id]},
                    ":tid": _s(ticket_id),
                },
            )
            is not None
        )

    def release(self, user_id: str, ticket_id: str) -> bool:
        """-1 if the ticket is on the agent's load."""
        return (
            self._update(
                load_key(user_id),
                UpdateExpression="SET open_count = open_count - :one DELETE open_tickets :ids",
                ConditionExpression="contains(open_tickets, :tid)",
                ExpressionAttributeValues={":one": _n(1), ":ids": {"SS": [ticket_id]}, ":tid": _s(ticket_id)},
            )
            is not None
        )

    def set_away(self, user_id: str, away: bool, now: datetime) -> None:
        """The away flag (a new load item starts empty)."""
        self._update(
            load_key(user_id),
            UpdateExpression=(
                "SET away = :away, away_changed_at = :now, user_id = :u, "
                "open_count = if_not_exists(open_count, :zero)"
            ),
            ExpressionAttributeValues={
                ":away": {"BOOL": away},
                ":now": _s(format_utc(now)),
                ":u": _s(user_id),
                ":zero": _n(0),
            },
        )

    def assign(
        self, ticket_id: str, user_id: str, now: datetime, *, previous: str = ""
    ) -> dict[str, Any] | None:
        """The owner, with an audit entry like a manual Take it / Reassign, in one conditional write."""
        at = format_utc(now)
        entry: dict[str, Any] = {"action": {"S": "reassign" if previous else "assign"}, "actor": _s(ROUTER)}
        entry |= {"at": _s(at), "assignee": _s(user_id)}
        values: dict[str, Any] = {
            ":u": _s(user_id),
            ":at": _s(at),
            ":router": _s(ROUTER),
            ":zero": _n(0),
            ":one": _n(1),
            ":empty": {"L": []},
            ":what": _s("reassign" if previous else "assign"),
        }
        sets = [
            "assignee = :u",
            "assigned_at = :at",
            "assigned_by = :router",
            "#v = if_not_exists(#v, :zero) + :one",
            "#h = list_append(if_not_exists(#h, :empty), :entry)",
            "updated_by = :router",
            "updated_at = :at",
            "last_action = :what",
        ]
        open_values = {f":o{i}": _s(str(s)) for i, s in enumerate(sorted(OPEN))}
        values |= open_values
        condition = f"attribute_exists(ticket_id) AND #status IN ({', '.join(open_values)})"
        if previous:
            entry |= {"from": _s(previous), "reason": _s("no_first_response")}
            sets += ["reassigned_at = :at", "reassigned_from = :prev"]
            values[":prev"] = _s(previous)
            condition += (
                " AND assignee = :prev AND attribute_not_exists(first_response_at)"
                " AND attribute_not_exists(reassigned_at)"
            )
        else:
            condition += " AND attribute_not_exists(assignee)"
        values[":entry"] = {"L": [{"M": entry}]}
        return self._update(
            ticket_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#v": "version", "#h": "history", "#status": "status"},
            ExpressionAttributeValues=values,
        )

    def mark_announced(self, ticket_id: str) -> None:
        """The thread was told."""
        self._update(
            ticket_id,
            UpdateExpression="SET reassign_announced = :yes",
            ConditionExpression="attribute_exists(ticket_id)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )


class SnsReassignPublisher:
    """Reassignments on the tickets topic (the Slack notifier posts them in the ticket's thread)."""

    def __init__(self, *, topic_arn: str, sns: Any = None):
        self._topic = topic_arn
        self._sns = sns or client("sns")

    def publish(self, message: TicketReassignedMessage) -> None:
        """Publish; errors propagate (the timer's invocation is retried; the move is announced then)."""
        self._sns.publish(
            TopicArn=self._topic,
            Message=message.model_dump_json(),
            MessageAttributes={
                names.ATTR_EVENT_TYPE: {"DataType": "String", "StringValue": message.event_type},
                names.ATTR_TICKET_ID: {"DataType": "String", "StringValue": message.ticket_id},
                names.ATTR_PRIORITY: {"DataType": "String", "StringValue": message.priority.value},
            },
        )
