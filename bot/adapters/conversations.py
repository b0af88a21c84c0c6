"""The Slack-born tickets' own items in the tickets table (bot.logic.conversations.Conversations).

- `SLACKMSG#<channel>#<ts>`: the message a ticket came from. Claimed by one UpdateItem whose
  `if_not_exists` keeps the first claimer's ticket id: a redelivered event (HTTP retry or Socket Mode
  redelivery alike) reads the same id back and opens nothing new. `written` says the event reached the
  stream; an attempt that failed before it leaves the claim unwritten, and the retry writes the same ticket
  (the workflow's ClaimTicket makes a second copy of one id a no-op).
- `SLACKDM#<user>`: the sender's latest DM ticket and when they last wrote.
- `SETTINGS#customer_channels`: the channels `/ticket watch` added, with their company.
Each carries the table's TTL attribute where it should expire with the tickets (retention).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.ticket_store import KEY, from_item
from bot.errors import TicketStoreError
from bot.logic.conversations import Claim, DmThread
from contract import defaults, names
from contract.models import format_utc

RETENTION = timedelta(days=defaults.RETENTION_DAYS["tickets"])


def message_key(channel: str, ts: str) -> str:
    """The item key of one Slack message."""
    return f"{names.SLACK_MESSAGE_KEY_PREFIX}{channel}#{ts}"


class DynamoConversations:
    """The Conversations port on the tickets table."""

    def __init__(self, table_name: str, client: Any):
        self._table = table_name
        self._client = client

    def _update(self, key: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self._client.update_item(TableName=self._table, Key={KEY: {"S": key}}, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not update {key}") from e
        return from_item(resp.get("Attributes") or {})

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            resp = self._client.get_item(TableName=self._table, Key={KEY: {"S": key}}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as e:
            raise TicketStoreError(f"could not read {key}") from e
        item = resp.get("Item")
        return from_item(item) if item else None

    def claim_message(self, channel: str, ts: str, ticket_id: str, at: datetime) -> Claim:
        """One UpdateItem: the first claimer's ticket id and time stay, later ones read them back."""
        new = self._update(
            message_key(channel, ts),
            UpdateExpression=(
                "SET #t = if_not_exists(#t, :t), #at = if_not_exists(#at, :at), #ttl = if_not_exists(#ttl, :ttl)"
            ),
            ExpressionAttributeNames={
                "#t": "claimed_ticket",
                "#at": "claimed_at",
                "#ttl": names.TABLE_TTL_ATTR,
            },
            ExpressionAttributeValues={
                ":t": {"S": ticket_id},
                ":at": {"S": format_utc(at)},
                ":ttl": {"N": str(int((at + RETENTION).timestamp()))},
            },
            ReturnValues="ALL_NEW",
        )
        return Claim(
            ticket_id=str(new["claimed_ticket"]),
            submitted_at=str(new["claimed_at"]),
            fresh=new["claimed_ticket"] == ticket_id,
            written=bool(new.get("written")),
        )

    def mark_written(self, channel: str, ts: str) -> None:
        """The ticket of this message is on the stream."""
        self._update(
            message_key(channel, ts),
            UpdateExpression="SET written = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def ticket_of(self, channel: str, ts: str) -> str | None:
        """The ticket the message at channel/ts opened (its claim), or None."""
        item = self._get(message_key(channel, ts))
        return str(item["claimed_ticket"]) if item and item.get("claimed_ticket") else None

    def dm_thread(self, user: str) -> DmThread | None:
        """The user's latest DM ticket."""
        item = self._get(names.SLACK_DM_KEY_PREFIX + user)
        if not item or not item.get("dm_ticket"):
            return None
        return DmThread(str(item["dm_ticket"]), str(item.get("dm_last_at") or ""))

    def set_dm_thread(self, user: str, ticket_id: str, at: datetime) -> None:
        """Point the user's DMs at `ticket_id` (until the window after `at` passes)."""
        self._update(
            names.SLACK_DM_KEY_PREFIX + user,
            UpdateExpression="SET dm_ticket = :t, dm_last_at = :at, #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": names.TABLE_TTL_ATTR},
            ExpressionAttributeValues={
                ":t": {"S": ticket_id},
                ":at": {"S": format_utc(at)},
                ":ttl": {"N": str(int((at + RETENTION).timestamp()))},
            },
        )

    def hold(self, key: str, message: dict[str, str]) -> None:
        """Append to the item's `held` list (the item exists: it is the claim or the DM pointer)."""
        self._update(
            key,
            UpdateExpression="SET held = list_append(if_not_exists(held, :empty), :m)",
            ExpressionAttributeValues={
                ":empty": {"L": []},
                ":m": {"L": [{"M": {k: {"S": str(v)} for k, v in message.items()}}]},
            },
        )

    def held(self, key: str) -> list[dict[str, str]]:
        """Read and remove the held messages in one UpdateItem (a second reader gets none)."""
        try:
            resp = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                UpdateExpression="REMOVE held",
                ConditionExpression="attribute_exists(held)",  # never creates an item, takes once
                ReturnValues="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return []
            raise TicketStoreError(f"could not read what {key} holds") from e
        except BotoCoreError as e:
            raise TicketStoreError(f"could not read what {key} holds") from e
        old = from_item(resp.get("Attributes") or {})
        return [{str(k): str(v) for k, v in m.items()} for m in old.get("held") or []]

    def watched(self) -> dict[str, str]:
        """The channels `/ticket watch` added (a map attribute: channel id -> company)."""
        item = self._get(names.SLACK_WATCH_KEY) or {}
        return {str(k): str(v) for k, v in (item.get("channels") or {}).items()}

    def watch(self, channel: str, company: str, actor: str) -> None:
        """Add a channel (its company, "" when none) to the watched map."""
        self._update(
            names.SLACK_WATCH_KEY,
            UpdateExpression="SET channels = if_not_exists(channels, :empty), updated_by = :by",
            ExpressionAttributeValues={":empty": {"M": {}}, ":by": {"S": actor}},
        )
        self._update(
            names.SLACK_WATCH_KEY,
            UpdateExpression="SET channels.#c = :company",
            ExpressionAttributeNames={"#c": channel},
            ExpressionAttributeValues={":company": {"S": company}},
        )

    def unwatch(self, channel: str) -> bool:
        """Remove a channel from the watched map; False when it was not in it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": names.SLACK_WATCH_KEY}},
                UpdateExpression="REMOVE channels.#c",
                ConditionExpression="attribute_exists(channels.#c)",
                ExpressionAttributeNames={"#c": channel},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TicketStoreError(f"could not unwatch {channel}") from e
        except BotoCoreError as e:
            raise TicketStoreError(f"could not unwatch {channel}") from e
        return True
