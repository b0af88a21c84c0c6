"""Grounded drafts on the embedded local stack: the knowledge base `tms kb ingest` fills is what the draft
step retrieves from, and the sources and confidence reach the ticket item and the archive record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket
from tests.integration.conftest import archive_keys, item, put

pytestmark = pytest.mark.integration

KB = Path(__file__).resolve().parents[2] / "examples" / "kb"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase, draft_knowledge_base
    from tools.kb import read_document

    outbox = tmp_path_factory.mktemp("outbox") / "slack.jsonl"
    draft_knowledge_base.cache_clear()  # this process's stack sets TMS_KB_PROVIDER
    with LocalStack.start(outbox=outbox, mapping=MappingConfig(retry_delay_s=0.05)) as s:
        kb = S3KnowledgeBase(s.info.bucket_name, s.client("s3"), embedder())
        kb.ingest(
            [
                read_document(KB / "s3-403-access-denied-bucket-policy.md"),
                read_document(KB / "lambda-vpc-timeout-no-internet.md"),
                read_document(KB / "cloudfront-cache-key-query-strings.html"),
            ]
        )
        yield s
    draft_knowledge_base.cache_clear()


def test_a_ticket_the_knowledge_base_answers_records_its_source_and_confidence(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    ticket = make_ticket(
        "403 AccessDenied on our bucket from laptops only",
        "Admins get 403 AccessDenied on aws s3 ls from their laptops and from CloudShell, while the EC2 "
        "servers inside the production VPC read the same bucket fine. The bucket policy was written by "
        "the platform team last year.",
        "Amazon S3",
        "Bucket Policy Configuration",
    )
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    stored = item(stack, ticket.ticketId)
    assert stored is not None and stored["status"] == "TRIAGED"
    sources = json.loads(stored["sources"])
    assert [s["uri"] for s in sources] == [
        "https://help.example.com/articles/s3-403-access-denied-bucket-policy"
    ]
    assert float(stored["retrieval_confidence"]) == pytest.approx(sources[0]["score"], abs=1e-3)
    body = stack.client("s3").get_object(
        Bucket=stack.info.bucket_name, Key=archive_keys(stack, ticket.ticketId)[0]
    )
    record = json.loads(body["Body"].read())
    assert json.loads(record["sources"]) == sources

    from local import stack as local_stack
    from tools.cli import main

    monkeypatch.setattr(local_stack, "resolve", lambda *a, **k: stack.info)
    assert main(["ticket", "show", ticket.ticketId, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"] == sources
    assert main(["ticket", "show", ticket.ticketId]) == 0
    assert "source: S3 returns 403 AccessDenied" in capsys.readouterr().out


def test_a_ticket_nothing_answers_has_no_sources_and_asks_for_details(stack: LocalStack):
    ticket = make_ticket(
        "Invoice doubled in November",
        "Our support plan invoice for November is twice October's and nobody changed the plan. "
        "Who can explain the charge to our finance team?",
        "Amazon EC2",
        "Billing",
    )
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    stored = item(stack, ticket.ticketId)
    assert stored is not None and stored["status"] == "TRIAGED"
    assert stored["sources"] == ""
    assert 0 < float(stored["retrieval_confidence"]) < 0.6
    assert "has no article that answers this yet" in stored["response_text"]


def test_the_demo_ingests_the_knowledge_base_it_is_given_and_its_drafts_consult_it(tmp_path: Path):
    import shutil

    from contract.clients import aws_client
    from local.runtime import LocalStack as Stack
    from pipeline.adapters.knowledge_store import draft_knowledge_base
    from tests.integration.conftest import item as item_of
    from tools.demo import demo_clients, ingest_kb, run_demo

    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("ec2-ssh-connection-timeout.md", "s3-403-access-denied-bucket-policy.md"):
        shutil.copy(KB / name, folder / name)
    draft_knowledge_base.cache_clear()
    with Stack.start(outbox=tmp_path / "slack.jsonl") as s:
        clients = demo_clients(s.info)
        ingest_kb(s.info, clients, [str(folder)])
        report = run_demo(s.info, tickets=3, seed=11, clients=clients)
        s.wait_idle(timeout=120)
        listed = aws_client("s3", s.info).list_objects_v2(Bucket=s.info.bucket_name, Prefix="kb/")
        assert [o["Key"] for o in listed.get("Contents", [])] == ["kb/index.json"]
        ids = report.ticket_ids
        assert ids
        with_sources = 0
        for ticket_id in ids:
            stored = item_of(s, ticket_id)
            assert stored is not None and "retrieval_confidence" in stored
            with_sources += stored.get("sources") not in (None, "", "[]")
        # the demo's summary counts the grounded drafts it made
        assert report.grounded_drafts == with_sources
    draft_knowledge_base.cache_clear()
