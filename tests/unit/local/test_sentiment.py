"""Offline sentiment: Comprehend's labels, score shape and request limits."""

from __future__ import annotations

import math

import pytest

from contract.models import COMPREHEND_MAX_BYTES, SentimentResult
from local.sentiment import (
    EmptyTextError,
    TextSizeLimitExceededError,
    UnsupportedLanguageError,
    detect_sentiment,
)

ANGRY = (
    "All of our production instances have been unreachable for two hours. This is the third outage this "
    "week and I am furious. Your service is terrible and we are losing money every minute."
)
HAPPY = "Thank you for the great service, we love working with your team. The new dashboard is wonderful."
BLAND = (
    "Lambda cold start latency. Cold starts take 3 seconds on our Python functions. How can we reduce them?"
)
MIXED = (
    "I love Lambda and the team is great, but the cold start latency on our Python functions is horrible "
    "and it is frustrating our users."
)


@pytest.mark.parametrize(
    ("text", "label"),
    [(ANGRY, "NEGATIVE"), (HAPPY, "POSITIVE"), (BLAND, "NEUTRAL"), (MIXED, "MIXED")],
)
def test_given_text_when_analysed_then_the_label_matches_the_mood(text, label):
    result = detect_sentiment(text)

    assert result["Sentiment"] == label


@pytest.mark.parametrize("text", [ANGRY, HAPPY, BLAND, MIXED, "ok", "Access Denied on bucket reads."])
def test_given_text_when_analysed_then_the_answer_has_comprehends_shape_and_sums_to_one(text):
    result = detect_sentiment(text)

    assert set(result) == {"Sentiment", "SentimentScore"}
    scores = result["SentimentScore"]
    assert set(scores) == {"Positive", "Negative", "Neutral", "Mixed"}
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-9)
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    # As in Comprehend, the label is the highest of the four scores.
    assert max(scores, key=scores.__getitem__).upper() == result["Sentiment"]
    SentimentResult.model_validate(result)


def test_given_a_calm_bug_report_when_analysed_then_technical_words_do_not_make_it_angry():
    result = detect_sentiment(
        "Access denied on bucket reads. Our role gets Access Denied when it reads objects."
    )

    assert result["Sentiment"] in {"NEUTRAL", "NEGATIVE"}
    assert result["SentimentScore"]["Negative"] < 0.8


def test_given_text_over_5000_bytes_when_analysed_then_it_is_rejected_like_comprehend():
    text = "é" * (COMPREHEND_MAX_BYTES // 2 + 1)  # 2 bytes each: 5,002 bytes but only 2,501 characters

    with pytest.raises(TextSizeLimitExceededError, match="5002 bytes"):
        detect_sentiment(text)


def test_given_text_of_exactly_5000_bytes_when_analysed_then_it_is_accepted():
    assert detect_sentiment("a" * COMPREHEND_MAX_BYTES)["Sentiment"] in {"NEUTRAL", "POSITIVE", "NEGATIVE"}


def test_given_the_size_error_then_it_is_a_value_error_the_runtime_can_translate():
    assert issubclass(TextSizeLimitExceededError, ValueError)


def test_given_empty_text_or_another_language_when_analysed_then_it_is_rejected():
    with pytest.raises(EmptyTextError):
        detect_sentiment("")
    with pytest.raises(UnsupportedLanguageError, match="'fr'"):
        detect_sentiment("Bonjour", language_code="fr")
