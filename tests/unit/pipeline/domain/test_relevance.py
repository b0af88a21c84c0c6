"""The relevance gate (issue 30): whether the best retrieved document answers the ticket, so that the draft
cites it. It weighs the best sentence's cosine, how much of the ticket's term weight the document holds and
the rare terms they share, not the top cosine alone. The hits here are written by hand, numbers included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contract import defaults
from contract.errors import ConfigurationError
from pipeline.domain.grounding import relevance, relevance_features
from pipeline.domain.knowledge import Hit, Passage, ScoredSentence, TermStats, relevance_gate

OFFLINE = defaults.OFFLINE_EMBEDDING_MODEL_ID
TITAN = defaults.BEDROCK_EMBEDDING_MODEL_ID
# What `bench/kb.py --split calibration --fit` fits for MiniLM: the mechanism under test. It is not the
# offline default (contract/defaults.KB_RELEVANCE_GATES says why).
FITTED = {"bias": -4.3, "best_sentence": 5.17, "coverage": 2.03, "rare_terms": 2.12}


def _hit(
    doc_id: str, title: str, score: float, sentences: list[tuple[str, float]], df: dict[str, int]
) -> Hit:
    text = " ".join(text for text, _ in sentences)
    passage = Passage(passage_id=f"{doc_id}#0", doc_id=doc_id, heading="", text=text)
    return Hit(
        doc_id=doc_id,
        title=title,
        uri=f"https://help.example.com/articles/{doc_id}",
        score=score,
        passage=passage,
        sentences=tuple(ScoredSentence(passage.passage_id, t, s) for t, s in sentences),
        terms=TermStats(passages=300, df=df),
    )


def test_an_error_code_the_article_names_opens_the_gate_at_a_cosine_the_old_threshold_refused() -> None:
    # A terse ticket: a modest cosine (0.55, under the old 0.60), but it pastes the one error code that two
    # passages of the whole knowledge base mention, and the article's sentence about it is a close match.
    query = "cloudfront 502 after cert swap\nGetting InvalidViewerCertificate since we imported the new cert yesterday"
    hit = _hit(
        "cloudfront-viewer-certificate",
        "CloudFront refuses an imported certificate",
        0.55,
        [
            ("CloudFront only accepts viewer certificates imported in us-east-1.", 0.52),
            (
                "The distribution update fails with InvalidViewerCertificate when the chain is incomplete.",
                0.66,
            ),
            ("Import the certificate again with its full chain, then update the distribution.", 0.49),
        ],
        df={"cloudfront": 12, "invalidviewercertificate": 2, "cert": 3, "502": 9, "imported": 14, "new": 60},
    )

    features = relevance_features(query, [hit])

    assert features["rare_terms"] > 0 and features["best_sentence"] == pytest.approx(0.66)
    assert relevance(features, FITTED) >= 0
    # The same words where that code is common (in 40 passages) are not enough.
    assert hit.terms is not None
    common = replace(hit, terms=TermStats(300, {**hit.terms.df, "invalidviewercertificate": 40}))
    assert relevance(relevance_features(query, [common]), FITTED) < 0


def test_an_article_on_the_same_service_but_another_question_gets_no_sources() -> None:
    # Same product and vocabulary, a different question (a quota, which no article covers): a cosine above
    # the old threshold, but no sentence answers it and the terms it shares are everywhere.
    query = "need more lambdas\nHow do we raise the concurrent executions limit for our Lambda functions in eu-west-1?"
    hit = _hit(
        "lambda-timeout-vpc",
        "Lambda function times out inside a VPC",
        0.62,
        [
            ("A Lambda function in a VPC needs a NAT gateway or endpoints to reach AWS services.", 0.41),
            ("Raise the function timeout only after the network path is fixed.", 0.47),
            ("Check the function's security group allows outbound HTTPS.", 0.33),
        ],
        df={
            "lambda": 40,
            "lambdas": 0,
            "functions": 35,
            "raise": 30,
            "limit": 25,
            "eu-west-1": 0,
            "need": 50,
        },
    )

    assert relevance(relevance_features(query, [hit]), FITTED) < 0


@pytest.mark.parametrize(("model_id", "cosine"), [(TITAN, 0.45), (OFFLINE, 0.60)])
def test_the_gate_is_chosen_by_embedding_model_and_the_defaults_are_cosine_rules(
    model_id: str, cosine: float
) -> None:
    above = _hit("a", "A", cosine + 0.01, [("One sentence that matches well.", 0.95)], df={"q": 1})
    below = _hit("a", "A", cosine - 0.01, [("One sentence that matches well.", 0.95)], df={"q": 1})

    # The conservative defaults: the top cosine alone decides, whatever the sentences and terms say.
    assert relevance(relevance_features("q", [above]), model_id=model_id) >= 0
    assert relevance(relevance_features("q", [below]), model_id=model_id) < 0


def test_a_gate_naming_a_feature_tms_does_not_compute_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(defaults.KB_RELEVANCE_GATES, "cohere.embed-english-v3", {"bias": -1.0, "bm25": 2.0})

    with pytest.raises(ConfigurationError, match="unknown features"):
        relevance_gate("cohere.embed-english-v3")


def test_a_hit_without_sentence_scores_is_judged_on_its_passage() -> None:
    passage = Passage(
        passage_id="vpn#0", doc_id="vpn", heading="", text="Check the DPD timeout on both ends."
    )
    hit = Hit(doc_id="vpn", title="VPN drops", uri="https://help.example.com/vpn", score=0.7, passage=passage)

    features = relevance_features("vpn drops every hour", [hit])

    assert features["best_sentence"] == 0.7 and features["coverage"] == 0.0 and features["rare_terms"] == 0.0
