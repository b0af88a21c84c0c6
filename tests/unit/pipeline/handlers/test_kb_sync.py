"""The kb-sync Lambda (issue 30.1) with moto S3 and a word-hashing embedder: documents put under kb/docs/ of
the stack bucket are ingested with their https link, a changed object (new ETag) replaces its passages, an
unchanged one is neither fetched nor embedded again, a deleted one is removed; files the CLI ingested and
precedents are never touched; a file that cannot be read is skipped with its reason; and a run reads at most
the configured number of changed documents."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from contract import defaults, names
from contract.clients import clear_cache as clear_aws_clients
from local.lambdas import LocalLambdaContext
from pipeline.domain.knowledge import Document
from tests.fakes.embedders import WordEmbedder

BUCKET = "tms-kb-sync"
DOCS = names.KB_DOCS_PREFIX

ROTATION = """---
title: Secret rotation fails with a timeout
url: https://help.example.com/articles/rotation-timeout
---

# Secret rotation fails with a timeout

The rotation function runs inside your VPC without a NAT gateway. Add the secretsmanager interface endpoint.
"""

QUEUE = """# Messages come back to the SQS queue again and again

A consumer slower than the visibility timeout lets the message become visible again. Raise the visibility
timeout to six times the function timeout.
"""

PAGE = """<html><head><title>Invalidate the CloudFront cache</title>
<link rel="canonical" href="https://help.example.com/articles/cloudfront-invalidate"></head>
<body><article><h1>Invalidate the CloudFront cache</h1><p>Create an invalidation for /index.html.</p></article>
</body></html>
"""


class CountingEmbedder(WordEmbedder):
    """WordEmbedder that counts the texts it embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return super().embed(texts)


