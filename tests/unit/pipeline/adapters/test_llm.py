"""LLM adapters: structured output through Bedrock Converse and OpenAI-compatible endpoints, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from contract import names
from contract.errors import (
    ConfigurationError,
    InvalidModelOutputError,
    LlmThrottledError,
    LlmUnavailableError,
)
from contract.models import Customer, Priority, SentimentResult, Source, TicketData, TicketSubmitted
from local.faults import FaultPlan
from local.offline_reply import OFFLINE_MODEL_ID, OfflineReplyModel
from pipeline.adapters import llm
from pipeline.domain.policy import ESCALATION
from pipeline.domain.triage import draft_reply
from tests.unit.pipeline.adapters.model_stubs import converse_tool_use, openai_model, openai_tool_call

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"

TICKET = TicketSubmitted(
    ticketId="TKT-20250314-ABCDEFGHJK",
    submittedAt=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    source=Source.SLACK,
    data=TicketData(
        subject="Production instances unreachable",
        description="All production instances are unreachable. I am furious.",
        product="Amazon EC2",
        issue_type="Instance Connectivity",
        customer=Customer(
            first_name="Maria", last_name="Lopez", full_name="Maria Lopez", email="m@example.com"
        ),
    ),
)
SENTIMENT = SentimentResult.model_validate(
    {
        "Sentiment": "NEGATIVE",
        "SentimentScore": {"Positive": 0.0, "Negative": 0.95, "Neutral": 0.05, "Mixed": 0.0},
    }
)


def compliant_answer(priority: str = "HIGH") -> dict[str, Any]:
    draft = OfflineReplyModel(faults=FaultPlan({})).draft(TICKET, SENTIMENT)
    return draft.model_dump(mode="json") | {"priority": priority}


def tool_use_response(tool_input: dict[str, Any]) -> dict[str, Any]:
    """A Converse response carrying the forced TriageDraft tool call."""
    return converse_tool_use("TriageDraft", tool_input)


@pytest.fixture
def bedrock():
    """A real bedrock-runtime client whose calls are answered by a Stubber (sockets never opened)."""
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def bedrock_model(client: Any) -> llm.LangChainReplyModel:
    settings = llm.LlmSettings(provider="bedrock", model_id=MODEL_ID, max_tokens=1024, temperature=0.1)
    return llm.build_bedrock_model(settings, client=client)


def test_given_bedrock_answers_a_compliant_tool_call_when_drafting_then_a_valid_triage_result(bedrock):
    client, stubber = bedrock
    captured: dict[str, Any] = {}
    client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", lambda params, **_: captured.update(params)
    )
    stubber.add_response("converse", tool_use_response(compliant_answer()))

    result = draft_reply(TICKET, SENTIMENT, bedrock_model(client))

    assert result.priority is Priority.HIGH
    assert result.model_id == MODEL_ID
    assert TICKET.ticketId in result.response_text
    # The request forced the tool and carried the whole policy and the ticket's facts.
    body = captured
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "TriageDraft"}}
    assert body["inferenceConfig"]["maxTokens"] == 1024
    system = body["system"][0]["text"]
    assert all(phrase in system for phrase in ESCALATION.values())
    user = json.dumps(body["messages"])
    for fact in (TICKET.ticketId, "Maria", "Amazon EC2", "Instance Connectivity", "NEGATIVE", "0.95"):
        assert fact in user


def test_given_bedrock_answers_priority_urgent_when_drafting_then_invalid_model_output(bedrock):
    client, stubber = bedrock
    stubber.add_response("converse", tool_use_response(compliant_answer(priority="URGENT")))

    with pytest.raises(InvalidModelOutputError, match="priority"):
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))


def test_given_bedrock_answers_text_instead_of_the_tool_when_drafting_then_invalid_model_output(bedrock):
    client, stubber = bedrock
    response = tool_use_response({})
    response["output"]["message"]["content"] = [{"text": "Dear Maria, sorry."}]
    response["stopReason"] = "end_turn"
    stubber.add_response("converse", response)

    with pytest.raises(InvalidModelOutputError, match="without calling the tool"):
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))


def test_given_bedrock_cites_another_ticket_when_drafting_then_invalid_model_output(bedrock):
    client, stubber = bedrock
    answer = compliant_answer()
    answer["response_text"] = answer["response_text"].replace(TICKET.ticketId, "TKT-20250101-0000000000")
    stubber.add_response("converse", tool_use_response(answer))

    with pytest.raises(InvalidModelOutputError, match="cites_ticket_id"):
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 429, LlmThrottledError),
        ("ServiceQuotaExceededException", 400, LlmThrottledError),
        ("ModelTimeoutException", 408, LlmUnavailableError),
        ("ServiceUnavailableException", 503, LlmUnavailableError),
        ("ValidationException", 400, InvalidModelOutputError),
        ("AccessDeniedException", 403, ConfigurationError),
    ],
)
def test_given_bedrock_answers_an_error_code_when_drafting_then_the_typed_error_is_raised(
    bedrock, code, status, error
):
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code=code, http_status_code=status)

    with pytest.raises(error) as raised:
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))

    assert raised.value.__cause__ is not None  # raised from the original ClientError


def test_given_bedrock_cannot_be_reached_when_drafting_then_llm_unavailable():
    from botocore.exceptions import ReadTimeoutError

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def time_out(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    # before-call runs just before the HTTP request: raising there is what a read timeout looks like.
    client.meta.events.register("before-call.bedrock-runtime.Converse", time_out)

    with pytest.raises(LlmUnavailableError, match="ReadTimeoutError"):
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))


def test_given_no_aws_credentials_when_drafting_then_a_configuration_error_not_a_traceback():
    import botocore.session

    session = botocore.session.Session()
    session.get_credentials = lambda: None  # what a machine without any credentials resolves to
    client = session.create_client("bedrock-runtime", region_name="us-east-1")

    with pytest.raises(ConfigurationError, match="no AWS credentials to call Bedrock"):
        draft_reply(TICKET, SENTIMENT, bedrock_model(client))


# --- OpenAI-compatible endpoint, through an in-memory HTTP transport -----------------------------------


def test_given_an_openai_compatible_endpoint_answers_a_tool_call_when_drafting_then_a_valid_result():
    answer = openai_tool_call("TriageDraft", compliant_answer())

    result = draft_reply(TICKET, SENTIMENT, openai_model(answer))

    assert result.model_id == "openai:llama3.1"
    assert result.priority is Priority.HIGH


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, LlmThrottledError), (503, LlmUnavailableError), (400, InvalidModelOutputError)],
)
def test_given_an_openai_compatible_endpoint_answers_an_http_error_when_drafting_then_the_typed_error(
    status, error
):
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "no", "type": "x"}})

    with pytest.raises(error):
        draft_reply(TICKET, SENTIMENT, openai_model(refuse))


def test_given_an_openai_compatible_endpoint_times_out_when_drafting_then_llm_unavailable():
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(LlmUnavailableError):
        draft_reply(TICKET, SENTIMENT, openai_model(time_out))


# --- Selection -----------------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for var in (names.ENV_LLM_PROVIDER, names.ENV_MODEL_ID, names.ENV_LLM_BASE_URL, names.ENV_LLM_API_KEY,
                names.ENV_LLM_MAX_TOKENS, names.ENV_LLM_TEMPERATURE):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    llm.reply_model.cache_clear()
    yield monkeypatch
    llm.reply_model.cache_clear()
    llm.bedrock_runtime_client.cache_clear()


def test_given_no_llm_settings_when_the_model_is_selected_then_the_offline_model_is_used(clean_env):
    model = llm.reply_model()

    assert model.model_id == OFFLINE_MODEL_ID
    assert llm.reply_model() is model


def test_given_a_base_url_when_the_model_is_selected_then_the_openai_compatible_model_is_used(clean_env):
    clean_env.setenv(names.ENV_LLM_BASE_URL, "http://127.0.0.1:11434/v1")
    clean_env.setenv(names.ENV_MODEL_ID, "llama3.1")

    assert llm.reply_model().model_id == "openai:llama3.1"


def test_given_bedrock_selected_when_the_model_is_selected_then_bedrock_with_the_model_id(clean_env):
    clean_env.setenv(names.ENV_LLM_PROVIDER, "bedrock")
    clean_env.setenv(names.ENV_MODEL_ID, MODEL_ID)
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    llm.bedrock_runtime_client.cache_clear()

    assert llm.reply_model().model_id == MODEL_ID


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({names.ENV_LLM_PROVIDER: "gpt"}, names.ENV_LLM_PROVIDER),
        ({names.ENV_LLM_PROVIDER: "openai"}, names.ENV_LLM_BASE_URL),
        ({names.ENV_LLM_BASE_URL: "http://127.0.0.1:11434/v1"}, names.ENV_MODEL_ID),
        ({names.ENV_LLM_TEMPERATURE: "3"}, names.ENV_LLM_TEMPERATURE),
        ({names.ENV_LLM_MAX_TOKENS: "lots"}, names.ENV_LLM_MAX_TOKENS),
    ],
)
def test_given_invalid_llm_settings_when_the_model_is_selected_then_configuration_error_names_the_variable(
    clean_env, env, message
):
    for key, value in env.items():
        clean_env.setenv(key, value)

    with pytest.raises(ConfigurationError, match=message):
        llm.reply_model()
