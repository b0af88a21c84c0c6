"""The lifecycle feed on the embedded local stack: a ticket is triaged, an agent takes it and approves the
reply (DynamoDB writes through the bot's store adapter), the mailer sends it (the first response) -> the
table's stream -> the ticket-lifecycle function -> lifecycle/ records -> `tms etl` -> the warehouse shows its
status, owner and first response, and the SLA attainment view counts it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.replies import SnsReplyQueue
from bot.adapters.ticket_store import DynamoTicketStore
from bot.logic import actions
from contract import names
from contract.models import ReplyApprovedMessage
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket, wait_for
from tests.fixtures_spark import spark  # noqa: F401
from tests.integration.conftest import drain, item, put

pytestmark = [pytest.mark.integration, pytest.mark.spark]

AGENT = "U0AGENT"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    env = {names.ENV_STATE_DIR: str(tmp / "state")}
    with LocalStack.start(
        outbox=tmp / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s


def _lifecycle_keys(stack: LocalStack, ticket_id: str) -> list[str]:
    s3 = stack.client("s3")
    listed = s3.list_objects_v2(Bucket=stack.info.bucket_name, Prefix=f"{names.LIFECYCLE_PREFIX}{ticket_id}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_taken_and_approved_ticket_reaches_the_warehouse_and_the_sla_view(
    stack: LocalStack,
    spark: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tools.analytics import run_etl
    from tools.analytics.warehouse import open_warehouse

    # Given a triaged ticket and one nobody touches
    answered, untouched = make_ticket(subject="Cannot export invoices"), make_ticket(subject="Login loop")
    put(stack, answered, untouched)
    stack.wait_idle(timeout=120)
    triaged = item(stack, answered.ticketId)
    assert triaged is not None and triaged["status"] == "TRIAGED" and triaged["sla_due_at"]

    # When an agent takes it and approves the reply (the bot's conditional writes)
    store = DynamoTicketStore(stack.info.table_name, stack.client("dynamodb"))
    store.apply(answered.ticketId, actions.take(AGENT, datetime.now(UTC)))
    approved = store.apply(answered.ticketId, actions.approve(AGENT, datetime.now(UTC), 0))
    wait_for(lambda: len(_lifecycle_keys(stack, answered.ticketId)) >= 3, 30, "the lifecycle records")
    stack.wait_idle(timeout=60)
    # Then the stream wrote one record per change that matters: triaged, taken, approved
    assert len(_lifecycle_keys(stack, answered.ticketId)) == 3
    assert len(_lifecycle_keys(stack, untouched.ticketId)) == 1

    # And a Slack post claim changes the item without changing anything the warehouse sees: no record
    store.claim_post(answered.ticketId, "lifecycle-test")
    stack.wait_idle(timeout=60)
    assert len(_lifecycle_keys(stack, answered.ticketId)) == 3

    # When the approval reaches the mailer (as the bot hands it over), which sends the reply: the first response
    SnsReplyQueue(stack.info.topic_arn, stack.client("sns")).approved(
        ReplyApprovedMessage(
            ticket_id=answered.ticketId,
            approved_by=AGENT,
            approved_at=datetime.now(UTC),
            version=actions.version_of(approved),
        )
    )
    wait_for(
        lambda: (item(stack, answered.ticketId) or {}).get("first_response_at"),
        60,
        "the reply sent by the mailer",
    )
    stack.wait_idle(timeout=60)
    assert stack.lifecycle_poller.stats.sent_to_dlq == 0
    assert (
        drain(stack, stack.client("sqs").get_queue_url(QueueName=names.LIFECYCLE_DLQ_NAME)["QueueUrl"]) == []
    )

    # And `tms etl` loads the latest state into ticket_lifecycle, which the SLA view counts
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    result = run_etl(stack.info, warehouse_url=url)
    assert result.merged >= 2 and result.lifecycle.merged >= 2 and result.lifecycle.quarantined == 0
    final = item(stack, answered.ticketId) or {}
    wh = open_warehouse(url)
    try:
        _, rows = wh.query(
            "SELECT status, assignee, approved_by, first_response_at, sla_due_at, sla_breached, version "  # noqa: S608
            f"FROM ticket_lifecycle WHERE ticket_id = '{answered.ticketId}'"
        )
        status, assignee, approved_by, first_response_at, sla_due_at, breached, version = rows[0]
        assert (status, assignee, approved_by, breached) == (final["status"], AGENT, AGENT, False)
        assert status in {"SENT", "WAITING_CUSTOMER"}
        assert first_response_at is not None and first_response_at <= sla_due_at
        assert version == int(final["version"])
        _, view = wh.query(
            "SELECT tickets_due, answered_in_time, breached, pending, attainment_pct "  # noqa: S608
            f"FROM v_sla_attainment WHERE priority = '{final['priority']}' "
            f"AND day = CAST('{final['sla_due_at'][:10]}' AS DATE)"
        )
        due, in_time, late, _pending, pct = view[0]
        assert in_time >= 1 and late == 0 and due >= 1 and pct == 100.0
    finally:
        wh.close()


def test_a_poison_change_is_dead_lettered_alone_with_its_stream_position_and_the_rest_are_written(
    stack: LocalStack,
) -> None:
    from pipeline.handlers.ticket_lifecycle import handler as real_handler

    poison = "TKT-POISON-1"
    seen: list[str] = []

    def flaky(event: dict[str, Any], context: Any) -> Any:
        ids = [r["dynamodb"]["Keys"]["ticket_id"]["S"] for r in event["Records"]]
        seen.extend(ids)
        if poison in ids:
            raise RuntimeError("cannot write this one")
        return real_handler(event, context)

    stack.lambdas.register(names.FN_TICKET_LIFECYCLE, flaky)
    try:
        # Given three ticket items written in one burst, the middle one poison for the function
        ddb = stack.client("dynamodb")
        ids = ["TKT-GOOD-1", poison, "TKT-GOOD-2"]
        for tid in ids:
            ddb.put_item(
                TableName=stack.info.table_name,
                Item={"ticket_id": {"S": tid}, "status": {"S": "TRIAGED"}, "priority": {"S": "HIGH"}},
            )
        # When the mapping delivers them (bisecting the failing batch, retrying the poison record alone)
        wait_for(lambda: stack.lifecycle_poller.stats.sent_to_dlq >= 1, 60, "the poison record dead-lettered")
        stack.wait_idle(timeout=60)
    finally:
        stack.lambdas.register(names.FN_TICKET_LIFECYCLE, names.HANDLERS[names.FN_TICKET_LIFECYCLE])

    # Then the good changes are written, the poison one is in the lifecycle DLQ with its shard position
    assert _lifecycle_keys(stack, "TKT-GOOD-1") and _lifecycle_keys(stack, "TKT-GOOD-2")
    assert _lifecycle_keys(stack, poison) == []
    dlq_url = stack.client("sqs").get_queue_url(QueueName=names.LIFECYCLE_DLQ_NAME)["QueueUrl"]
    (letter,) = drain(stack, dlq_url)
    info = letter["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stack.lifecycle_poller.stream_arn
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
