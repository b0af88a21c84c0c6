"""The S3 knowledge-base adapter as the draft function meets it on AWS: it may GET kb/* and nothing else."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from contract.errors import ConfigurationError
from pipeline.adapters.knowledge_store import S3KnowledgeBase


class OnlyGetUnderKb:
    """S3 as IAM shows it to a role with s3:GetObject on kb/* and no s3:ListBucket: a missing key is a 403."""

    def __init__(self, code: str = "403") -> None:
        self.code = code

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.code, "Message": "Forbidden"}}, "HeadObject")

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("an absent index is never read")


class CountingEmbedder:
    model_id = "amazon.titan-embed-text-v2:0"

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.ones((len(texts), 4), dtype=np.float32)


def test_no_index_yet_on_aws_means_drafts_are_not_grounded_and_nothing_is_embedded() -> None:
    embedder = CountingEmbedder()
    kb = S3KnowledgeBase("tms-archive", OnlyGetUnderKb(), embedder, refresh_seconds=60)

    assert kb.search("our rotation lambda times out") == []
    assert kb.documents() == []
    assert embedder.calls == 0  # an empty knowledge base costs no Titan call


def test_any_other_s3_error_is_not_mistaken_for_an_absent_index() -> None:
    kb = S3KnowledgeBase("tms-archive", OnlyGetUnderKb(code="SlowDown"), CountingEmbedder())

    with pytest.raises(ClientError, match="SlowDown"):
        kb.search("our rotation lambda times out")


class OneObject:
    """S3 holding one index object, as `tms kb ingest` left it."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        return {"ETag": '"1"'}

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        return {"ETag": '"1"', "Body": io.BytesIO(self.body)}


def _offline_index() -> bytes:
    from pipeline.adapters.knowledge_store import _encode

    passage = {"id": "vpn#0", "heading": "", "text": "Check the DPD timeout.", "vector": _encode(np.ones(4))}
    doc = {
        "title": "VPN drops",
        "uri": "https://help.example.com/vpn",
        "origin": "/kb/vpn.md",
        "passages": [passage],
    }
    return json.dumps(
        {"format": 1, "model_id": "offline:all-MiniLM-L6-v2", "documents": {"vpn": doc}}
    ).encode()


def test_an_index_of_another_embedder_leaves_the_draft_ungrounded_but_stops_the_cli() -> None:
    embedder = CountingEmbedder()
    drafts = S3KnowledgeBase("tms-archive", OneObject(_offline_index()), embedder, strict=False)
    cli = S3KnowledgeBase("tms-archive", OneObject(_offline_index()), embedder)

    # The draft function: the ticket is drafted without sources instead of failing the workflow.
    assert drafts.search("the vpn tunnel drops every hour") == []
    assert embedder.calls == 0
    with pytest.raises(ConfigurationError, match=r"embedded with offline:all-MiniLM-L6-v2.*tms kb ingest"):
        cli.search("the vpn tunnel drops every hour")


class WritableObject(OneObject):
    """The one index object, rewritable as `tms kb ingest` does."""

    def put_object(self, *, Body: bytes, **_: Any) -> None:  # boto3's argument names
        self.body = Body


class TitanShapedEmbedder(CountingEmbedder):
    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.tile(np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))


def test_an_index_written_before_sentence_vectors_is_searched_then_upgraded_by_the_next_ingest() -> None:
    old = json.loads(_offline_index())
    old["model_id"] = CountingEmbedder.model_id
    old["documents"]["vpn"]["passages"][0]["text"] = "The tunnel drops hourly. Check the DPD timeout."
    s3 = WritableObject(json.dumps(old).encode())
    kb = S3KnowledgeBase("tms-archive", s3, TitanShapedEmbedder())

    # Format 1: no sentence vectors yet, so each sentence scores like its passage (drafts still ground).
    (hit,) = kb.search("the vpn tunnel drops every hour")
    assert [s.text for s in hit.sentences] == ["The tunnel drops hourly.", "Check the DPD timeout."]
    assert all(s.score == pytest.approx(hit.score) for s in hit.sentences)

    kb.ingest([])  # any ingest re-embeds an older index

    stored = json.loads(s3.body)
    assert stored["format"] == 2
    passage = stored["documents"]["vpn"]["passages"][0]
    assert passage["sentences"] == ["The tunnel drops hourly.", "Check the DPD timeout."]
    assert "sentence_vectors" in passage
