"""The workflow's task payloads: sentiment, PII and triage results (Comprehend's and the reply model's shapes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from contract.models.ticket import (
    MODEL_ID_MAX,
    PRIORITY_FLAGS_MAX,
    REASONING_MAX,
    RESPONSE_MAX,
    SOURCE_TITLE_MAX,
    SOURCE_URI_MAX,
    Priority,
    SentimentLabel,
    _Strict,
    text,
)


class SentimentScore(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    Positive: float = Field(ge=0, le=1)
    Negative: float = Field(ge=0, le=1)
    Neutral: float = Field(ge=0, le=1)
    Mixed: float = Field(ge=0, le=1)


class SentimentResult(BaseModel):
    """Amazon Comprehend DetectSentiment's response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Sentiment: SentimentLabel
    SentimentScore: SentimentScore


class PiiEntity(BaseModel):
    """One entity of Amazon Comprehend DetectPiiEntities (offsets are characters of the text sent)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Type: str
    Score: float = Field(ge=0, le=1)
    BeginOffset: int = Field(ge=0)
    EndOffset: int = Field(ge=0)


class PiiResult(BaseModel):
    """Amazon Comprehend DetectPiiEntities' response shape (extra response keys are ignored)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    Entities: list[PiiEntity] = Field(default_factory=list)


class PriorityFlag(StrEnum):
    """Why the final priority is not simply the model's (pipeline/domain/policy.py `bound_priority`)."""

    CAPPED = "capped"  # the model asked for more than the rules allow: lowered to the bound
    RAISED = "raised"  # the model asked for less than the rules allow: raised to the bound
    INSTRUCTION_TEXT = "instruction_text"  # the ticket holds instruction-like text; it never raises priority


PRIORITY_FLAG_TEXT: Final = {
    PriorityFlag.CAPPED: "the rules allow at most one level above their own priority",
    PriorityFlag.RAISED: "the rules allow at most one level below their own priority",
    PriorityFlag.INSTRUCTION_TEXT: "the ticket contains instruction-like text, which never raises the priority",
}


def priority_flags_column(flags: Any) -> str:
    """The warehouse value of a set of flags: sorted codes, comma-separated ("" when none)."""
    return ",".join(sorted({PriorityFlag(f).value for f in flags}))


class SourceRef(_Strict):
    """One knowledge-base passage a draft used (issue 30): its id, its document's title and HTTPS link, and
    its retrieval score (cosine similarity)."""

    id: text(SOURCE_URI_MAX)  # type: ignore[valid-type]
    title: text(SOURCE_TITLE_MAX)  # type: ignore[valid-type]
    uri: text(SOURCE_URI_MAX)  # type: ignore[valid-type]
    score: float = Field(ge=-1, le=1)

    @field_validator("uri")
    @classmethod
    def _https(cls, value: str) -> str:
        # An agent follows this link: never an s3:// key or a plain-HTTP page.
        if not value.startswith("https://"):
            raise ValueError(f"a source link must start with https://, got {value!r}")
        return value


def sources_column(sources: list[SourceRef]) -> str:
    """The warehouse value of a draft's sources: a JSON array ("" when the draft used none)."""
    import json

    return json.dumps([s.model_dump() for s in sources], separators=(",", ":")) if sources else ""


class TriageResult(_Strict):
    """The triage of a ticket: the customer reply, the final priority and its reasoning, and what the reply
    model itself suggested (`model_priority`) when the rule-based bound changed it or flagged the ticket."""

    response_text: text(RESPONSE_MAX)  # type: ignore[valid-type]
    priority: Priority
    priority_reasoning: text(REASONING_MAX)  # type: ignore[valid-type]
    model_id: text(MODEL_ID_MAX)  # type: ignore[valid-type]
    # The model's own pick before the bound; None only on results made before the bound existed.
    model_priority: Priority | None = None
    # PriorityFlag codes, sorted and comma-separated ("" when the model's pick stood unflagged).
    priority_flags: text(PRIORITY_FLAGS_MAX, required=False) = ""  # type: ignore[valid-type]
    # Knowledge-base grounding (issue 30): the passages the draft used, and the best retrieval score (None:
    # the knowledge base was not consulted; a score with no sources: nothing was relevant enough).
    sources: list[SourceRef] = Field(default_factory=list)
    retrieval_confidence: float | None = Field(default=None, ge=-1, le=1)

    @field_validator("priority", "model_priority", mode="before")
    @classmethod
    def _closed_enum(cls, value: Any) -> Any:
        # Models sometimes answer "High" or "P1": only the exact enum values are accepted.
        if isinstance(value, str) and value not in Priority.__members__:  # None: no model_priority
            raise ValueError(f"priority must be one of {', '.join(Priority)}, got {value!r}")
        return value
