"""DynamoDB adapter for the tickets table: reads, conditional agent actions, post claims, thread coordinates.

Alarm threads live in the same table under keys `ALARM#<name>` (ticket ids always start with `TKT-`).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.slack import Posted
from bot.errors import TicketConflictError, TicketStoreError
from bot.logic.actions import DRAFT_EDITED_BY, DRAFT_VERSION, TicketChange
from bot.observability import logger
from contract import names
from contract.clients import dynamodb_deserializer, dynamodb_serializer

KEY = "ticket_id"
ASSIGNEE_INDEX = names.ASSIGNEE_INDEX  # partition key: assignee (the Slack user id)
POSTED = "slack_posted"  # string set of event keys already posted to Slack for this item
CLAIM_PREFIX = "slack_claim:"  # one attribute per event key: the token of the attempt that claimed it


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | frozenset):
        items = [_plain(v) for v in value]
        return set(items) if isinstance(value, set | frozenset) else items
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python values (numbers as int/float)."""
    de = dynamodb_deserializer()
    return {k: _plain(de.deserialize(v)) for k, v in item.items()}


def _used(placeholder: str, *expressions: str) -> bool:
    pattern = re.compile(re.escape(placeholder) + r"(?![A-Za-z0-9_])")
    return any(pattern.search(e) for e in expressions)


