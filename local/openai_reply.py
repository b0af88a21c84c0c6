"""The reply model on any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio): `TMS_LLM_BASE_URL`.

A local-runtime implementation of the reply-model port, registered as the `openai` entry point of
`tms.reply_models` (pyproject.toml); never shipped to Lambda, where the model is Bedrock.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from contract import names
from contract.errors import (
    ConfigurationError,
    InvalidModelOutputError,
    LlmThrottledError,
    LlmUnavailableError,
    TmsError,
)
from pipeline.adapters.llm import LangChainReplyModel, LlmSettings


def map_openai_error(error: Exception) -> TmsError | None:
    """Our typed error for an openai-client exception, or None when it is not one we classify."""
    import openai

    if isinstance(error, openai.RateLimitError):
        return LlmThrottledError(f"the model endpoint throttled the request (HTTP {error.status_code})")
    if isinstance(error, openai.APIConnectionError):  # APITimeoutError is a subclass
        return LlmUnavailableError(f"the model endpoint could not be reached ({type(error).__name__})")
    if isinstance(error, openai.InternalServerError):
        return LlmUnavailableError(f"the model endpoint failed (HTTP {error.status_code})")
    if isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
        return InvalidModelOutputError(f"the model endpoint rejected the request (HTTP {error.status_code})")
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError):
        return ConfigurationError(f"the model endpoint refused the model or key (HTTP {error.status_code})")
    return None


class OpenAiReplyModel(LangChainReplyModel):
    """OpenAI-compatible endpoints (Ollama, vLLM, LM Studio): tool calling is the widely supported path."""

    @staticmethod
    def _with_structured_output(chat_model: Any, schema: type[BaseModel]) -> Any:
        return chat_model.with_structured_output(schema, include_raw=True, method="function_calling")


def build_openai_model(settings: LlmSettings) -> LangChainReplyModel:
    """ChatOpenAI on any OpenAI-compatible base URL (a local Ollama needs no real key)."""
    from langchain_openai import ChatOpenAI

    if not (settings.model_id and settings.base_url):
        raise ConfigurationError(f"openai provider needs {names.ENV_LLM_BASE_URL} and {names.ENV_MODEL_ID}")
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    chat = ChatOpenAI(
        base_url=settings.base_url,
        model=settings.model_id,
        api_key=SecretStr(key),
        temperature=settings.temperature,
        max_completion_tokens=settings.max_tokens,
        timeout=90,
        max_retries=1,
    )
    return OpenAiReplyModel(chat, f"openai:{settings.model_id}", map_openai_error)
