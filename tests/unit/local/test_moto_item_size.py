"""The local endpoint reads a DynamoDB item again when another thread changed it mid-read, so an update
cannot fail a Query that is sizing, copying or serialising the same item, and walks a table again when
another thread added an item mid-walk, so a PutItem cannot fail a Query or Scan (local/moto/emulation.py)."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator

import boto3
import pytest
from moto.dynamodb.models.dynamo_type import DynamoType, Item, bytesize

from local.moto import emulation, patching

ATTRS = {
    "ticket_id": {"S": "TKT-1"},
    "count": {"N": "12"},
    "usage": {"M": {"tokens": {"N": "7"}, "model": {"S": "offline"}}},
    "history": {"L": [{"S": "a"}, {"S": "bc"}]},
    "tags": {"SS": ["x", "yz"]},
    "ok": {"BOOL": False},
}


@pytest.fixture(autouse=True)
def patched() -> None:
    patching.apply(emulation.REREAD_ITEMS)


class _ChangesItsItem(DynamoType):
    """A value that, when read, adds an attribute to its item: what an UpdateItem on another thread does
    while a Query reads the item."""

    def __init__(self, item: Item) -> None:
        super().__init__({"S": "v"})
        self._item = item

    def _change(self) -> None:
        self._item.attrs.setdefault("added_meanwhile", DynamoType({"S": "new"}))

    def size(self) -> int:
        self._change()
        return super().size()

    def __deepcopy__(self, memo: dict[int, object]) -> DynamoType:
        self._change()
        return DynamoType({"S": "v"})

    def to_regular_json(self) -> object:
        self._change()
        return super().to_regular_json()


def _item_changed_when_read() -> Item:
    item = Item(DynamoType(ATTRS["ticket_id"]), None, {"ticket_id": ATTRS["ticket_id"]})
    item.attrs["changes"] = _ChangesItsItem(item)
    return item


def _item_changed_when_serialised() -> Item:
    item = Item(DynamoType(ATTRS["ticket_id"]), None, {"ticket_id": ATTRS["ticket_id"], "nested": {"M": {}}})
    item.attrs["nested"].value = {"inner": _ChangesItsItem(item)}  # serialising reads a map's values
    return item


def test_an_unchanged_item_reads_as_moto_reads_it():
    item = Item(DynamoType(ATTRS["ticket_id"]), None, ATTRS)

    assert item.size() == sum(bytesize(name) + DynamoType(value).size() for name, value in ATTRS.items())
    assert copy.deepcopy(item).to_json() == item.to_json() == {"Attributes": ATTRS}


def test_an_item_changed_while_it_is_sized_is_sized_again_with_the_change():
    item = _item_changed_when_read()

    size = item.size()  # moto's own sum over the live dict raised "dictionary changed size during iteration"

    assert "added_meanwhile" in item.attrs
    assert size == sum(bytesize(k) + v.size() for k, v in list(item.attrs.items()))


def test_an_item_changed_while_it_is_copied_or_serialised_is_read_again():
    copied = copy.deepcopy(_item_changed_when_read())
    serialised = _item_changed_when_serialised().to_json()

    assert set(copied.attrs) == {"ticket_id", "changes", "added_meanwhile"}
    assert set(serialised["Attributes"]) == {"ticket_id", "nested", "added_meanwhile"}


def test_an_item_changed_while_a_projection_reads_it_is_read_again():
    # GetItem / BatchGetItem with a ProjectionExpression cut the item's plain form (Item.project ->
    # to_regular_json): an UpdateItem adding an attribute meanwhile failed the read (seen in `make demo`)
    projected = _item_changed_when_serialised().project([["ticket_id"], ["added_meanwhile"]])

    assert projected.to_json()["Attributes"] == {"ticket_id": {"S": "TKT-1"}, "added_meanwhile": {"S": "new"}}


class _ItemAddedMidWalk(defaultdict):
    """A table's items where, on the first walk only, another item is put after the first one is read: what a
    PutItem on another thread does to a Scan or an index Query walking the same table."""

    def __init__(self, existing: dict, added: tuple[str, Item]) -> None:
        super().__init__(dict, existing)
        self._added, self.walks = added, 0

    def values(self):  # type: ignore[override]
        self.walks += 1
        view = super().values()
        if self.walks > 1:
            return view

        def walk() -> Iterator[object]:
            it = iter(view)
            yield next(it)
            self[self._added[0]] = self._added[1]
            yield from it  # the real dict's "dictionary changed size during iteration"

        return walk()


def test_a_scan_and_an_index_query_walking_a_table_another_thread_adds_to_see_the_new_item(offline_aws):
    from moto.dynamodb.models import dynamodb_backends

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="tickets",
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(3):
        ddb.put_item(TableName="tickets", Item={"ticket_id": {"S": f"TKT-{i}"}, "day": {"S": "2026-12-07"}})
    table = dynamodb_backends["123456789012"]["us-east-1"].tables["tickets"]
    attrs = {"ticket_id": {"S": "TKT-9"}, "day": {"S": "2026-12-07"}}
    new = Item(DynamoType(attrs["ticket_id"]), None, attrs)

    table.items = _ItemAddedMidWalk(dict(table.items), (DynamoType(attrs["ticket_id"]), new))
    scanned = ddb.scan(TableName="tickets")["Items"]
    walks_for_the_scan = table.items.walks
    table.items = _ItemAddedMidWalk(dict(table.items), (DynamoType(attrs["ticket_id"]), new))
    queried = ddb.query(
        TableName="tickets",
        IndexName="by-day",
        KeyConditionExpression="#d = :d",
        ExpressionAttributeNames={"#d": "day"},
        ExpressionAttributeValues={":d": {"S": "2026-12-07"}},
    )["Items"]

    assert walks_for_the_scan == 2  # the first walk failed mid-way; the second saw the put done
    assert sorted(i["ticket_id"]["S"] for i in scanned) == ["TKT-0", "TKT-1", "TKT-2", "TKT-9"]
    assert len(queried) == 4
