"""The offline sentiment analyzer, where the local runtime's Comprehend DetectSentiment answer comes from.

It lives in `pipeline.domain.sentiment` since the workflow computes sentiment at intake on both runtimes
(docs/cost.md, issue 28.3); this name stays for the moto patch and the tools that read it here.
"""

from pipeline.domain.sentiment import (
    SUPPORTED_LANGUAGES,
    EmptyTextError,
    SentimentTextError,
    TextSizeLimitExceededError,
    UnsupportedLanguageError,
    detect_sentiment,
)

__all__ = [
    "SUPPORTED_LANGUAGES",
    "EmptyTextError",
    "SentimentTextError",
    "TextSizeLimitExceededError",
    "UnsupportedLanguageError",
    "detect_sentiment",
]