def _av(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        value = Decimal(str(value))
    return dict(dynamodb_serializer().serialize(value))


class DynamoTicketStore:
    """The tickets table behind the TicketStore port."""

    def __init__(self, table_name: str, client: Any):
        self._table = table_name
        self._client = client

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item, or None (strongly consistent: agents act on what they just saw)."""
        try:
            resp = self._client.get_item(
                TableName=self._table, Key={KEY: {"S": ticket_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not read {ticket_id}") from e
        item = resp.get("Item")
        return from_item(item) if item else None

    def apply(self, ticket_id: str, change: TicketChange) -> dict[str, Any]:
        """One conditional UpdateItem: the change, version + 1, and an audit entry (who, what, when)."""
        attr_names = {"#k": KEY, "#status": "status", "#v": "version", "#h": "history"}
        values: dict[str, Any] = {
            ":zero": _av(0),
            ":one": _av(1),
            ":empty": {"L": []},
            ":entry": {"L": [_av(change.history_entry())]},
            ":by": _av(change.actor),
            ":at": _av(change.history_entry()["at"]),
            ":what": _av(str(change.action)),
        }
        sets = [
            "#v = if_not_exists(#v, :zero) + :one",
            "#h = list_append(if_not_exists(#h, :empty), :entry)",
            "updated_by = :by",
            "updated_at = :at",
            "last_action = :what",
        ]
        if not change.counts_version:
            sets = [sets[1]]  # only the history entry: no version, and the last agent action stays
        for i, (name, value) in enumerate(change.set_fields.items()):
            if name == "status":
                sets.append(f"#status = :f{i}")
            else:
                attr_names[f"#f{i}"] = name
                sets.append(f"#f{i} = :f{i}")
            values[f":f{i}"] = _av(value)
        for i, (name, value) in enumerate(change.set_if_absent.items()):
            attr_names[f"#a{i}"] = name
            values[f":a{i}"] = _av(value)
            sets.append(f"#a{i} = if_not_exists(#a{i}, :a{i})")
        # Every operand of one UpdateExpression reads the item as it was before the update, so the copy takes
        # the old value even when set_fields replaces the source in the same write.
        for i, (name, source) in enumerate(change.copy_if_absent.items()):
            attr_names[f"#c{i}"] = name
            attr_names[f"#cs{i}"] = source
            sets.append(f"#c{i} = if_not_exists(#c{i}, #cs{i})")
        allowed = sorted(str(s) for s in change.allowed_from)
        for i, status in enumerate(allowed):
            values[f":s{i}"] = _av(status)
        condition = (
            f"attribute_exists(#k) AND #status IN ({', '.join(f':s{i}' for i in range(len(allowed)))})"
        )
        if change.unowned_or_mine:
            attr_names["#owner"] = "assignee"
            values[":actor"] = _av(change.actor)
            condition += " AND (attribute_not_exists(#owner) OR #owner = :actor)"
        for i, name in enumerate(change.increments):
            attr_names[f"#n{i}"] = name
            sets.append(f"#n{i} = if_not_exists(#n{i}, :zero) + :one")
        if change.expected_draft_version is not None:
            attr_names["#dv"] = DRAFT_VERSION
            if change.expected_draft_version == 0:
                condition += " AND attribute_not_exists(#dv)"
            else:
                values[":dv"] = _av(change.expected_draft_version)
                condition += " AND #dv = :dv"
        if change.not_last_editor:
            attr_names["#editor"] = DRAFT_EDITED_BY
            values[":approver"] = _av(change.actor)
            condition += " AND (attribute_not_exists(#editor) OR #editor <> :approver)"
        if change.expected_version is not None:
            if change.expected_version == 0:
                condition += " AND attribute_not_exists(#v)"
            else:
                values[":seen"] = _av(change.expected_version)
                condition += " AND #v = :seen"
        expression = "SET " + ", ".join(sets)
        # DynamoDB refuses names and values the expressions do not use (an uncounted change uses fewer).
        attr_names = {k: v for k, v in attr_names.items() if _used(k, expression, condition)}
        values = {k: v for k, v in values.items() if _used(k, expression, condition)}
        try:
            resp = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": ticket_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=attr_names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old: Any = e.response.get("Item")
                raise TicketConflictError(ticket_id, from_item(old) if old else self.get(ticket_id)) from e
            raise TicketStoreError(f"could not update {ticket_id}") from e
        except BotoCoreError as e:
            raise TicketStoreError(f"could not update {ticket_id}") from e
        return from_item(resp["Attributes"])

    def claim_post(self, key: str, event_key: str) -> bool:
        """Claim the right to post `event_key` for this item, once.

        The claim carries a token unique to this attempt, and the condition admits "not claimed yet, or
        claimed by this very attempt": when a claim write lands but its response times out, botocore's
        retry re-sends the same token and succeeds, so the post is not lost; a second delivery of the
        same SNS message has another token and is refused, so nothing is posted twice.
        """
        token = uuid.uuid4().hex
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression="SET #c = :t ADD #p :k",
                ConditionExpression="attribute_not_exists(#c) OR #c = :t",
                ExpressionAttributeNames={"#p": POSTED, "#c": f"{CLAIM_PREFIX}{event_key}"},
                ExpressionAttributeValues={":k": {"SS": [event_key]}, ":t": {"S": token}},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            self._undo_claim(key, event_key, token)
            raise TicketStoreError(f"could not claim {event_key} for {key}") from e
        except BotoCoreError as e:
            # Every SDK attempt timed out, but one of them may have landed: left in place, that claim would
            # make the redelivery believe the post was made and post nothing.
            self._undo_claim(key, event_key, token)
            raise TicketStoreError(f"could not claim {event_key} for {key}") from e
        return True

    def _undo_claim(self, key: str, event_key: str, token: str) -> None:
        """Remove this attempt's claim if it landed (only ours: the token must match); best effort."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression="REMOVE #c DELETE #p :k",
                ConditionExpression="#c = :t",
                ExpressionAttributeNames={"#p": POSTED, "#c": f"{CLAIM_PREFIX}{event_key}"},
                ExpressionAttributeValues={":k": {"SS": [event_key]}, ":t": {"S": token}},
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not undo a post claim", extra={"key": key, "event_key": event_key})

    def release_post(self, key: str, event_key: str) -> None:
        """Drop a claim whose post failed, so a redelivery can post."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression="REMOVE #c DELETE #p :k",
                ExpressionAttributeNames={"#p": POSTED, "#c": f"{CLAIM_PREFIX}{event_key}"},
                ExpressionAttributeValues={":k": {"SS": [event_key]}},
            )
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not release {event_key} for {key}") from e

    def owned_by(self, user_id: str) -> list[dict[str, Any]]:
        """Open tickets whose assignee is `user_id` (the by-assignee index), soonest due first."""
        try:
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                IndexName=ASSIGNEE_INDEX,
                KeyConditionExpression="assignee = :u",
                FilterExpression="#status IN (:t, :a)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":u": {"S": user_id},
                    ":t": {"S": "TRIAGED"},
                    ":a": {"S": "APPROVED"},
                },
            )
            items = [from_item(i) for page in pages for i in page.get("Items", [])]
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not list the tickets of {user_id}") from e
        return sorted(items, key=lambda i: (str(i.get("sla_due_at") or "~"), str(i.get("ticket_id"))))

    def set_fields(self, key: str, fields: dict[str, Any]) -> None:
        """SET plain attributes."""
        attr_names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":f{i}": _av(value) for i, value in enumerate(fields.values())}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
                ExpressionAttributeNames=attr_names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not update {key}") from e

    def record_post(self, key: str, posted: Posted, fields: dict[str, Any]) -> None:
        """ADD the message to the item's Slack posts (a string set: concurrent posts of one ticket each add
        theirs, no read-modify-write) and SET `fields` (the root post's coordinates), in one UpdateItem."""
        attr_names = {"#posts": names.SLACK_POSTS_ATTR} | {f"#f{i}": name for i, name in enumerate(fields)}
        values = {":post": {"SS": [posted.ref]}} | {f":f{i}": _av(v) for i, v in enumerate(fields.values())}
        sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression=(f"SET {sets} " if sets else "") + "ADD #posts :post",
                ExpressionAttributeNames=attr_names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not record a Slack post of {key}") from e

    def split_incident_member(self, member_id: str, actor: str) -> tuple[str, dict[str, Any]]:
        """ "Not the same issue": take a member out of its incident; return (root id, the member's new item).

        The root's member set loses it (a conditional DELETE, so two clicks split once); the root's
        companies and priorities are recomputed from the members left; with only the root left, the
        incident dissolves.
        """
        member = self.get(member_id)
        if not member or not member.get("incident_id") or not member.get("incident_root"):
            raise TicketStoreError(f"{member_id} is not a later report of an incident")
        root_id, incident_id = str(member["incident_root"]), str(member["incident_id"])
        try:
            resp = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": root_id}},
                UpdateExpression="DELETE #m :me",
                ConditionExpression="contains(#m, :id)",
                ExpressionAttributeNames={"#m": "incident_members"},
                ExpressionAttributeValues={":me": {"SS": [member_id]}, ":id": {"S": member_id}},
                ReturnValues="ALL_NEW",
            )
            left = sorted(from_item(resp["Attributes"]).get("incident_members") or ())
            if left and left != [root_id]:
                keys = [{KEY: {"S": t}} for t in left]
                got = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ProjectionExpression": "company, priority"}}
                )
                rows = [from_item(i) for i in got.get("Responses", {}).get(self._table, [])]
                companies = sorted({str(r["company"]) for r in rows if str(r.get("company") or "").strip()})
                priorities = sorted({str(r["priority"]) for r in rows if r.get("priority")})
                sets, values = [], {}
                for attr, vals in (("incident_companies", companies), ("incident_priorities", priorities)):
                    if vals:
                        sets.append(f"{attr} = :{attr}")
                        values[f":{attr}"] = {"SS": vals}
                if sets:
                    self._client.update_item(
                        TableName=self._table,
                        Key={KEY: {"S": root_id}},
                        UpdateExpression="SET " + ", ".join(sets),
                        ExpressionAttributeValues=values,
                    )
            else:  # only the root is left: no incident any more
                self._client.update_item(
                    TableName=self._table,
                    Key={KEY: {"S": root_id}},
                    UpdateExpression=(
                        "REMOVE incident_id, incident_members, incident_companies, incident_priorities, "
                        "incident_position"
                    ),
                )
            new = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": member_id}},
                UpdateExpression=(
                    "REMOVE incident_id, incident_root, incident_position, incident_report "
                    "SET incident_split_from = :iid, incident_split_by = :by"
                ),
                ExpressionAttributeValues={":iid": {"S": incident_id}, ":by": {"S": actor}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise TicketStoreError(f"{member_id} was already split out of {incident_id}") from e
            raise TicketStoreError(f"could not split {member_id} out of {incident_id}") from e
        except BotoCoreError as e:
            raise TicketStoreError(f"could not split {member_id} out of {incident_id}") from e
        return root_id, from_item(new["Attributes"])
