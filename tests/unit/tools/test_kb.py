"""`tms kb`: reading help-centre files, and ingest/search/list/remove on the stack's S3 (moto), embedded
with the offline model the local runtime ships."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from contract.errors import ConfigurationError
from tools.kb import read_document

ROTATION = """---
title: Secret rotation fails with a timeout
url: https://help.example.com/articles/rotation-timeout
products: [AWS Secrets Manager]
issue_types: [Secret Rotation]
updated: 2026-09-01
---

# Secret rotation fails with a timeout

The rotation function runs inside your VPC. When its subnets have no NAT gateway and no interface
endpoint for Secrets Manager, the function cannot call the API and stops after its 30 second timeout.

## Fix

Add the secretsmanager interface endpoint to the subnets of the rotation function.
"""

QUEUE = """---
title: Messages come back to the SQS queue again and again
url: https://help.example.com/articles/sqs-visibility
---

A consumer that takes longer than the visibility timeout lets the message become visible again, and a
second consumer receives it. Raise the visibility timeout to six times the function timeout.
"""

PAGE = """<!DOCTYPE html><html><head><title>Invalidate the CloudFront cache</title>
<link rel="canonical" href="https://help.example.com/articles/cloudfront-invalidate">
<meta name="kb:product" content="Amazon CloudFront"><meta name="kb:updated" content="2026-10-02">
</head><body><nav>Home | Products | Sign in</nav>
<article><h1>Invalidate the CloudFront cache</h1>
<p>After a deployment, old files stay cached until their TTL ends. Create an invalidation for
<code>/index.html</code> to serve the new version at once.</p></article>
<footer>Copyright Example Ltd</footer></body></html>
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_html_metadata_comes_from_the_head_and_text_from_the_article_only(tmp_path: Path) -> None:
    doc = read_document(_write(tmp_path, "invalidate.html", PAGE))

    assert doc.title == "Invalidate the CloudFront cache"
    assert doc.uri == "https://help.example.com/articles/cloudfront-invalidate"
    assert doc.products == ("Amazon CloudFront",) and doc.updated == "2026-10-02"
    assert "Create an invalidation" in doc.text
    assert "Sign in" not in doc.text and "Copyright" not in doc.text


def test_a_file_without_a_link_needs_a_base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMS_KB_BASE_URL", raising=False)
    path = _write(tmp_path, "vpn-drops.txt", "The VPN tunnel drops every hour: check the DPD timeout.\n")

    with pytest.raises(ConfigurationError, match=r"vpn-drops\.txt.*--base-url"):
        read_document(path)
    doc = read_document(path, "https://wiki.example.com/kb/")
    assert doc.uri == "https://wiki.example.com/kb/vpn-drops"


def test_a_file_too_large_or_not_utf8_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from contract import defaults
    from tools.cli import main

    latin1 = tmp_path / "cafe-wifi.txt"
    latin1.write_bytes("url: x\nCaf\xe9 Wi-Fi drops every hour.".encode("latin-1"))
    with pytest.raises(ConfigurationError, match=r"cafe-wifi\.txt: not UTF-8 text .*save it as UTF-8"):
        read_document(latin1, "https://wiki.example.com/kb/")
    export = _write(tmp_path, "export.md", "# Everything\n" + "x" * defaults.KB_DOCUMENT_MAX_BYTES)
    with pytest.raises(ConfigurationError, match=r"export\.md: .* bytes, over the 1,000,000 .*split it"):
        read_document(export, "https://wiki.example.com/kb/")

    # Through the command: one line naming the file, exit 2, no traceback
    assert main(["kb", "ingest", str(latin1), "--base-url", "https://wiki.example.com/kb/"]) == 2
    err = capsys.readouterr().err
    assert "cafe-wifi.txt: not UTF-8 text" in err and "Traceback" not in err


