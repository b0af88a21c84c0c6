"""The local endpoint reads a DynamoDB item again when another thread changed it mid-read, so an update
cannot fail a Query that is sizing, copying or serialising the same item (local/moto/emulation.py)."""

from __future__ import annotations

import copy

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
