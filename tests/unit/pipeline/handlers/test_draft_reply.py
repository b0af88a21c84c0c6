"""The draft-reply Lambda handler, driven by the workflow's event fixtures."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest

from contract import names
from contract.errors import InvalidTicketError, LlmThrottledError
from contract.models import Priority, TicketUsage, TriageResult
from local import faults
from pipeline.adapters import llm
from pipeline.domain.policy import check_reply
from pipeline.handlers.draft_reply import handler
from pipeline.observability import logger
from tests.paths import EVENTS

EVENTS = EVENTS


@dataclass
class LambdaContext:
    function_name: str = "tms-draft-reply"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tms-draft-reply"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def load(name: str) -> dict:
    return json.loads((EVENTS / f"draft_reply_{name}.json").read_text())


@pytest.fixture
def offline(monkeypatch):
    """The offline reply model with the given faults (TMS_FAULTS), rebuilt for each test."""

    def configure(fault_spec: str = "") -> None:
        for var in (names.ENV_LLM_PROVIDER, names.ENV_LLM_BASE_URL, names.ENV_FAULTS_SEED):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv(names.ENV_FAULTS, fault_spec)
        llm.reply_model.cache_clear()
        faults.active_plan.cache_clear()

    yield configure
    llm.reply_model.cache_clear()
    faults.active_plan.cache_clear()


@pytest.mark.parametrize(
    ("fixture", "priority"),
    [
        ("angry_outage", Priority.HIGH),
        ("mixed_latency", Priority.MEDIUM),
        ("calm_permissions", Priority.NORMAL),
        ("happy_question", Priority.NORMAL),
    ],
)
def test_given_a_workflow_event_when_handled_then_a_valid_triage_result_json_is_returned(
    offline, fixture, priority
):
    offline()
    event = load(fixture)

    out = handler(event, LambdaContext())

    usage = TicketUsage.model_validate(out.pop("usage"))
    result = TriageResult.model_validate(out)
    assert result.priority is priority
    # The offline model reports the tokens a model would bill (estimated), and the function its own time.
    assert usage.llm_input_tokens > 500 and usage.llm_output_tokens > 50
    assert usage.lambda_requests == 1 and usage.lambda_gb_seconds > 0
    assert json.loads(json.dumps(out)) == out  # plain JSON for the state machine
    ticket = event["ticket"]
    assert (
        check_reply(
            result.response_text,
            ticket["ticketId"],
            result.priority,
            ticket["data"]["customer"]["first_name"],
        )
        == []
    )


def test_given_llm_throttling_configured_when_handled_then_llm_throttled_error_propagates(offline):
    offline("llm_throttle:1")

    with pytest.raises(LlmThrottledError):
        handler(load("angry_outage"), LambdaContext())


def test_given_an_event_without_sentiment_when_handled_then_invalid_ticket_error_names_the_field(offline):
    offline()
    event = load("angry_outage")
    del event["sentiment"]

    with pytest.raises(InvalidTicketError, match="sentiment: Field required"):
        handler(event, LambdaContext())


def test_given_a_handled_ticket_then_the_log_carries_the_ticket_id_but_not_the_reply(offline):
    offline()
    event = load("angry_outage")
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        out = handler(event, LambdaContext())
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]

    logs = stream.getvalue()
    assert event["ticket"]["ticketId"] in logs
    assert out["response_text"].splitlines()[2] not in logs
    assert event["ticket"]["data"]["description"] not in logs
