"""The local endpoint narrows a GSI Query to the items its range condition admits; the answers are moto's."""

from __future__ import annotations

import boto3
import pytest
from moto.dynamodb.models.table import Table

from local.moto import patching, speed

INDEX = "embedding-window"


def _table(ddb) -> None:
    ddb.create_table(
        TableName="tickets",
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "day", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["vec"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(120):
        item = {"ticket_id": {"S": f"T-{i:03d}"}, "vec": {"B": bytes([i]) * 64}, "other": {"S": "x" * 50}}
        if i % 10 != 9:  # every tenth ticket has no vector yet: not in the index
            item["day"] = {"S": "2026-12-0" + ("5" if i % 3 == 0 else "6")}
            item["at"] = {"S": f"2026-12-06T10:{i // 60:02d}:{i % 60:02d}.000000+00:00"}
        ddb.put_item(TableName="tickets", Item=item)


QUERIES = [
    ("#d = :d AND #a >= :lo", {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026-12-06T10:01:10"}}, {}),
    ("#d = :d AND #a > :lo", {":d": {"S": "2026-12-05"}, ":lo": {"S": "2026-12-06T10:00:30"}}, {}),
    ("#d = :d AND #a < :lo", {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026-12-06T10:00:20"}}, {}),
    (
        "#d = :d AND #a <= :lo",
        {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026-12-06T10:00:20.000000+00:00"}},
        {},
    ),
    (
        "#d = :d AND #a BETWEEN :lo AND :hi",
        {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026-12-06T10:00:10"}, ":hi": {"S": "2026-12-06T10:01:05"}},
        {},
    ),
    ("#d = :d AND begins_with(#a, :p)", {":d": {"S": "2026-12-05"}, ":p": {"S": "2026-12-06T10:01"}}, {}),
    ("#d = :d AND #a >= :lo", {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026"}}, {"Limit": 7}),
    ("#d = :d AND #a >= :lo", {":d": {"S": "2026-12-06"}, ":lo": {"S": "2026"}}, {"ScanIndexForward": False}),
    ("#d = :d AND #a >= :lo", {":d": {"S": "2026-12-07"}, ":lo": {"S": "2026"}}, {}),  # no such day
    ("#d = :d", {":d": {"S": "2026-12-06"}}, {}),  # no range condition: moto's own path
]


def _answers(ddb) -> list[list[dict]]:
    """Every query, all pages followed (a page's LastEvaluatedKey is the next one's start)."""
    out = []
    for condition, values, extra in QUERIES:
        kwargs = {
            "TableName": "tickets",
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#d": "day", **({"#a": "at"} if "#a" in condition else {})},
            "ExpressionAttributeValues": values,
            **extra,
        }
        pages = []
        while True:
            page = ddb.query(**kwargs)
            pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out.append(pages)
    return out


@pytest.fixture(scope="module")
def narrowed_query():
    with patching.applied(speed.NARROW_INDEX_QUERIES):  # on for these tests whatever TMS_LOCAL_SPEED_PATCHES
        yield Table.query


def test_index_queries_answer_as_moto_does_and_walk_only_what_the_range_admits(
    narrowed_query, offline_aws, monkeypatch
):
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    _table(ddb)
    walked: list[int] = []
    all_items = Table.all_items
    monkeypatch.setattr(Table, "all_items", lambda self: walked.append(len(r := all_items(self))) or r)
    narrowed = _answers(ddb)
    # The first query's range admits tickets 70-119 that have a vector, in both days: 45 of the 120.
    assert walked[0] == sum(1 for i in range(70, 120) if i % 10 != 9) == 45
    monkeypatch.setattr(Table, "query", narrowed_query.__wrapped__)
    assert _answers(ddb) == narrowed
    on_the_6th = sum(1 for i in range(120) if i % 10 != 9 and i % 3 != 0)
    assert sum(page["Count"] for page in narrowed[6]) == on_the_6th == 72  # Limit 7: paged, nothing lost
    assert len(narrowed[6]) == 11
