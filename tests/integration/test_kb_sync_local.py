"""The knowledge base follows kb/docs/ of the local stack's bucket (issue 30.1): a Markdown file put there is
found by `tms kb search` with its https link after one sync (the kb-sync function as the local scheduler runs
it, or `tms kb sync`); a changed file replaces it, a deleted one is gone, and a document `tms kb ingest`
read from disk and a precedent survive every sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import defaults, names
from local.runtime import LocalStack
from pipeline.domain.knowledge import Document

pytestmark = pytest.mark.integration

ROTATION = """---
title: Secret rotation fails with a timeout
url: https://help.example.com/articles/rotation-timeout
---

# Secret rotation fails with a timeout

The rotation function runs inside your VPC. When its subnets have no NAT gateway and no interface endpoint
for Secrets Manager, the function cannot call the API and stops after its 30 second timeout. Add the
secretsmanager interface endpoint to the subnets of the rotation function.
"""

VPN = """---
title: Site-to-site VPN tunnel drops every hour
---

The tunnel goes down when dead peer detection gives up too early. Raise the DPD timeout on your customer
gateway to 30 seconds.
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    outbox = tmp_path_factory.mktemp("outbox") / "slack.jsonl"
    with LocalStack.start(outbox=outbox) as s:
        yield s


@pytest.fixture
def tms(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    from local import stack as local_stack
    from tools.cli import main

    monkeypatch.setattr(local_stack, "resolve", lambda *a, **k: stack.info)
    monkeypatch.setenv(names.ENV_KB_BASE_URL, "https://wiki.example.com/kb")

    def run(*argv: str) -> dict:
        capsys.readouterr()
        assert main([*argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    return run


def _put(stack: LocalStack, name: str, body: str) -> None:
    stack.client("s3").put_object(
        Bucket=stack.info.bucket_name, Key=names.KB_DOCS_PREFIX + name, Body=body.encode()
    )


def test_a_file_put_under_kb_docs_is_searchable_replaced_and_removed_and_the_others_survive(
    stack: LocalStack, tms, tmp_path: Path
):
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    # Given a document the CLI read from disk and a precedent of a resolved ticket
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "sqs-visibility.md").write_text(
        "# Messages come back to the SQS queue\n\nRaise the visibility timeout to six times the function timeout.\n"
    )
    assert tms("kb", "ingest", str(folder))["added"] == ["sqs-visibility"]
    S3KnowledgeBase(stack.info.bucket_name, stack.client("s3"), embedder()).ingest(
        [
            Document(
                doc_id="precedent-TKT-1",
                title="resolved TKT-1: VPN keeps dropping",
                uri="https://support.example.com/tickets/TKT-1",
                origin="precedent:TKT-1",
                text="We raised the DPD timeout on the customer gateway and the tunnel stayed up.",
            )
        ]
    )

    # When Markdown files are put under kb/docs/ and the scheduled function runs once
    _put(stack, "rotation-timeout.md", ROTATION)
    _put(stack, "network/vpn-dpd.md", VPN)
    assert stack.kb_sync is not None
    assert stack.kb_sync.interval_s == 60 * defaults.KB_SYNC_INTERVAL_MINUTES
    run = stack.kb_sync.run_once()
    assert run.function_error is None, run.payload
    assert sorted(json.loads(run.payload)["added"]) == ["rotation-timeout", "vpn-dpd"]

    # Then search finds them with their https links: their own, or the base URL + the file name
    hit = tms("kb", "search", "our secret rotation lambda keeps timing out", "-k", "1")["hits"][0]
    assert hit["uri"] == "https://help.example.com/articles/rotation-timeout"
    vpn = tms("kb", "search", "vpn tunnel drops dead peer detection", "-k", "1")["hits"][0]
    assert vpn["uri"] == "https://wiki.example.com/kb/vpn-dpd"

    # A changed file is replaced (tms kb sync runs the same sync now)
    _put(stack, "rotation-timeout.md", ROTATION.replace("30 second timeout", "five minute timeout"))
    report = tms("kb", "sync")
    assert report["replaced"] == ["rotation-timeout"] and report["unchanged"] == 1
    hit = tms("kb", "search", "our secret rotation lambda keeps timing out", "-k", "1")["hits"][0]
    assert "five minute timeout" in hit["text"] and "30 second" not in hit["text"]

    # A deleted file is gone; the CLI's document and the precedent were never touched
    stack.client("s3").delete_object(
        Bucket=stack.info.bucket_name, Key=names.KB_DOCS_PREFIX + "network/vpn-dpd.md"
    )
    assert tms("kb", "sync")["removed"] == ["vpn-dpd"]
    listed = {d["doc_id"]: d["origin"] for d in tms("kb", "list")["documents"]}
    assert sorted(listed) == ["precedent-TKT-1", "rotation-timeout", "sqs-visibility"]
    assert listed["sqs-visibility"] == str((folder / "sqs-visibility.md").resolve())
    assert (
        listed["rotation-timeout"]
        == f"s3://{stack.info.bucket_name}/{names.KB_DOCS_PREFIX}rotation-timeout.md"
    )
    # and nothing changed since: a sync reads nothing
    assert tms("kb", "sync") == {
        "added": [],
        "replaced": [],
        "unchanged": 1,
        "removed": [],
        "skipped": [],
        "deferred": 0,
        "fetched": 0,
    }


def test_a_failed_run_lands_in_the_kb_sync_dlq(stack: LocalStack, monkeypatch: pytest.MonkeyPatch):
    # An https-less base URL makes the function refuse to start, as a wrong cdk.json value would on AWS.
    from pipeline.settings import kb_sync_settings

    monkeypatch.setenv(names.ENV_KB_BASE_URL, "http://wiki.example.com/kb")
    kb_sync_settings.cache_clear()
    try:
        assert stack.kb_sync is not None
        assert stack.kb_sync.run_once().function_error
    finally:
        kb_sync_settings.cache_clear()
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=names.KB_SYNC_DLQ_NAME)["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert json.loads(message["Body"])["requestContext"]["condition"] == "RetriesExhausted"
