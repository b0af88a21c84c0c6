"""The local endpoint sizes a DynamoDB item from a snapshot of its attributes, so an update on another
thread cannot fail a Query that is sizing the same item (pipeline/local/moto_patches.py)."""

from __future__ import annotations

from moto.dynamodb.models.dynamo_type import DynamoType, Item, bytesize

from pipeline.local import moto_patches

ATTRS = {
    "ticket_id": {"S": "TKT-1"},
    "count": {"N": "12"},
    "usage": {"M": {"tokens": {"N": "7"}, "model": {"S": "offline"}}},
    "history": {"L": [{"S": "a"}, {"S": "bc"}]},
    "tags": {"SS": ["x", "yz"]},
    "ok": {"BOOL": False},
}


def test_the_size_is_the_one_moto_counts():
    moto_patches._size_items_from_a_snapshot()
    item = Item(DynamoType(ATTRS["ticket_id"]), None, ATTRS)

    # moto's own per-attribute sizes (name bytes + DynamoType.size), summed
    expected = sum(bytesize(name) + DynamoType(value).size() for name, value in ATTRS.items())
    assert item.size() == expected


class _GrowsTheItemWhenSized(DynamoType):
    """An attribute whose sizing adds another attribute to its item: what an UpdateItem on another thread
    does while a Query sizes the item."""

    def __init__(self, item: Item) -> None:
        super().__init__({"S": "v"})
        self._item = item

    def size(self) -> int:
        self._item.attrs["added_meanwhile"] = DynamoType({"S": "new"})
        return super().size()


def test_an_attribute_added_while_the_item_is_sized_does_not_fail_the_size():
    moto_patches._size_items_from_a_snapshot()
    item = Item(DynamoType(ATTRS["ticket_id"]), None, {"ticket_id": ATTRS["ticket_id"]})
    item.attrs["grows"] = _GrowsTheItemWhenSized(item)

    size = item.size()  # moto's own sum over the live dict raised "dictionary changed size during iteration"

    assert size == bytesize("ticket_id") + 5 + bytesize("grows") + 1
    assert "added_meanwhile" in item.attrs
