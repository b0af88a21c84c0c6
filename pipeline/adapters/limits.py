"""The rate limiter on DynamoDB: one counter item per limit, key and window in the tickets table's key space
(`LIMIT#<name>#<key>#<window start>`; the lifecycle feed skips keys that are not ticket ids), counted by a
conditional UpdateItem and expired by the table's TTL attribute."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contract import names
from pipeline.adapters.aws import client, from_item
from pipeline.domain.limits import Decision, Limit

KEY_PREFIX = names.LIMIT_KEY_PREFIX
_CONDITION_FAILED = "ConditionalCheckFailedException"


def counter_key(limit: Limit, key: str, now: datetime) -> str:
    """The item key of `key`'s counter for the window containing `now`."""
    return f"{KEY_PREFIX}{limit.name}#{key.lower()}#{limit.window_start(now)}"


class DynamoRateLimiter:
    """Atomic per-window counters: a hit is allowed when the conditional increment succeeds."""

    def __init__(self, table_name: str, dynamodb: Any = None):
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def hit(self, limit: Limit, key: str, now: datetime, ref: str = "") -> Decision:
        """Count one hit; the first refusal of a window is marked so that it is announced once."""
        item_key = {"ticket_id": {"S": counter_key(limit, key, now)}}
        expires = limit.window_start(now) + int(limit.window.total_seconds()) * 2
        update = "SET #n = if_not_exists(#n, :zero) + :one, #ttl = :ttl"
        values: dict[str, Any] = {
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":max": {"N": str(limit.max_count)},
            ":ttl": {"N": str(expires)},
        }
        attr_names = {"#n": "hits", "#ttl": names.TABLE_TTL_ATTR}
        if ref:
            update += ", #refs = list_append(if_not_exists(#refs, :empty), :ref)"
            values |= {":empty": {"L": []}, ":ref": {"L": [{"S": ref}]}}
            attr_names["#refs"] = "refs"
        try:
            resp = self._ddb.update_item(
                TableName=self._table,
                Key=item_key,
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(#n) OR #n < :max",
                ExpressionAttributeNames=attr_names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            raw: Any = e.response.get("Item")
            old = from_item(raw) if raw else {}
            return Decision(
                False, int(old.get("hits", 0)), self._first_refusal(item_key), tuple(old.get("refs") or ())
            )
        new = from_item(resp["Attributes"])
        return Decision(True, int(new["hits"]), refs=tuple(new.get("refs") or ()))

    def _first_refusal(self, item_key: dict[str, Any]) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=item_key,
                UpdateExpression="SET #a = :true",
                ConditionExpression="attribute_not_exists(#a)",
                ExpressionAttributeNames={"#a": "announced"},
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True


class SnsLimitAlerts:
    """A limit's first hit in a window, on the alarms topic: the notifier posts it in the alerts channel."""

    def __init__(self, topic_arn: str, sns: Any = None):
        self._topic = topic_arn
        self._sns = sns or client("sns")

    def limit_hit(self, subject: str, message: str) -> None:
        """Publish (SNS subjects are ASCII, one line, at most 100 characters)."""
        clean = re.sub(r"[^\x20-\x7e]", "?", subject)[:100]
        self._sns.publish(TopicArn=self._topic, Subject=clean, Message=message)
