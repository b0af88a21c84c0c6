"""The local endpoint parses each UpdateExpression once and copies it faster; what an update does is moto's."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from local.moto import patching, speed
from tests.fakes.dynamo import create_ticket_table

# (update expression, names, values, condition): every clause kind, nested paths, functions, and failures.
UPDATES = [
    ("SET #s = :s, #n = :n", {"#s": "status", "#n": "count"}, {":s": {"S": "OPEN"}, ":n": {"N": "1"}}, None),
    ("SET #n = #n + :one", {"#n": "count"}, {":one": {"N": "1"}}, None),
    (
        "SET #h = list_append(if_not_exists(#h, :empty), :ev)",
        {"#h": "history"},
        {":empty": {"L": []}, ":ev": {"L": [{"M": {"at": {"S": "t1"}, "by": {"S": "U1"}}}]}},
        None,
    ),
    (
        "SET #h = list_append(if_not_exists(#h, :empty), :ev)",
        {"#h": "history"},
        {":empty": {"L": []}, ":ev": {"L": [{"M": {"at": {"S": "t2"}}}]}},
        None,
    ),
    ("SET #u.#t = :t", {"#u": "usage", "#t": "tokens"}, {":t": {"N": "7"}}, None),  # no map yet: fails
    ("SET #u = :m", {"#u": "usage"}, {":m": {"M": {"tokens": {"N": "1"}}}}, None),
    ("SET #u.#t = :t", {"#u": "usage", "#t": "tokens"}, {":t": {"N": "7"}}, None),
    (
        "ADD #tags :t, #c :one",
        {"#tags": "tags", "#c": "count"},
        {":t": {"SS": ["a", "b"]}, ":one": {"N": "5"}},
        None,
    ),
    ("DELETE #tags :t", {"#tags": "tags"}, {":t": {"SS": ["a"]}}, None),
    ("REMOVE #h[0], #u.#t", {"#h": "history", "#u": "usage", "#t": "tokens"}, {}, None),
    ("SET #s = :s", {"#s": "status"}, {":s": {"S": "CLOSED"}, ":open": {"S": "OPEN"}}, "#s = :open"),
    ("SET #s = :s", {"#s": "status"}, {":s": {"S": "X"}, ":open": {"S": "OPEN"}}, "#s = :open"),  # not OPEN
    ("SET #s = :s,", {"#s": "status"}, {":s": {"S": "X"}}, None),  # syntax error
    ("SET #a = :a", {"#a": "ticket_id"}, {":a": {"S": "other"}}, None),  # the key: refused
    ("SET #s = :missing", {"#s": "status"}, {":s": {"S": "X"}}, None),  # undefined value
]


def _run() -> list[object]:
    """Every update in turn on one item; what each returned (or its error), and the item at the end."""
    out: list[object] = []
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    create_ticket_table(ddb)
    for _ in range(2):  # twice: the second round meets every expression again, parsed before
        for expression, names, values, condition in UPDATES:
            kwargs = {
                "TableName": "tickets",
                "Key": {"ticket_id": {"S": "T-1"}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ReturnValues": "ALL_NEW",
            }
            if values:
                kwargs["ExpressionAttributeValues"] = values
            if condition:
                kwargs["ConditionExpression"] = condition
            try:
                out.append(ddb.update_item(**kwargs)["Attributes"])
            except ClientError as err:
                out.append((err.response["Error"]["Code"], err.response["Error"]["Message"]))
    out.append(ddb.get_item(TableName="tickets", Key={"ticket_id": {"S": "T-1"}})["Item"])
    ddb.delete_table(TableName="tickets")
    return out


@pytest.fixture(scope="module")
def patched():
    # On for this test whatever TMS_LOCAL_SPEED_PATCHES, and as it was after it.
    with patching.applied(speed.CACHE_UPDATE_EXPRESSIONS):
        yield UpdateExpressionParser.make, validators.deepcopy


def test_updates_do_what_moto_does_and_each_expression_is_parsed_once(patched, monkeypatch, offline_aws):
    make, fresh_copy = patched
    make.cache_clear()
    fast = _run()
    assert make.cache_info().hits >= len(UPDATES)  # parsed before: not parsed again
    monkeypatch.setattr(UpdateExpressionParser, "make", classmethod(make.__wrapped__.func))
    monkeypatch.setattr(validators, "deepcopy", fresh_copy.__wrapped__)
    assert _run() == fast
    assert any(isinstance(result, tuple) for result in fast) and isinstance(fast[-1], dict)