@pytest.fixture
def stack(offline_aws: None, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A bucket on moto that `tms` commands resolve as the running stack."""
    from contract.clients import aws_client
    from local import stack as local_stack

    aws_client("s3", region="us-east-1").create_bucket(Bucket="tms-kb-test")
    info = SimpleNamespace(bucket_name="tms-kb-test", endpoint_url=None, region="us-east-1")
    monkeypatch.setattr(local_stack, "resolve", lambda *a, **k: info)
    return info


def _tms(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    from tools.cli import main

    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ingest_search_list_and_remove_through_tms_kb(
    stack: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "help"
    folder.mkdir()
    _write(folder, "rotation-timeout.md", ROTATION)
    queue = _write(folder, "sqs-visibility.md", QUEUE)
    _write(folder, "cloudfront-invalidate.html", PAGE)

    report = _tms(capsys, "kb", "ingest", str(folder))
    assert sorted(report["added"]) == ["cloudfront-invalidate", "rotation-timeout", "sqs-visibility"]

    found = _tms(capsys, "kb", "search", "our secret rotation lambda keeps timing out after 30s")
    assert found["hits"][0]["uri"] == "https://help.example.com/articles/rotation-timeout"
    assert found["hits"][0]["score"] > found["hits"][1]["score"]
    assert all(h["uri"].startswith("https://") for h in found["hits"])
    # What the draft step would cite: the gate decides per article; the CDN article is not cited.
    assert found["relevance"] == found["hits"][0]["relevance"]
    assert found["hits"][-1]["uri"].endswith("cloudfront-invalidate") and found["hits"][-1]["used"] is False

    # A changed file replaces its passages: the old advice is no longer retrievable.
    queue.write_text(QUEUE.replace("six times the function timeout", "the longest batch time plus a minute"))
    again = _tms(capsys, "kb", "ingest", str(folder))
    assert again["replaced"] == ["sqs-visibility"] and len(again["unchanged"]) == 2
    hit = _tms(capsys, "kb", "search", "sqs messages delivered twice", "-k", "1")["hits"][0]
    assert "plus a minute" in hit["text"] and "six times" not in hit["text"]

    # A file gone from the folder is gone from the knowledge base on the folder's re-ingest.
    queue.unlink()
    assert _tms(capsys, "kb", "ingest", str(folder))["removed"] == ["sqs-visibility"]
    listed = _tms(capsys, "kb", "list")["documents"]
    assert [d["doc_id"] for d in listed] == ["cloudfront-invalidate", "rotation-timeout"]

    assert _tms(capsys, "kb", "remove", "https://help.example.com/articles/cloudfront-invalidate") == {
        "removed": ["cloudfront-invalidate"]
    }
    assert [d["doc_id"] for d in _tms(capsys, "kb", "list")["documents"]] == ["rotation-timeout"]


def test_the_knowledge_base_is_read_back_by_another_process(stack: SimpleNamespace, tmp_path: Path) -> None:
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    s3 = aws_client("s3", region="us-east-1")
    writer = S3KnowledgeBase(stack.bucket_name, s3, embedder())
    writer.ingest([read_document(_write(tmp_path, "rotation-timeout.md", ROTATION))])

    reader = S3KnowledgeBase(stack.bucket_name, s3, embedder())
    assert [d.doc_id for d in reader.documents()] == ["rotation-timeout"]
    hits = reader.search("rotation of my database secret times out")
    assert hits[0].doc_id == "rotation-timeout" and hits[0].passage.passage_id.startswith("rotation-timeout#")

    assert reader.remove([str(tmp_path)]) == ["rotation-timeout"]
    assert writer.search("rotation of my database secret times out") == []


def test_a_warm_draft_function_sees_a_new_ingest_after_the_refresh_interval_with_one_head_per_interval(
    stack: SimpleNamespace, tmp_path: Path
) -> None:
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    s3 = aws_client("s3", region="us-east-1")
    now = [1000.0]
    # The draft function's view: checks the ETag at most every 60 s (the operator's `tms kb ingest` is `writer`).
    drafts = S3KnowledgeBase(stack.bucket_name, s3, embedder(), refresh_seconds=60, clock=lambda: now[0])
    writer = S3KnowledgeBase(stack.bucket_name, s3, embedder())
    question = "rotation of my database secret times out"

    assert drafts.search(question) == [] and drafts.reads == 1  # no index yet: one HEAD, no grounding
    writer.ingest([read_document(_write(tmp_path, "rotation-timeout.md", ROTATION))])

    now[0] += 30  # within the interval: the ingest is not seen yet, and S3 is not asked again
    assert drafts.search(question) == [] and drafts.reads == 1

    now[0] += 31  # past it: one HEAD sees a new ETag, one GET reads the index
    assert drafts.search(question)[0].doc_id == "rotation-timeout"
    assert drafts.reads == 3

    for _ in range(5):  # more tickets inside the next interval cost no request at all
        now[0] += 5
        drafts.search(question)
    assert drafts.reads == 3

    now[0] += 60  # unchanged index: the HEAD alone, the index is not read again
    drafts.search(question)
    assert drafts.reads == 4

    writer.remove(["rotation-timeout"])
    now[0] += 61
    assert drafts.search(question) == []  # a removed document stops grounding drafts within the interval


def test_the_refresh_interval_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contract import names
    from contract.errors import ConfigurationError
    from pipeline.adapters.knowledge_store import draft_knowledge_base

    monkeypatch.setenv(names.ENV_KB_PROVIDER, "s3")
    monkeypatch.setenv(names.ENV_BUCKET_NAME, "tms-kb-test")
    monkeypatch.setenv(names.ENV_KB_REFRESH_SECONDS, "soon")
    draft_knowledge_base.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=f"{names.ENV_KB_REFRESH_SECONDS}.*'soon'"):
            draft_knowledge_base()
    finally:
        draft_knowledge_base.cache_clear()


def test_ingest_into_a_deployed_stack_with_the_offline_embedder_is_refused_before_anything_is_written(
    offline_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from contract import names
    from contract.clients import aws_client
    from tools.cli import main

    # The deployed stack's TMS_* variables (docs/knowledge-base.md "On AWS"), no local endpoint.
    s3 = aws_client("s3", region="us-east-1")
    s3.create_bucket(Bucket="tms-archive-deployed")
    monkeypatch.setenv(names.ENV_STREAM_NAME, "tms-tickets")
    monkeypatch.setenv(names.ENV_BUCKET_NAME, "tms-archive-deployed")
    monkeypatch.delenv(names.ENV_EMBEDDING_PROVIDER, raising=False)
    path = _write(tmp_path, "rotation-timeout.md", ROTATION)

    assert main(["kb", "ingest", str(path)]) == 2

    err = capsys.readouterr().err
    assert f"{names.ENV_EMBEDDING_PROVIDER}=bedrock" in err and "tms-archive-deployed" in err
    assert "Contents" not in s3.list_objects_v2(Bucket="tms-archive-deployed")  # no offline index written


def test_remove_of_an_unknown_document_says_nothing_matched(
    stack: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.cli import main

    assert main(["kb", "remove", "no-such-article"]) == 1
    assert "nothing matched" in capsys.readouterr().out


def test_tms_eval_reports_retrieval_against_a_truth_file(
    stack: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "help"
    folder.mkdir()
    _write(folder, "rotation-timeout.md", ROTATION)
    _write(folder, "sqs-visibility.md", QUEUE)
    _write(folder, "cloudfront-invalidate.html", PAGE)
    _tms(capsys, "kb", "ingest", str(folder))
    truth = tmp_path / "truth.jsonl"
    rows = [
        {
            "subject": "rotation broken",
            "description": "the lambda that rotates our db password dies after 30 seconds every night",
            "answer": "rotation-timeout.md",
        },
        {
            "subject": "same order processed twice",
            "description": "our worker picks up one queue message and a minute later another worker gets it too",
            "answer": "https://help.example.com/articles/sqs-visibility",
        },
        {
            "subject": "invoice question",
            "description": "Why did our support plan charge go up in November? We did not change anything.",
            "answer": None,
        },
    ]
    truth.write_text("".join(json.dumps(r) + "\n" for r in rows))

    report = _tms(capsys, "eval", "--kb-truth", str(truth))

    assert report["answerable"] == 2 and report["unanswerable"] == 1
    assert report["recall@3"] == 1.0 and report["mrr"] == 1.0
    assert report["suggested_bias"] is not None and 0 <= report["grounded"] <= 1


def test_a_truth_line_without_an_answer_field_is_named(tmp_path: Path) -> None:
    from tools.kb_eval import read_truth

    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"subject": "a", "description": "b", "answer": null}\n{"subject": "c"}\n')

    with pytest.raises(ConfigurationError, match=r"truth\.jsonl:2: needs subject, description and answer"):
        read_truth(truth)
