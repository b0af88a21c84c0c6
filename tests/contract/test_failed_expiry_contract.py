"""The workflow's failure path stamps the FAILED item's expiry once: the ASL's ExpireFailed update, run on
moto's DynamoDB, sets the TTL attribute when the item has none and keeps a stamp it already has (the
archive's, or its own from a retried attempt)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from contract import names

TABLE = "tms-tickets-test"
TICKET = "TKT-20260101-AAAAAAAAAA"


def _states() -> dict[str, Any]:
    return dict(json.loads(names.ASL_PATH.read_text())["States"])


def _resolve(value: Any, state: dict[str, Any]) -> Any:
    """The Parameters of a task for `state`: the JSONPath references and States.JsonToString this state
    uses, evaluated as Step Functions does."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if key.endswith(".$"):
                out[key[:-2]] = _path(inner, state)
            else:
                out[key] = _resolve(inner, state)
        return out
    return value.replace("${TicketsTable}", TABLE) if isinstance(value, str) else value


def _path(expression: str, state: dict[str, Any]) -> Any:
    call = re.fullmatch(r"States\.JsonToString\((\$[.\w]+)\)", expression)
    if call:
        return json.dumps(_path(call.group(1), state))
    node: Any = state
    for part in expression.removeprefix("$.").split("."):
        node = node[part]
    return node


def _expire(ddb: Any, state: dict[str, Any]) -> None:
    params = _resolve(_states()["ExpireFailed"]["Parameters"], state)
    ddb.update_item(**params)


@pytest.fixture
def ddb(offline_aws: None) -> Any:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _expiry(ddb: Any) -> str | None:
    got = ddb.get_item(TableName=TABLE, Key={"ticket_id": {"S": TICKET}})["Item"].get(names.TABLE_TTL_ATTR)
    return None if got is None else str(got["N"])


def test_a_failed_item_without_an_expiry_gets_the_inputs_and_a_repeat_changes_nothing(ddb: Any) -> None:
    ddb.put_item(TableName=TABLE, Item={"ticket_id": {"S": TICKET}, "status": {"S": "FAILED"}})
    state = {"ticket": {"ticketId": TICKET}, "expires_at": 1_830_000_000}

    _expire(ddb, state)
    _expire(ddb, {**state, "expires_at": 1_830_000_999})  # a retried attempt with another value

    assert _expiry(ddb) == "1830000000"


def test_a_failed_item_the_archive_already_stamped_keeps_that_stamp(ddb: Any) -> None:
    ddb.put_item(
        TableName=TABLE,
        Item={
            "ticket_id": {"S": TICKET},
            "status": {"S": "FAILED"},
            names.TABLE_TTL_ATTR: {"N": "1829999000"},
        },
    )

    _expire(ddb, {"ticket": {"ticketId": TICKET}, "expires_at": 1_830_000_000})

    assert _expiry(ddb) == "1829999000"


def test_only_an_input_that_carries_the_expiry_goes_through_the_stamp() -> None:
    states = _states()
    assert states["MarkFailed"]["Next"] == "HasExpiry"
    choice = states["HasExpiry"]
    assert choice["Choices"] == [{"Variable": "$.expires_at", "IsPresent": True, "Next": "ExpireFailed"}]
    assert choice["Default"] == states["ExpireFailed"]["Next"] == "BuildFailure"
    assert [c["Next"] for c in states["ExpireFailed"]["Catch"]] == ["BuildFailure"]
