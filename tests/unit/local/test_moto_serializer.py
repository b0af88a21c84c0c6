"""The local stack serialises DynamoDB attribute values on a short path; the bytes are moto's own."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.dynamodb.responses import DynamoResult

from local.moto import patching, speed
from tests.fakes.dynamo import create_ticket_table

EMBEDDING = bytes(range(256)) * 3

ITEMS = [
    {"ticket_id": {"S": "T-1"}},
    {
        "ticket_id": {"S": "T-2"},
        "empty": {"S": ""},
        "count": {"N": "12.50"},
        "embedding": {"B": EMBEDDING},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "tags": {"SS": ["a", "b"]},
        "sizes": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x00\x01", b"\xff"]},
    },
    {
        "ticket_id": {"S": "T-3"},
        "usage": {"M": {"tokens": {"N": "7"}, "raw": {"B": b"\x10"}, "inner": {"M": {}}}},
        "history": {
            "L": [
                {"M": {"at": {"S": "2026-12-06T10:00:00Z"}, "by": {"S": "U1"}}},
                {"L": [{"BOOL": True}, {"NULL": True}, {"L": []}]},
                {"N": "-0"},
            ]
        },
    },
]


@pytest.fixture(scope="module", autouse=True)
def fast_path():
    with patching.applied(speed.FAST_ATTRIBUTE_VALUES):  # on for these tests whatever TMS_LOCAL_SPEED_PATCHES
        yield BaseJSONSerializer._serialize_type_structure.__wrapped__


def _body(operation: str, result: dict) -> dict:
    """The JSON body moto's DynamoDB handler writes for `result`, as `BaseResponse.serialized` builds it."""
    model = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", "json")(
        operation_model=model.operation_model(operation), value_picker=XFormedAttributePicker()
    )
    return json.loads(serializer.serialize(DynamoResult(result).result)["body"])


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i["ticket_id"]["S"])
def test_an_item_serialises_to_the_bytes_moto_writes(item, fast_path, monkeypatch):
    for operation, result in (
        ("GetItem", {"Item": item}),
        ("Query", {"Items": [item, item], "Count": 2, "ScannedCount": 2}),
        ("BatchGetItem", {"Responses": {"tickets": [item]}, "UnprocessedKeys": {}}),
    ):
        fast = _body(operation, result)
        monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", fast_path)
        assert _body(operation, result) == fast, operation
        monkeypatch.undo()


def test_an_item_survives_the_round_trip_through_the_sdk():
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_ticket_table(ddb)
        for item in ITEMS:
            ddb.put_item(TableName="tickets", Item=item)
            got = ddb.get_item(TableName="tickets", Key={"ticket_id": item["ticket_id"]})["Item"]
            assert _normalised(got) == _normalised(item)


def _normalised(item: dict) -> dict:
    """Sets come back in any order; everything else must be equal as written."""
    out = {}
    for key, value in item.items():
        ((kind, raw),) = value.items()
        out[key] = {kind: sorted(raw) if kind in ("SS", "NS", "BS") else raw}
    return out
