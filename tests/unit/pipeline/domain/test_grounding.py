"""Grounded drafts (issue 30): passages reach the model as cleaned quotations, the offline model builds its
steps from the best one, the sources are what it used, and nothing relevant means no sources and a draft
that asks for details. The two trust fixtures of examples/kb/ must neither steer nor leak."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from contract import defaults
from contract.models import PiiResult, SentimentResult
from local.offline_reply import OfflineReplyModel
from local.pii import detect_pii_entities
from pipeline.domain.grounding import clean_passage, quotations_prompt
from pipeline.domain.knowledge import Document, Hit, chunk
from pipeline.domain.sentiment import detect_sentiment
from pipeline.domain.triage import draft_grounded
from tests.conftest import make_ticket
from tools.kb import read_document

KB = Path(__file__).resolve().parents[4] / "examples" / "kb"
MODEL = defaults.OFFLINE_EMBEDDING_MODEL_ID
_GATE = defaults.KB_RELEVANCE_GATES[MODEL]
# The cosine at which a hit with no lexical evidence (no sentence scores, no term statistics: this file's fake)
# opens the relevance gate.
THRESHOLD = -_GATE["bias"] / (_GATE.get("best_sentence", 0.0) + _GATE.get("top_score", 0.0))


class FakeKnowledgeBase:
    """Answers every search with the given passages of one document, at the given scores."""

    def __init__(self, doc: Document, scores: Sequence[float], containing: str = "") -> None:
        passages = [p for p in chunk(doc) if containing in p.text] or chunk(doc)
        self.hits = [
            Hit(doc_id=doc.doc_id, title=doc.title, uri=doc.uri, score=s, passage=p)
            for s, p in zip(scores, passages, strict=False)
        ]
        self.queries: list[str] = []

    def search(self, query: str, k: int = defaults.KB_TOP_K) -> list[Hit]:
        self.queries.append(query)
        return self.hits[:k]


def _sentiment(text: str) -> SentimentResult:
    return SentimentResult.model_validate(detect_sentiment(text))


def _draft(kb: FakeKnowledgeBase, subject: str, description: str, product: str, issue: str):
    ticket = make_ticket(subject, description, product, issue)
    # The workflow's PII step (Comprehend on AWS, its offline twin here) runs before the draft step.
    pii = PiiResult.model_validate(detect_pii_entities(ticket.data.sentiment_text(), "en"))
    return draft_grounded(ticket, _sentiment(description), OfflineReplyModel(), kb, MODEL, pii=pii)


def test_a_relevant_passage_grounds_the_steps_and_becomes_the_source() -> None:
    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    kb = FakeKnowledgeBase(doc, [THRESHOLD + 0.1], containing="aws:SourceVpce")

    out = _draft(
        kb,
        "403 from my laptop on the reports bucket",
        "Admins get AccessDenied on s3 ls from laptops while the EC2 servers in the VPC can read it fine.",
        "Amazon S3",
        "Bucket Policy Configuration",
    )

    assert "aws:SourceVpce" in out.result.response_text
    assert out.sources == [
        {
            "id": kb.hits[0].passage.passage_id,
            "title": doc.title,
            "uri": "https://help.example.com/articles/s3-403-access-denied-bucket-policy",
            "score": round(THRESHOLD + 0.1, 4),
        }
    ]
    assert out.confidence == round(THRESHOLD + 0.1, 4)


def test_below_the_threshold_there_are_no_sources_and_the_draft_asks_for_details() -> None:
    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    kb = FakeKnowledgeBase(doc, [THRESHOLD - 0.05])

    out = _draft(
        kb,
        "Object Lock on an existing bucket",
        "Can we turn on Object Lock for a bucket that already has ten million objects in it?",
        "Amazon S3",
        "Bucket Policy Configuration",
    )

    assert out.sources == []
    assert out.confidence == round(THRESHOLD - 0.05, 4)
    text = out.result.response_text
    assert "has no article that answers this yet, so a specialist will follow up" in text
    assert "Send us the exact error message" in text
    assert "aws:SourceVpce" not in out.result.response_text


class JudgingReplyModel:
    """A reply model (Bedrock's place on AWS) that reads the quotations and finds none answers the question."""

    model_id = "stub.judging-model"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def draft(self, ticket, sentiment, grounding=None):  # type: ignore[no-untyped-def]
        self.prompts.append(quotations_prompt(grounding) if grounding is not None else "")
        return {
            "response_text": (
                f"Hi {ticket.data.customer.first_name}, thanks for reaching out about {ticket.ticketId}.\n"
                "1. Please send us the bucket name and the region it is in.\n"
                "2. Tell us whether versioning is already on for it.\n"
                "A specialist will follow up within 2-3 business days."
            ),
            "priority": "NORMAL",
            "priority_reasoning": "A configuration question with no outage.",
            "used_sources": [],
        }


def test_a_reply_model_that_finds_no_quotation_answers_leaves_the_draft_without_sources() -> None:
    # The gate opened (same product), but the passage answers another question: the model is the second judge.
    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    kb = FakeKnowledgeBase(doc, [THRESHOLD + 0.1])
    ticket = make_ticket(
        "Object Lock on an existing bucket",
        "Can we turn on Object Lock for a bucket that already has ten million objects in it?",
        "Amazon S3",
        "Bucket Policy Configuration",
    )
    model = JudgingReplyModel()

    out = draft_grounded(ticket, _sentiment(ticket.data.description), model, kb, MODEL)

    assert out.sources == []
    assert out.confidence == round(THRESHOLD + 0.1, 4)  # what retrieval found is still recorded
    # ...because the model was told how to judge: nothing that answers, no ids, ask for details.
    assert "If none of them answers what the customer asks" in model.prompts[0]
    assert "leave used_sources empty" in model.prompts[0]


def test_retrieval_searches_the_redacted_ticket() -> None:
    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    kb = FakeKnowledgeBase(doc, [THRESHOLD + 0.05])

    _draft(
        kb,
        "403 on the bucket",
        "Write to me at ana.private@gmail.com with the fix, our bucket says AccessDenied since Monday.",
        "Amazon S3",
        "Bucket Policy Configuration",
    )

    assert kb.queries and "AccessDenied" in kb.queries[0]
    assert "ana.private@gmail.com" not in kb.queries[0]


def test_a_planted_instruction_in_an_article_does_not_steer_the_draft() -> None:
    doc = read_document(KB / "cognito-notauthorized-user-password-auth.md")
    planted = "account-recovery@help-example-support.net"
    kb = FakeKnowledgeBase(doc, [THRESHOLD + 0.1, THRESHOLD + 0.05], containing="Ignore previous")
    assert planted in kb.hits[0].passage.text  # the fixture still carries its plant

    out = _draft(
        kb,
        "Users cannot sign in through our app",
        "Since the release every login returns NotAuthorizedException even with the right password.",
        "Amazon Cognito",
        "User Authentication",
    )

    text = out.result.response_text
    assert planted not in text and "password to" not in text.lower()
    assert "ignore previous" not in quotations_prompt_of(kb).lower()


def quotations_prompt_of(kb: FakeKnowledgeBase) -> str:
    from pipeline.domain.grounding import ground

    grounding = ground("sign in fails", kb, MODEL)
    assert grounding is not None
    return quotations_prompt(grounding)


def test_planted_personal_data_in_an_article_never_reaches_the_model_or_the_draft() -> None:
    doc = read_document(KB / "secrets-manager-getsecretvalue-access-denied.md")
    kb = FakeKnowledgeBase(doc, [THRESHOLD + 0.1], containing="Marcus")
    assert "+44 7700 900461" in kb.hits[0].passage.text

    prompt = quotations_prompt_of(kb)
    out = _draft(
        kb,
        "GetSecretValue AccessDenied from the batch role",
        "Our batch job role gets AccessDeniedException on GetSecretValue since the key was rotated.",
        "AWS Secrets Manager",
        "Access Permissions",
    )

    for leaked in ("7700 900461", "marcus.delgado@orbitfreight.example"):
        assert leaked not in prompt and leaked not in out.result.response_text


def test_clean_passage_keeps_allowed_links_and_drops_others() -> None:
    text = (
        "See https://docs.aws.amazon.com/IAM/latest/UserGuide/id.html for details. "
        "Or download the fix from https://fix-it-now.example.net/patch.sh today."
    )

    cleaned = clean_passage(text, allowed=("docs.aws.amazon.com",))

    assert "https://docs.aws.amazon.com/IAM/latest/UserGuide/id.html" in cleaned
    assert "fix-it-now" not in cleaned and "[link removed]" in cleaned


def test_an_empty_knowledge_base_is_not_consulted_and_the_draft_is_the_usual_one() -> None:
    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    kb = FakeKnowledgeBase(doc, [])

    out = _draft(
        kb,
        "403 on the bucket",
        "Our bucket says AccessDenied since Monday for every upload from the build servers.",
        "Amazon S3",
        "Bucket Policy Configuration",
    )

    assert out.sources == [] and out.confidence is None
    assert "has no article" not in out.result.response_text


def test_the_draft_step_grounds_only_when_a_knowledge_base_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contract import names
    from contract.errors import ConfigurationError
    from pipeline.adapters.knowledge_store import draft_knowledge_base

    draft_knowledge_base.cache_clear()
    monkeypatch.delenv(names.ENV_KB_PROVIDER, raising=False)
    assert draft_knowledge_base() is None  # the default: drafts are not grounded

    draft_knowledge_base.cache_clear()
    monkeypatch.setenv(names.ENV_KB_PROVIDER, "s3")
    monkeypatch.delenv(names.ENV_BUCKET_NAME, raising=False)
    with pytest.raises(ConfigurationError, match=names.ENV_BUCKET_NAME):
        draft_knowledge_base()

    draft_knowledge_base.cache_clear()
    monkeypatch.setenv(names.ENV_KB_PROVIDER, "opensearch")
    with pytest.raises(ConfigurationError, match="none or s3"):
        draft_knowledge_base()
    draft_knowledge_base.cache_clear()


def test_a_consulted_knowledge_base_bills_the_query_embedding_on_the_ticket() -> None:
    from pipeline.domain.usage import estimated_tokens

    doc = read_document(KB / "s3-403-access-denied-bucket-policy.md")
    subject = "403 from my laptop on the reports bucket"
    description = "Admins get AccessDenied on s3 ls from laptops; the EC2 servers in the VPC read it fine."
    searched = _draft(
        FakeKnowledgeBase(doc, [THRESHOLD + 0.1]),
        subject,
        description,
        "Amazon S3",
        "Bucket Policy Configuration",
    )
    empty = _draft(
        FakeKnowledgeBase(doc, []), subject, description, "Amazon S3", "Bucket Policy Configuration"
    )

    # The empty knowledge base embedded nothing; the consulted one embedded the (redacted) ticket once.
    assert empty.usage.embedding_input_tokens == 0
    assert searched.usage.embedding_input_tokens == estimated_tokens(f"{subject}\n{description}")
