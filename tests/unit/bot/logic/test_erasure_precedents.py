"""Customer erasure removes that customer's precedents (issue 30.2) from the knowledge base: from the current
kb/index.json and from every older version of it on the versioned bucket, leaving the team's articles and
other customers' precedents retrievable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.adapters.erasure import S3ObjectVersions
from bot.logic.erasure import KnowledgeBaseEraser
from contract import erasure, names
from contract.erasure import Subject, Target
from contract.models import PiiResult
from local.pii import detect_pii_entities
from pipeline.domain.precedents import precedent_id, record_precedent
from tools.kb import read_document

KB = Path(__file__).resolve().parents[4] / "examples" / "kb"
BASE = "https://support.example.com/tickets"
BUCKET = "tms-erase-kb"
ERASED = "TKT-20261201-ERASEME001"
KEPT = "TKT-20261202-KEEPME0002"


class OfflinePii:
    def detect(self, text: str) -> PiiResult:
        return PiiResult.model_validate(detect_pii_entities(text, "en"))


def _resolved(ticket_id: str, subject: str, description: str, reply: str, email: str) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "status": "RESOLVED",
        "subject": subject,
        "description": description,
        "response_text": reply,
        "sent_at": "2026-12-02T09:00:00.000Z",
        "customer_email": email,
    }


@pytest.fixture
def world(offline_aws: None) -> tuple[Any, Any]:
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    s3 = aws_client("s3", region="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    kb = S3KnowledgeBase(BUCKET, s3, embedder())
    kb.ingest([read_document(KB / "s3-403-access-denied-bucket-policy.md")])
    for tid, subject, description, reply, email in (
        (
            ERASED,
            "Athena query on our CloudTrail logs times out",
            "Every Athena query over last month's CloudTrail table runs 30 minutes and is cancelled.",
            "Partition the table by day with partition projection so a query reads only the days it names.",
            "lena.fischer@alpine-logistics.example",
        ),
        (
            KEPT,
            "Lambda cannot reach RDS after moving it into the VPC",
            "Since we put the function in private subnets its connections to the database time out.",
            "Allow the function's security group in the database security group's inbound rules on 5432.",
            "tom.okafor@harbourline.example",
        ),
    ):
        old = _resolved(tid, subject, description, reply, email) | {"status": "SENT"}
        record_precedent(_resolved(tid, subject, description, reply, email), old, kb, OfflinePii(), BASE)
    return kb, s3


def test_erasure_removes_the_customers_precedents_and_every_index_version_that_held_them(world) -> None:
    kb, s3 = world
    objects = S3ObjectVersions(BUCKET, s3)
    target = Target(Subject("lena.fischer@alpine-logistics.example"), ticket_ids=frozenset({ERASED}))

    changed = KnowledgeBaseEraser(objects).erase(target)

    assert changed[erasure.KB_PRECEDENTS] >= 2  # the document, and the older index versions quoting it
    ids = {d.doc_id for d in kb.documents()}
    assert precedent_id(ERASED) not in ids
    assert {precedent_id(KEPT), "s3-403-access-denied-bucket-policy"} <= ids
    assert kb.search("Athena query over CloudTrail logs is cancelled after 30 minutes")[0].doc_id != (
        precedent_id(ERASED)
    )
    for v in objects.versions(names.KB_INDEX_KEY):
        assert "partition projection" not in objects.read(v).decode()  # no version still quotes the reply
    assert KnowledgeBaseEraser(objects).erase(target) == {erasure.KB_PRECEDENTS: 0}  # a second run: nothing


def test_a_customer_without_precedents_changes_nothing(world) -> None:
    _, s3 = world
    objects = S3ObjectVersions(BUCKET, s3)
    before = [v.version_id for v in objects.versions(names.KB_INDEX_KEY)]

    target = Target(Subject("nobody@example.com"), ticket_ids=frozenset({"TKT-20261203-NOPREC0003"}))
    assert KnowledgeBaseEraser(objects).erase(target) == {erasure.KB_PRECEDENTS: 0}
    assert [v.version_id for v in objects.versions(names.KB_INDEX_KEY)] == before


class PrecedentLandsBeforeTheRewrite(S3ObjectVersions):
    """The archive bucket while the lifecycle function adds a precedent between the eraser's read of the
    index and its rewrite."""

    def __init__(self, bucket: str, client: Any, land: Any) -> None:
        super().__init__(bucket, client)
        self._land = land
        self.refused = 0

    def put_if_unchanged(self, key: str, body: bytes, etag: str) -> bool:
        if self._land is not None:
            land, self._land = self._land, None
            land()
        written = super().put_if_unchanged(key, body, etag)
        self.refused += not written
        return written


def test_a_precedent_added_while_erasure_rewrites_the_index_is_kept_and_the_erased_one_still_goes(
    world,
) -> None:
    kb, s3 = world
    newcomer = "TKT-20261205-NEWCOMER05"
    resolved = _resolved(
        newcomer,
        "CloudFront serves a stale index.html after deploy",
        "We upload a new build to S3 but CloudFront keeps serving yesterday's index.html for hours.",
        "Create an invalidation for /index.html after each deploy, or give it a short Cache-Control max-age.",
        "sam.ortiz@brightwave.example",
    )
    objects = PrecedentLandsBeforeTheRewrite(
        BUCKET,
        s3,
        lambda: record_precedent(resolved, resolved | {"status": "SENT"}, kb, OfflinePii(), BASE),
    )
    target = Target(Subject("lena.fischer@alpine-logistics.example"), ticket_ids=frozenset({ERASED}))

    KnowledgeBaseEraser(objects).erase(target)

    assert (
        objects.refused == 1
    )  # the first rewrite was refused (412): the index had changed since it was read
    ids = {d.doc_id for d in kb.documents()}
    assert precedent_id(ERASED) not in ids
    assert {precedent_id(newcomer), precedent_id(KEPT)} <= ids
    for v in objects.versions(names.KB_INDEX_KEY):
        assert "partition projection" not in objects.read(v).decode()
