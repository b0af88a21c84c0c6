"""The workflow's task payloads: sentiment, PII and triage results (Comprehend's and the reply model's shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from contract.models.ticket import (
    MODEL_ID_MAX,
    REASONING_MAX,
    RESPONSE_MAX,
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


class TriageResult(_Strict):
    """What the reply model returns: the customer reply, a priority and its reasoning."""

    response_text: text(RESPONSE_MAX)  # type: ignore[valid-type]
    priority: Priority
    priority_reasoning: text(REASONING_MAX)  # type: ignore[valid-type]
    model_id: text(MODEL_ID_MAX)  # type: ignore[valid-type]

    @field_validator("priority", mode="before")
    @classmethod
    def _closed_enum(cls, value: Any) -> Any:
        # Models sometimes answer "High" or "P1": only the exact enum values are accepted.
        if isinstance(value, str) and value not in Priority.__members__:
            raise ValueError(f"priority must be one of {', '.join(Priority)}, got {value!r}")
        return value
