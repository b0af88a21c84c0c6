"""The offline reply model's grounded steps (issue 30): the sentences of the retrieved documents that answer
the ticket, wherever they sit in the article, and a reply that still keeps the reply policy.

The knowledge base is the real S3 adapter on an in-memory bucket, embedded with the offline model the local
runtime ships; the articles and tickets are written for these tests."""

from __future__ import annotations

import io
from typing import Any

import pytest

from contract import defaults
from contract.models import SentimentResult
from local.offline_reply import OfflineReplyModel
from pipeline.adapters.knowledge_store import S3KnowledgeBase
from pipeline.domain.knowledge import Document, chunk, sentences
from pipeline.domain.policy import check_reply
from pipeline.domain.sentiment import detect_sentiment
from pipeline.domain.triage import draft_grounded
from tests.conftest import make_ticket

REPORTS = Document(
    doc_id="scheduled-report-empty",
    title="A scheduled report arrives with headers and no rows",
    uri="https://help.example.com/articles/scheduled-report-empty",
    origin="/kb/scheduled-report-empty.md",
    text=(
        "# A scheduled report arrives with headers and no rows\n\n"
        "Scheduled reports run in the workspace time zone, not in the time zone of the people who receive "
        "them. A report scheduled for Monday 07:00 can therefore run before the nightly sales import has "
        "finished. The e-mail still goes out to the inbox, with the column headers and zero rows.\n\n"
        "## Hold a report until its data is in\n\n"
        "Every schedule has a freshness check, off by default. It compares the run time with the last "
        "refresh of each source the report reads. Off, it sends whatever the sources hold at that moment. "
        "Set it to Wait for refresh to hold delivery until every source has refreshed. A report held for "
        "more than six hours is sent anyway, with a warning line at the top.\n"
    ),
)
EXPORT = Document(
    doc_id="dashboard-export-formats",
    title="Export a dashboard",
    uri="https://help.example.com/articles/dashboard-export-formats",
    origin="/kb/dashboard-export-formats.md",
    text=(
        "# Export a dashboard\n\n"
        "A dashboard exports as PDF or as PNG from the Share menu. Each widget can also be downloaded as CSV "
        "from its own menu. Exports use the filters that are applied when you start them.\n\n"
        "## Large exports\n\n"
        "A CSV export stops at one million rows; use the warehouse connection for more.\n"
    ),
)
ALERTS = Document(
    doc_id="alert-rule-silent",
    title="An alert rule never fires",
    uri="https://help.example.com/articles/alert-rule-silent",
    origin="/kb/alert-rule-silent.md",
    text=(
        "# An alert rule never fires\n\n"
        "Alert rules evaluate every fifteen minutes on the last complete interval. A rule on a metric that "
        "arrives late sees an empty interval and stays quiet. Add a delay of one interval to the rule, or "
        "alert on a metric that is written in real time.\n"
    ),
)


class MemoryS3:
    """One bucket in memory: the calls the knowledge-base adapter makes."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, *, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body

    def head_object(self, *, Key: str, **_: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"ETag": f'"{hash(self.objects[Key])}"'}

    def get_object(self, *, Key: str, **_: Any) -> dict[str, Any]:
        return {"ETag": f'"{hash(self.objects[Key])}"', "Body": io.BytesIO(self.objects[Key])}


@pytest.fixture(scope="module")
def kb() -> S3KnowledgeBase:
    from pipeline.adapters.embeddings import build_embedder, load_embedding_settings

    store = S3KnowledgeBase("kb-test", MemoryS3(), build_embedder(load_embedding_settings()))
    store.ingest([REPORTS, EXPORT, ALERTS])
    return store


def _draft(kb: S3KnowledgeBase, subject: str, description: str) -> Any:
    ticket = make_ticket(subject, description, "Analytics Dashboard", "Report Scheduling")
    sentiment = SentimentResult.model_validate(detect_sentiment(description))
    return ticket, draft_grounded(ticket, sentiment, OfflineReplyModel(), kb, kb.embedding_model_id)


def test_the_answer_in_the_fourth_sentence_of_another_passage_of_the_article_reaches_the_draft(
    kb: S3KnowledgeBase,
) -> None:
    symptoms, fix = chunk(REPORTS)
    assert "Wait for refresh" in sentences(fix.text)[3]  # the fixture: the answer is sentence 4 of section 2
    subject = "monday sales report has no data"
    description = (
        "Our Monday sales report lands in the inbox with the column headers but zero rows, because it runs at "
        "07:00 before the nightly sales import. Is there a setting that holds it until the sources have refreshed?"
    )
    assert kb.search(f"{subject}\n{description}")[0].passage == symptoms  # the best passage only describes it

    ticket, out = _draft(kb, subject, description)

    text = out.result.response_text
    assert "Wait for refresh" in text
    assert [s.uri for s in out.result.sources] == ["https://help.example.com/articles/scheduled-report-empty"]
    assert check_reply(text, ticket.ticketId, out.result.priority, ticket.data.customer.first_name) == []


def test_grounded_drafts_keep_the_reply_policy_for_each_kind_of_ticket(kb: S3KnowledgeBase) -> None:
    tickets = [
        (
            "export too big",
            "The CSV download of our orders widget stops partway and we need every row of 3 million.",
        ),
        (
            "alert never went off",
            "Our late-orders alert did not fire last night although the metric clearly spiked.",
        ),
        (
            "Report empty AGAIN!!",
            "third time this month the 7am report comes through empty, it's getting embarrassing with the "
            "board, what's going on?",
        ),
    ]
    for subject, description in tickets:
        ticket, out = _draft(kb, subject, description)
        text = out.result.response_text
        assert check_reply(text, ticket.ticketId, out.result.priority, ticket.data.customer.first_name) == []


def test_steps_never_exceed_the_step_count_and_the_ids_name_the_quoted_documents(kb: S3KnowledgeBase) -> None:
    from local.offline_reply import grounded_steps
    from pipeline.domain.grounding import ground

    query = "alert rule silent\nOur alert on the nightly import metric never fires, the metric arrives late."
    grounding = ground(query, kb, kb.embedding_model_id, k=defaults.KB_TOP_K)
    assert grounding is not None and grounding.answered

    steps, used = grounded_steps(grounding.quotations, query)

    assert 2 <= len(steps) <= 3
    assert used and set(used) <= {q.id for q in grounding.quotations}
    assert used[0].startswith("alert-rule-silent#")
    assert any("delay of one interval" in s for s in steps)