@pytest.fixture
def aws(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from contract.clients import aws_client
    from pipeline.adapters.knowledge_store import S3KnowledgeBase
    from pipeline.handlers import kb_sync
    from pipeline.settings import kb_sync_settings

    clear_aws_clients()
    kb_sync_settings.cache_clear()
    s3 = aws_client("s3", region="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv(names.ENV_BUCKET_NAME, BUCKET)
    monkeypatch.setenv(names.ENV_KB_BASE_URL, "https://wiki.example.com/kb")
    embedder = CountingEmbedder()
    kb = S3KnowledgeBase(BUCKET, s3, embedder)
    monkeypatch.setattr(kb_sync, "_knowledge_base", lambda: kb)

    def run() -> dict[str, Any]:
        result: dict[str, Any] = kb_sync.handler({}, LocalLambdaContext(function_name=names.FN_KB_SYNC))
        return result

    yield {"s3": s3, "kb": kb, "embedder": embedder, "run": run}
    kb_sync_settings.cache_clear()
    clear_aws_clients()


def _put(aws: dict[str, Any], name: str, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    aws["s3"].put_object(Bucket=BUCKET, Key=DOCS + name, Body=data)


def _uris(aws: dict[str, Any]) -> dict[str, str]:
    return {d.doc_id: d.uri for d in aws["kb"].documents()}


def test_documents_put_under_kb_docs_are_searchable_with_their_https_link(aws: dict[str, Any]):
    _put(aws, "rotation-timeout.md", ROTATION)
    _put(aws, "guides/sqs-visibility.md", QUEUE)  # no link of its own: the base URL + its name
    _put(aws, "cloudfront-invalidate.html", PAGE)

    report = aws["run"]()

    assert sorted(report["added"]) == ["cloudfront-invalidate", "rotation-timeout", "sqs-visibility"]
    assert _uris(aws) == {
        "cloudfront-invalidate": "https://help.example.com/articles/cloudfront-invalidate",
        "rotation-timeout": "https://help.example.com/articles/rotation-timeout",
        "sqs-visibility": "https://wiki.example.com/kb/sqs-visibility",
    }
    hit = aws["kb"].search("sqs message visible again visibility timeout", k=1)[0]
    assert hit.doc_id == "sqs-visibility" and hit.uri == "https://wiki.example.com/kb/sqs-visibility"
    origins = {d.origin for d in aws["kb"].documents()}
    assert f"s3://{BUCKET}/{DOCS}guides/sqs-visibility.md" in origins


def test_an_unchanged_folder_is_neither_fetched_nor_embedded_again(aws: dict[str, Any]):
    _put(aws, "rotation-timeout.md", ROTATION)
    _put(aws, "sqs-visibility.md", QUEUE)
    aws["run"]()
    embedded = aws["embedder"].texts

    again = aws["run"]()

    assert again["unchanged"] == 2 and again["fetched"] == 0
    assert again["added"] == again["replaced"] == again["removed"] == []
    assert aws["embedder"].texts == embedded


def test_a_changed_object_replaces_its_passages_and_only_it_is_embedded(aws: dict[str, Any]):
    _put(aws, "rotation-timeout.md", ROTATION)
    _put(aws, "sqs-visibility.md", QUEUE)
    aws["run"]()
    before = aws["embedder"].texts
    _put(
        aws,
        "sqs-visibility.md",
        QUEUE.replace("six times the function timeout", "the batch time plus a minute"),
    )

    report = aws["run"]()

    assert report["replaced"] == ["sqs-visibility"] and report["unchanged"] == 1 and report["fetched"] == 1
    hit = aws["kb"].search("sqs message visible again visibility timeout", k=1)[0]
    assert "plus a minute" in hit.passage.text and "six times" not in hit.passage.text
    # Only the changed document's passages and sentences were embedded, not the rotation article's.
    assert 0 < aws["embedder"].texts - before < before


def test_the_same_text_uploaded_again_is_fetched_once_and_not_embedded(aws: dict[str, Any]):
    # A multipart upload of the same bytes has another ETag: the digest says nothing changed.
    _put(aws, "sqs-visibility.md", QUEUE)
    aws["run"]()
    embedded = aws["embedder"].texts
    etag = aws["kb"].documents()[0].source_etag
    index = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=names.KB_INDEX_KEY)["Body"].read())
    index["documents"]["sqs-visibility"]["source_etag"] = '"an-older-etag"'
    aws["s3"].put_object(Bucket=BUCKET, Key=names.KB_INDEX_KEY, Body=json.dumps(index).encode())

    first = aws["run"]()
    second = aws["run"]()

    assert first["fetched"] == 1 and first["unchanged"] == 1 and first["replaced"] == []
    assert second["fetched"] == 0
    assert aws["embedder"].texts == embedded
    assert aws["kb"].documents()[0].source_etag == etag


def test_a_deleted_object_is_removed_and_the_clis_files_and_precedents_stay(aws: dict[str, Any]):
    cli_file = Document(
        doc_id="vpn-dpd",
        title="Site-to-site VPN drops every hour",
        uri="https://help.example.com/articles/vpn-dpd",
        origin="/home/ops/help/vpn-dpd.md",
        text="Raise the DPD timeout to 30 seconds on your router.",
    )
    precedent = Document(
        doc_id="precedent-TKT-1",
        title="resolved TKT-1: VPN drops",
        uri="https://support.example.com/tickets/TKT-1",
        origin="precedent:TKT-1",
        text="We raised the DPD timeout and the tunnel stayed up.",
    )
    aws["kb"].ingest([cli_file, precedent])
    _put(aws, "rotation-timeout.md", ROTATION)
    _put(aws, "sqs-visibility.md", QUEUE)
    aws["run"]()

    aws["s3"].delete_object(Bucket=BUCKET, Key=DOCS + "sqs-visibility.md")
    report = aws["run"]()

    assert report["removed"] == ["sqs-visibility"]
    assert sorted(_uris(aws)) == ["precedent-TKT-1", "rotation-timeout", "vpn-dpd"]
    # The folder emptied: every document from it goes, the others stay.
    aws["s3"].delete_object(Bucket=BUCKET, Key=DOCS + "rotation-timeout.md")
    assert aws["run"]()["removed"] == ["rotation-timeout"]
    assert sorted(_uris(aws)) == ["precedent-TKT-1", "vpn-dpd"]


def test_unsupported_and_broken_files_are_skipped_with_their_reason_and_the_others_ingested(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.delenv(names.ENV_KB_BASE_URL)  # so a file without a link of its own has none
    _put(aws, "rotation-timeout.md", ROTATION)
    _put(aws, "diagram.png", b"\x89PNG\r\n")
    _put(aws, "no-link.md", QUEUE)
    _put(aws, "latin1.txt", "Caf\xe9 Wi-Fi drops".encode("latin-1"))
    _put(aws, "bad-front-matter.md", "---\ntitle: [unclosed\n---\nText.\n")
    _put(aws, "README.md", "This folder holds our help centre.")
    _put(aws, "vpn-dpd.md", "---\nurl: https://help.example.com/a/vpn\n---\nRaise the DPD timeout.\n")
    _put(aws, "other/vpn-dpd.md", "---\nurl: https://help.example.com/b/vpn\n---\nA second vpn-dpd.\n")
    _put(aws, "export.md", b"# Everything\n" + b"x" * defaults.KB_DOCUMENT_MAX_BYTES)
    aws["kb"].ingest(
        [
            Document(
                doc_id="rotation-timeout-cli",
                title="t",
                uri="https://help.example.com/x",
                origin="/help/rotation-timeout-cli.md",
                text="x",
            )
        ]
    )

    with caplog.at_level(logging.WARNING):
        report = aws["run"]()

    assert sorted(report["added"]) == ["rotation-timeout", "vpn-dpd"]
    reasons = {s["key"].removeprefix(DOCS): s["reason"] for s in report["skipped"]}
    assert sorted(reasons) == [
        "bad-front-matter.md",
        "diagram.png",
        "export.md",
        "latin1.txt",
        "no-link.md",
        "vpn-dpd.md",
    ]
    assert "over the 1,000,000 a document may have: split it" in reasons["export.md"]
    assert "not a Markdown, HTML or text file" in reasons["diagram.png"]
    assert "no link for this document" in reasons["no-link.md"] and "TMS_KB_BASE_URL" in reasons["no-link.md"]
    assert reasons["latin1.txt"] == "not UTF-8 text"
    assert "front matter is not valid YAML" in reasons["bad-front-matter.md"]
    assert "already has a document named 'vpn-dpd'" in reasons["vpn-dpd.md"]
    # Each skip is logged with the file and its reason (the operator's way to find out).
    logged = [r for r in caplog.records if r.getMessage() == "knowledge-base document skipped"]
    assert len(logged) == 6
    assert report["fetched"] == 6  # the six text files: the export (and the image, the README) never read


def test_a_run_reads_at_most_the_configured_number_of_documents_and_the_next_run_goes_on(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    from pipeline.settings import kb_sync_settings

    monkeypatch.setenv(names.ENV_KB_SYNC_MAX_DOCUMENTS, "2")
    kb_sync_settings.cache_clear()
    for n in range(5):
        _put(aws, f"article-{n}.md", f"# Article {n}\n\nStep {n}: restart the service number {n}.\n")

    first = aws["run"]()
    assert len(first["added"]) == 2 and first["deferred"] == 3 and first["fetched"] == 2
    second = aws["run"]()
    assert len(second["added"]) == 2 and second["deferred"] == 1 and second["unchanged"] == 2
    third = aws["run"]()
    assert len(third["added"]) == 1 and third["deferred"] == 0
    assert len(aws["kb"].documents()) == 5


def test_a_base_url_that_is_not_https_is_refused_at_start(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    from pipeline.settings import kb_sync_settings

    monkeypatch.setenv(names.ENV_KB_BASE_URL, "http://wiki.example.com/kb")
    kb_sync_settings.cache_clear()
    with pytest.raises(ValueError, match="TMS_KB_BASE_URL must be an https:// URL"):
        aws["run"]()
