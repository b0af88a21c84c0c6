"""A bare tickets table (hash key `ticket_id`, on demand) for tests that exercise DynamoDB itself."""

from __future__ import annotations

from typing import Any


def create_ticket_table(ddb: Any, name: str = "tickets") -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
