"""Offline sentiment analysis with Amazon Comprehend DetectSentiment's request limits and response shape.

VADER (lexicon shipped in the package) gives compound/pos/neg/neu scores; they are mapped onto
Comprehend's four labels and four scores that sum to 1, with the winning label always the highest score
(as in Comprehend). Intake computes every ticket's sentiment with this on both runtimes and puts it in the
execution input: one Comprehend call less per ticket, $0.30 per 1,000 (docs/cost.md, issue 28.3). It is
pure computation on a lexicon that ships in the package (~0.6 MB in the layer, nothing downloaded).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from contract.models import COMPREHEND_MAX_BYTES, SentimentLabel

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SUPPORTED_LANGUAGES = frozenset({"en"})  # VADER's lexicon is English only

# Thresholds on VADER's compound score (-1..1). Support tickets are mostly factual, so the neutral band is
# wider than VADER's customary ±0.05, as Comprehend calls plain problem reports NEUTRAL.
POSITIVE_COMPOUND = 0.6
NEGATIVE_COMPOUND = -0.3
# MIXED: both sides carry real weight and neither dwarfs the other.
MIXED_MIN_SHARE = 0.08
MIXED_MIN_RATIO = 0.4

# Words that are courtesy or domain vocabulary in a support ticket, not sentiment ("please help",
# "kind regards", "support team", "I would like to").
_NEUTRAL_IN_TICKETS = ("help", "helps", "please", "support", "supports", "resolve", "like", "kind", "urgent")
# Technical words that describe the problem rather than the customer's mood ("Access Denied", "the job
# failed") weigh little, so a calm bug report stays calm and anger comes from the customer's own words.
# Priority takes the problem's severity from the issue type (see pipeline.domain.policy.business_impact).
_TECHNICAL = ("denied", "deny", "error", "errors", "fail", "fails", "failed", "failure", "failures", "failing",
              "problem", "problems", "crash", "block", "blocked", "missing", "stuck", "delay", "delayed", "lost",
              "loss", "critical", "risk", "attack", "threat")  # fmt: skip
_TICKET_LEXICON = {
    **dict.fromkeys(_TECHNICAL, -0.5),
    "outage": -0.8,
    "outages": -0.8,
    "unreachable": -0.5,
    "unresponsive": -0.5,
    "slow": -0.5,
}


class SentimentTextError(ValueError):
    """The text cannot be analysed (Comprehend answers a 4xx for it)."""


class TextSizeLimitExceededError(SentimentTextError):
    """The text is over Comprehend's 5,000-byte UTF-8 limit (Comprehend's TextSizeLimitExceededException)."""


class EmptyTextError(SentimentTextError):
    """The text is empty (Comprehend's ValidationException: minimum length 1)."""


class UnsupportedLanguageError(SentimentTextError):
    """The language is not supported offline (Comprehend's UnsupportedLanguageException)."""


@functools.cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Imported here so that modules importing this one stay cheap until the first call.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for word in _NEUTRAL_IN_TICKETS:
        analyzer.lexicon.pop(word, None)
    analyzer.lexicon.update(_TICKET_LEXICON)
    return analyzer


def _label(compound: float, pos: float, neg: float) -> tuple[SentimentLabel, float]:
    """The label and how clear-cut it is (0..1)."""
    low, high = min(pos, neg), max(pos, neg)
    if low >= MIXED_MIN_SHARE and low / high >= MIXED_MIN_RATIO:
        return SentimentLabel.MIXED, low / high
    if compound >= POSITIVE_COMPOUND:
        return SentimentLabel.POSITIVE, (compound - POSITIVE_COMPOUND) / (1 - POSITIVE_COMPOUND)
    if compound <= NEGATIVE_COMPOUND:
        return SentimentLabel.NEGATIVE, (-compound + NEGATIVE_COMPOUND) / (1 + NEGATIVE_COMPOUND)
    band = POSITIVE_COMPOUND if compound > 0 else -NEGATIVE_COMPOUND
    return SentimentLabel.NEUTRAL, 1 - abs(compound) / band


def detect_sentiment(text: str, language_code: str = "en") -> dict[str, Any]:
    """Comprehend DetectSentiment, offline: {"Sentiment": ..., "SentimentScore": {four scores summing to 1}}."""
    if language_code not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguageError(
            f"language {language_code!r} is not supported offline; supported: {sorted(SUPPORTED_LANGUAGES)}"
        )
    size = len(text.encode("utf-8"))
    if size > COMPREHEND_MAX_BYTES:
        raise TextSizeLimitExceededError(
            f"text is {size} bytes of UTF-8, over the limit of {COMPREHEND_MAX_BYTES} bytes"
        )
    if not text:
        raise EmptyTextError("text must be at least 1 character long")

    vader = _analyzer().polarity_scores(text)
    pos, neg, neu, compound = vader["pos"], vader["neg"], vader["neu"], vader["compound"]
    label, clarity = _label(compound, pos, neg)

    base = {
        SentimentLabel.POSITIVE: pos,
        SentimentLabel.NEGATIVE: neg,
        SentimentLabel.NEUTRAL: neu,
        SentimentLabel.MIXED: min(pos, neg),
    }
    total = sum(base.values()) or 1.0
    # Blend VADER's spread with the decision; a weight above 0.5 keeps the label the highest score.
    weight = 0.52 + 0.43 * max(0.0, min(1.0, clarity))
    scores = {k: (1 - weight) * v / total + (weight if k is label else 0.0) for k, v in base.items()}
    return {
        "Sentiment": label.value,
        "SentimentScore": {
            "Positive": scores[SentimentLabel.POSITIVE],
            "Negative": scores[SentimentLabel.NEGATIVE],
            "Neutral": scores[SentimentLabel.NEUTRAL],
            "Mixed": scores[SentimentLabel.MIXED],
        },
    }
