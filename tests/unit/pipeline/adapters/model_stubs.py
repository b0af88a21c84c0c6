"""What a chat model's providers answer when it calls a tool, for tests that stub them (no network):
Bedrock Converse through a botocore Stubber, an OpenAI-compatible endpoint through an httpx MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx


def converse_tool_use(
    name: str, tool_input: dict[str, Any], *, input_tokens: int = 900, output_tokens: int = 300
) -> dict[str, Any]:
    """A Converse response carrying the forced tool call: how structured output arrives from Bedrock."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": tool_input}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 1234},
    }


def openai_tool_call(
    name: str, arguments: dict[str, Any], *, usage: tuple[int, int] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """An OpenAI-compatible endpoint that checks the request forces tool `name` and answers the call."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["tool_choice"]["function"]["name"] == name
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        completion: dict[str, Any] = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "llama3.1",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
        }
        if usage:
            completion["usage"] = {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            }
        return httpx.Response(200, json=completion)

    return answer


def openai_model(handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    """The local runtime's OpenAI-compatible reply model on an in-memory transport answered by `handler`."""
    from langchain_openai import ChatOpenAI

    from local import openai_reply

    chat = ChatOpenAI(
        base_url="http://ollama.invalid/v1",
        model="llama3.1",
        api_key="not-needed",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return openai_reply.OpenAiReplyModel(chat, "openai:llama3.1", openai_reply.map_openai_error)
