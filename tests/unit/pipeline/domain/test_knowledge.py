"""The knowledge base's pure parts: cutting documents into passages, ranking documents, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from contract import defaults
from contract.errors import ConfigurationError
from pipeline.domain.knowledge import Document, chunk, rank, relevance_gate

GUIDE = """# Rotating the database password

Open the console and pick the cluster. The password field is under Configuration.

## When the rotation Lambda times out

The rotation function runs in the VPC. Without a NAT gateway or an endpoint for Secrets Manager it
cannot reach the API and times out after 30 seconds.

Add the com.amazonaws.region.secretsmanager interface endpoint to the function's subnets.
"""


def _doc(text: str = GUIDE, doc_id: str = "rotate") -> Document:
    return Document(
        doc_id=doc_id, title="Rotation", uri="https://help.example.com/rotate", origin="/kb/r.md", text=text
    )


def test_passages_start_at_each_heading_and_keep_it() -> None:
    passages = chunk(_doc())

    assert [p.heading for p in passages] == [
        "Rotating the database password",
        "When the rotation Lambda times out",
    ]
    assert "NAT gateway" in passages[1].text and "interface endpoint" in passages[1].text
    assert passages[1].passage_id == "rotate#1"
    assert passages[1].embedding_text("Rotation").startswith("Rotation: When the rotation Lambda")


def test_a_paragraph_longer_than_a_passage_is_cut_at_sentence_ends() -> None:
    sentences = [f"Step {n} of the long runbook tells you to check setting number {n}." for n in range(40)]
    passages = chunk(_doc(" ".join(sentences)), max_chars=300)

    assert len(passages) > 5
    assert all(len(p.text) <= 300 for p in passages)
    assert all(p.text.endswith(".") for p in passages)
    assert " ".join(p.text for p in passages) == " ".join(sentences)


def test_a_document_link_must_be_https() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        Document(doc_id="x", title="x", uri="s3://bucket/kb/x.md", origin="/kb/x.md", text="x")


def test_rank_returns_each_document_once_with_its_best_passage() -> None:
    matrix = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], dtype=np.float32)
    docs = ["a", "a", "b", "c"]

    ranked = rank(np.array([0.8, 0.6], dtype=np.float32), matrix, docs, k=3)

    assert [docs[row] for row, _ in ranked] == ["a", "b", "c"]
    assert ranked[0][0] == 1 and ranked[0][1] == pytest.approx(1.0)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_every_embedding_model_has_its_own_relevance_gate_and_an_unknown_one_is_refused() -> None:
    assert (
        relevance_gate(defaults.OFFLINE_EMBEDDING_MODEL_ID)
        == defaults.KB_RELEVANCE_GATES[defaults.OFFLINE_EMBEDDING_MODEL_ID]
    )
    with pytest.raises(ConfigurationError, match="KB_RELEVANCE_GATES"):
        relevance_gate("cohere.embed-english-v3")
