"""Precedents and measured acceptance on the embedded local stack (issue 30.2 and 30.5): an agent edits and
approves a draft, the mailer sends it and records how much was changed, the agent resolves the ticket, the
ticket-lifecycle function turns it into a precedent, and a similar later ticket's draft cites it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.adapters.replies import SnsReplyQueue
from bot.adapters.ticket_store import DynamoTicketStore
from bot.logic import actions
from contract import names
from contract.models import ReplyApprovedMessage
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket, wait_for
from tests.integration.conftest import item, put

pytestmark = pytest.mark.integration

BASE = "https://support.example.com/tickets"
WRITER, APPROVER = "U0WRITER", "U0APPROVER"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from pipeline.adapters.knowledge_store import draft_knowledge_base
    from pipeline.handlers import ticket_lifecycle

    tmp = tmp_path_factory.mktemp("precedents")
    env = {names.ENV_STATE_DIR: str(tmp / "state"), names.ENV_PRECEDENT_BASE_URL: BASE}
    draft_knowledge_base.cache_clear()
    ticket_lifecycle._precedents.cache_clear()
    with LocalStack.start(
        outbox=tmp / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s
    draft_knowledge_base.cache_clear()
    ticket_lifecycle._precedents.cache_clear()


def test_an_edited_sent_and_resolved_ticket_is_measured_and_becomes_a_precedent_a_later_draft_cites(
    stack: LocalStack,
) -> None:
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    first = make_ticket(
        subject="Kinesis consumer keeps getting ProvisionedThroughputExceeded",
        description=(
            "Our order-events stream consumer has thrown ProvisionedThroughputExceededException on "
            "GetRecords every few minutes since we added a second application reading the same shard."
        ),
        product="Amazon Kinesis",
        issue_type="Throughput Limits",
    )
    put(stack, first)
    stack.wait_idle(timeout=120)
    store = DynamoTicketStore(stack.info.table_name, stack.client("dynamodb"))
    triaged = item(stack, first.ticketId) or {}
    assert triaged.get("status") == "TRIAGED"

    # An agent rewrites the draft; another approves it (four eyes); the mailer sends it
    answer = (
        "Dear Ana,\n\nTwo consumers polling one shard share its five reads per second. Register both "
        "applications as enhanced fan-out consumers so that each gets its own 2 MB per second.\n\nKind regards"
    )
    edited = store.apply(
        first.ticketId, actions.edit_reply(WRITER, datetime.now(UTC), answer, actions.version_of(triaged))
    )
    approved = store.apply(
        first.ticketId, actions.approve(APPROVER, datetime.now(UTC), int(edited[actions.DRAFT_VERSION]))
    )
    SnsReplyQueue(stack.info.topic_arn, stack.client("sns")).approved(
        ReplyApprovedMessage(
            ticket_id=first.ticketId,
            approved_by=APPROVER,
            approved_at=datetime.now(UTC),
            version=actions.version_of(approved),
        )
    )
    sent = wait_for(
        lambda: (item(stack, first.ticketId) or {}).get("sent_at") and item(stack, first.ticketId),
        60,
        "the send",
    )
    assert sent[names.ITEM_DRAFTED_REPLY] == triaged["response_text"]
    assert sent["sent_unchanged"] is False and 0 < float(sent["reply_edit_distance"]) <= 1

    # Resolved: the lifecycle function adds the precedent
    store.apply(first.ticketId, actions.resolve(APPROVER, datetime.now(UTC)))
    kb = S3KnowledgeBase(stack.info.bucket_name, stack.client("s3"), embedder())
    precedent = f"{names.KB_PRECEDENT_ID_PREFIX}{first.ticketId}"
    wait_for(lambda: precedent in {d.doc_id for d in kb.documents()}, 60, "the precedent")

    # A similar later ticket's draft cites it
    later = make_ticket(
        subject="GetRecords throttled on our Kinesis stream",
        description=(
            "Since a second consumer app started reading the same shards of our clickstream stream, "
            "GetRecords fails with ProvisionedThroughputExceededException."
        ),
        product="Amazon Kinesis",
        issue_type="Throughput Limits",
    )
    put(stack, later)
    stack.wait_idle(timeout=120)
    drafted = item(stack, later.ticketId) or {}
    sources = drafted.get("sources")
    sources = json.loads(sources) if isinstance(sources, str) else sources or []
    assert any(s["id"].startswith(precedent) for s in sources), sources
    assert f"{BASE}/{first.ticketId}" in {s["uri"] for s in sources}
