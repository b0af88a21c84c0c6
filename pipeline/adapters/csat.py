"""CSAT edges: the link-signing key (Secrets Manager on AWS, the plain value locally) and the PII detector
the rating comment goes through (Comprehend DetectPiiEntities; the local endpoint answers offline)."""

from __future__ import annotations

from typing import Any

from contract.models import PiiResult
from pipeline.adapters.aws import client
from pipeline.adapters.mail import reply_key

LANGUAGE = "en"


def csat_key(secret_arn: str, value: Any = None) -> bytes:
    """The HMAC key of rating links: the secret's string (AWS), else the plain value (local)."""
    # The same reading rules as the reply-address key, on another secret.
    return reply_key(secret_arn, value)


class ComprehendPii:
    """DetectPiiEntities on a comment (at most 1,000 characters: far below Comprehend's 100 KB)."""

    def __init__(self, comprehend: Any = None):
        self._comprehend = comprehend or client("comprehend")

    def detect(self, text: str) -> PiiResult:
        """Entities in Comprehend's shape."""
        return PiiResult.model_validate(
            self._comprehend.detect_pii_entities(Text=text, LanguageCode=LANGUAGE)
        )
