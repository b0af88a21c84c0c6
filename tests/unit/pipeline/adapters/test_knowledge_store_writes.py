"""Writes to kb/index.json (issue 30.2): the one object has several writers (precedents from the lifecycle
function, `tms kb ingest/remove`, the prune), so each write is conditional on the ETag it read and a writer
that loses re-reads and re-applies its own change; and documents past their `expires_at` are never
retrieved and leave the object with the next write. S3 is moto in-process, with the local stack's patch that
makes a conditional put atomic as on S3."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contract import defaults
from contract.errors import KnowledgeBaseConflictError
from local.moto import emulation, patching
from pipeline.adapters.knowledge_store import INDEX_KEY, S3KnowledgeBase
from pipeline.domain.knowledge import Document
from tests.fakes.embedders import WordEmbedder

BUCKET = "tms-kb-writes"
NOW = 1_800_000_000.0


def _doc(doc_id: str, title: str, text: str, expires_at: int | None = None) -> Document:
    return Document(
        doc_id=doc_id,
        title=title,
        uri=f"https://help.example.com/{doc_id}",
        origin=f"/help/{doc_id}.md" if expires_at is None else f"precedent:{doc_id}",
        text=text,
        expires_at=expires_at,
    )


VPN = _doc(
    "vpn-dpd", "Site-to-site VPN drops every hour", "Raise the DPD timeout to 30 seconds on your router."
)
RDS = _doc("rds-storage", "RDS instance stuck in storage-full", "Enable storage autoscaling, then reboot.")
LAMBDA = _doc("lambda-timeout", "Rotation Lambda times out", "Give the rotation function a VPC endpoint.")


@pytest.fixture
def s3(offline_aws: None) -> Iterator[Any]:
    from contract.clients import aws_client

    client = aws_client("s3", region="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    with patching.applied(emulation.S3_CONDITIONAL_PUTS):
        yield client


def _kb(s3: Any, now: float = NOW) -> S3KnowledgeBase:
    return S3KnowledgeBase(BUCKET, s3, WordEmbedder(), now=lambda: now)


def _stored(s3: Any) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(s3.get_object(Bucket=BUCKET, Key=INDEX_KEY)["Body"].read())
    return stored["documents"]


class BeforeEachPut:
    """S3 whose every PutObject first runs `before` (another writer acting between this one's read and
    its write), then puts as asked."""

    def __init__(self, s3: Any, before: Callable[[], object]) -> None:
        self._s3, self._before = s3, before
        self.puts: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def put_object(self, **kwargs: Any) -> Any:
        self._before()
        self.puts.append({k: v for k, v in kwargs.items() if k.startswith("If")})
        return self._s3.put_object(**kwargs)


def test_two_writers_adding_a_document_at_once_both_land_in_the_index(s3: Any) -> None:
    # Given two writers (the lifecycle function and an operator's ingest) that both read "no index yet"
    both_read = threading.Barrier(2)

    def first_put_waits_for_the_other() -> Callable[[], None]:
        waited: list[bool] = []

        def before() -> None:
            if not waited:
                waited.append(True)
                both_read.wait(timeout=10)

        return before

    writers = [_kb(BeforeEachPut(s3, first_put_waits_for_the_other())) for _ in range(2)]
    errors: list[BaseException] = []

    def add(kb: S3KnowledgeBase, doc: Document) -> None:
        try:
            kb.ingest([doc])
        except BaseException as e:
            errors.append(e)

    # When each adds its own document at the same moment
    threads = [threading.Thread(target=add, args=(kb, d)) for kb, d in zip(writers, (VPN, RDS), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # Then both documents are in the index and the one that lost the first put re-read and wrote again
    assert not errors
    assert set(_stored(s3)) == {VPN.doc_id, RDS.doc_id}
    assert sorted(kb.conflicts for kb in writers) == [0, 1]
    # The first writes said "only if there is no index yet": one of them was refused
    first_conditions = [kb._s3.puts[0] for kb in writers]  # type: ignore[attr-defined]
    assert first_conditions == [{"IfNoneMatch": "*"}] * 2
    assert {VPN.doc_id, RDS.doc_id} == {h.doc_id for h in _kb(s3).search("vpn rds storage dpd", k=5)}


def test_a_precedent_written_while_an_ingest_runs_is_not_lost(s3: Any) -> None:
    # Given the team's articles, and an ingest that has read the index and embedded its document
    _kb(s3).ingest([VPN])
    precedent = _doc(
        "precedent-TKT-1", "resolved TKT-1: rotation fails", "Add a VPC endpoint.", int(NOW) + 3600
    )
    lifecycle = _kb(s3)
    fired: list[bool] = []

    def precedent_lands_first() -> None:
        if not fired:
            fired.append(True)
            lifecycle.ingest([precedent])

    operator = _kb(BeforeEachPut(s3, precedent_lands_first))

    # When the precedent is written between the ingest's read and its write
    report = operator.ingest([LAMBDA])

    # Then the ingest's If-Match is refused (412), it re-reads and re-applies: nothing is lost
    assert operator.conflicts == 1
    assert report.added == [LAMBDA.doc_id]
    assert set(_stored(s3)) == {VPN.doc_id, LAMBDA.doc_id, precedent.doc_id}
    conditions = operator._s3.puts  # type: ignore[attr-defined]
    assert len(conditions) == 2 and all(set(c) == {"IfMatch"} for c in conditions)
    assert conditions[0]["IfMatch"] != conditions[1]["IfMatch"]


def test_a_writer_that_loses_every_attempt_gives_up_with_a_typed_error_and_changes_nothing(s3: Any) -> None:
    _kb(s3).ingest([VPN])
    other = _kb(s3)
    rival_docs = iter([RDS, LAMBDA, *(_doc(f"note-{n}", f"Note {n}", f"Text {n}.") for n in range(10))])
    loser = _kb(BeforeEachPut(s3, lambda: other.ingest([next(rival_docs)])))

    with pytest.raises(KnowledgeBaseConflictError, match=f"{defaults.KB_WRITE_ATTEMPTS} writes"):
        loser.remove([VPN.doc_id])

    assert loser.conflicts == defaults.KB_WRITE_ATTEMPTS
    assert VPN.doc_id in _stored(s3)  # the remove was not made, and every rival write is there
    assert {RDS.doc_id, LAMBDA.doc_id} <= set(_stored(s3))


def test_an_expired_precedent_is_not_retrieved_and_is_gone_after_the_prune(s3: Any) -> None:
    # Given a precedent whose ticket's retention ends at NOW + 60, beside an article that never expires
    query = "rotation lambda times out in a vpc"
    expiring = _doc(
        "precedent-TKT-2", "resolved TKT-2: rotation Lambda times out", LAMBDA.text, int(NOW) + 60
    )
    _kb(s3).ingest([VPN, expiring])
    assert _kb(s3).search(query)[0].doc_id == expiring.doc_id

    # When its retention has passed
    later = _kb(s3, now=NOW + 61)

    # Then it is no longer retrieved, even before anything rewrote the index
    assert [h.doc_id for h in later.search(query)] == [VPN.doc_id]
    assert expiring.doc_id in _stored(s3)
    # And the prune (or any later write) takes it out of the object
    assert later.prune() == [expiring.doc_id]
    assert set(_stored(s3)) == {VPN.doc_id}
    assert later.prune() == []


def test_any_write_drops_the_expired_documents_too(s3: Any) -> None:
    expiring = _doc("precedent-TKT-3", "resolved TKT-3: DPD", VPN.text, int(NOW) + 60)
    _kb(s3).ingest([VPN, expiring])

    report = _kb(s3, now=NOW + 3600).ingest([RDS])

    assert report.added == [RDS.doc_id] and report.removed == [expiring.doc_id]
    assert set(_stored(s3)) == {VPN.doc_id, RDS.doc_id}


def test_a_document_already_past_its_expiry_is_not_stored(s3: Any) -> None:
    # A ticket resolved after its expires_at (DynamoDB TTL deletes days late): its precedent is not kept
    late = _doc("precedent-TKT-4", "resolved TKT-4: RDS storage", RDS.text, int(NOW) - 1)

    report = _kb(s3).ingest([VPN, late])

    assert report.added == [VPN.doc_id]
    assert set(_stored(s3)) == {VPN.doc_id}
