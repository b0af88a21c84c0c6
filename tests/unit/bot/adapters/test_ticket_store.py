"""The notifier's post claim: exactly one post per event, even when a claim's response is lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from bot.adapters.slack import Posted
from bot.adapters.ticket_store import DynamoTicketStore
from bot.errors import TicketStoreError
from contract import names


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


class EveryResponseLost:
    """A client whose claim write lands but every answer to it times out, so the SDK gives up (a moto or
    DynamoDB endpoint slower than the read timeout, several times in a row)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.failing = True

    def update_item(self, **kwargs: Any) -> Any:
        if self.failing and "SET" in kwargs["UpdateExpression"]:
            self._client.update_item(**kwargs)  # it lands...
            raise ReadTimeoutError(endpoint_url="http://dynamodb")  # ...and the SDK's last retry times out
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_claim_that_landed_but_timed_out_lets_the_redelivery_post(table: Any):
    flaky = EveryResponseLost(table)
    store = DynamoTicketStore("t", client=flaky)
    with pytest.raises(TicketStoreError, match="could not claim triaged for TKT-1"):
        store.claim_post("TKT-1", "triaged")
    flaky.failing = False
    # The redelivery (SNS/Lambda retry) may post: the failed attempt left no claim behind.
    assert store.claim_post("TKT-1", "triaged") is True
    assert store.claim_post("TKT-1", "triaged") is False


def test_undoing_a_failed_claim_never_drops_another_attempts_claim(table: Any):
    store = DynamoTicketStore("t", client=table)
    assert store.claim_post("TKT-1", "triaged") is True  # a first delivery holds the claim
    flaky = EveryResponseLost(table)
    # A concurrent redelivery's claim is refused by the condition (a ClientError, not a timeout): the holder
    # keeps its claim.
    assert DynamoTicketStore("t", client=flaky).claim_post("TKT-1", "triaged") is False
    assert store.claim_post("TKT-1", "triaged") is False


def test_the_notifier_waits_as_long_as_a_lambda_adapter_not_as_slacks_ack_budget(
    offline_aws: None, tmp_path: Any
):
    from bot.config import BotSettings
    from bot.handlers.notifier import build_notifier
    from contract.clients import PROFILES

    notifier = build_notifier(BotSettings(table_name="t", outbox=str(tmp_path / "outbox.jsonl")))
    config = notifier._store._client.meta.config  # type: ignore[attr-defined]
    assert config.read_timeout == PROFILES["default"].read_timeout > PROFILES["bot"].read_timeout


def test_recorded_posts_accumulate_and_the_root_coordinates_are_set_in_the_same_update(table: Any):
    store = DynamoTicketStore("t", table)

    store.record_post("TKT-1", Posted("C1", "1.1"), {"slack_channel": "C1", "slack_ts": "1.1"})
    store.record_post("TKT-1", Posted("C1", "1.2"), {})
    store.record_post("TKT-1", Posted("C9", "9.1"), {})
    store.record_post("TKT-1", Posted("C1", "1.2"), {})  # a retried write adds nothing

    item = store.get("TKT-1") or {}
    assert (item["slack_channel"], item["slack_ts"]) == ("C1", "1.1")
    assert {Posted.from_ref(r) for r in item[names.SLACK_POSTS_ATTR]} == {
        Posted("C1", "1.1"),
        Posted("C1", "1.2"),
        Posted("C9", "9.1"),
    }


def test_the_first_edit_keeps_the_models_draft_and_later_edits_do_not_overwrite_it(table: Any):
    """Measured acceptance (issue 30.5) compares the sent reply with what the model drafted, not with the
    previous edit: the first edit copies the old reply aside in the same write, later edits leave it."""
    from datetime import UTC, datetime

    from bot.logic import actions

    table.put_item(
        TableName="t",
        Item={
            "ticket_id": {"S": "TKT-20250106-EDIT000001"},
            "status": {"S": "TRIAGED"},
            "version": {"N": "2"},
            "response_text": {"S": "Hello Ada, please restart the router."},
        },
    )
    store = DynamoTicketStore("t", table)
    at = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

    store.apply("TKT-20250106-EDIT000001", actions.edit_reply("U1", at, "Hello Ada, restart it twice.", 2))
    item = store.apply("TKT-20250106-EDIT000001", actions.edit_reply("U2", at, "Ada: call us.", 3))

    assert item["response_text"] == "Ada: call us."
    assert item[names.ITEM_DRAFTED_REPLY] == "Hello Ada, please restart the router."
