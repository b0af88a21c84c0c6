"""The notifier's post claim: exactly one post per event, even when a claim's response is lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from bot.adapters.ticket_store import DynamoTicketStore


@pytest.fixture
def table(offline_aws: None) -> Iterator[Any]:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client


class LostFirstResponse:
    """A client whose first update_item lands but whose response is lost; the SDK then re-sends the very
    same request (botocore's retry), which is what happens on a read timeout."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def update_item(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self._client.update_item(**kwargs)  # it lands...
            try:
                raise ReadTimeoutError(endpoint_url="http://dynamodb")  # ...but the answer never arrives
            except ReadTimeoutError:
                pass
        return self._client.update_item(**kwargs)  # the retry: same parameters, same token

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_claim_whose_response_was_lost_still_lets_this_attempt_post(table: Any):
    store = DynamoTicketStore("t", client=LostFirstResponse(table))
    assert store.claim_post("TKT-1", "triaged") is True


def test_a_second_delivery_of_the_same_event_is_refused(table: Any):
    store = DynamoTicketStore("t", client=table)
    assert store.claim_post("TKT-1", "triaged") is True
    assert store.claim_post("TKT-1", "triaged") is False


def test_a_released_claim_can_be_taken_again(table: Any):
    store = DynamoTicketStore("t", client=table)
    assert store.claim_post("TKT-1", "triaged") is True
    store.release_post("TKT-1", "triaged")
    assert store.claim_post("TKT-1", "triaged") is True
