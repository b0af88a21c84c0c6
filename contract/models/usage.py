"""What one ticket consumed of every billed unit: the cost model's input."""

from __future__ import annotations

from typing import Any, Final

from pydantic import (
    Field,
)

from contract.models.ticket import _Strict


class TicketUsage(_Strict):
    """What one ticket consumed of every unit AWS bills per ticket: the cost model's input (`tms cost`).

    Recorded by the workflow's functions with the same code on both runtimes (pipeline/domain/usage.py):
    model tokens from the model's response (the offline model estimates them, see offline_reply.py),
    Comprehend units of the text actually sent, the state transitions of the path the execution took,
    Lambda GB-seconds (configured memory x measured duration) and the requests of each service. Each
    field is a warehouse column `usage_<field>`; an older record without usage reads as all zeros.
    """

    llm_input_tokens: int = Field(default=0, ge=0)
    llm_output_tokens: int = Field(default=0, ge=0)
    embedding_input_tokens: int = Field(default=0, ge=0)
    comprehend_sentiment_units: int = Field(default=0, ge=0)
    comprehend_pii_units: int = Field(default=0, ge=0)
    state_transitions: int = Field(default=0, ge=0)
    lambda_requests: int = Field(default=0, ge=0)
    lambda_gb_seconds: float = Field(default=0.0, ge=0)
    kinesis_put_kib: int = Field(default=0, ge=0)  # ingested data, each record rounded up to 1 KiB
    dynamodb_write_units: int = Field(default=0, ge=0)
    dynamodb_read_units: int = Field(default=0, ge=0)
    s3_put_requests: int = Field(default=0, ge=0)
    sns_publishes: int = Field(default=0, ge=0)  # each 64 KiB chunk of a message is one billed request

    def plus(self, other: TicketUsage) -> TicketUsage:
        """The sum of two usages."""
        return type(self)(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )


USAGE_PREFIX: Final = "usage_"


def _usage_columns(value: Any) -> Any:
    """Read a flat record's usage_<field> keys (the JSON line, a warehouse row, an item) into `usage`."""
    if isinstance(value, dict) and "usage" not in value:
        flat = {k: v for k, v in value.items() if k.startswith(USAGE_PREFIX)}
        if flat:
            rest = {k: v for k, v in value.items() if not k.startswith(USAGE_PREFIX)}
            return {**rest, "usage": {k.removeprefix(USAGE_PREFIX): v for k, v in flat.items()}}
    return value
