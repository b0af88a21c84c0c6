"""Text-embedding adapters (Bedrock Titan here; the offline MiniLM in local/embeddings.py) and the cached
factory that picks one.

Both answer the same port (pipeline.domain.incidents.Embedder): unit-length float32 vectors, so a dot
product is the cosine similarity. Selection is configuration (TMS_EMBEDDING_PROVIDER), never a branch
in the domain.

The offline model is a local-runtime plugin (entry-point group `tms.embedders`, pipeline/adapters/plugins.py):
it is not in a Lambda asset or the layer; on AWS the embeddings come from Bedrock.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationError, model_validator

from contract import defaults, names
from contract.errors import ConfigurationError, EmbeddingUnavailableError, LlmThrottledError, TmsError
from contract.models import field_errors
from contract.settings import EnvSettings

if TYPE_CHECKING:
    pass

EmbeddingProvider = Literal["bedrock", "offline"]
EMBEDDERS = "tms.embedders"  # entry-point group of the embedders installed beside tms

DEFAULT_BEDROCK_EMBEDDING_MODEL_ID = defaults.BEDROCK_EMBEDDING_MODEL_ID
# Titan V2 accepts 256, 512 or 1024 dimensions; 512 keeps ~99% of the 1024-d retrieval quality (AWS's
# own figure) at half the stored bytes.
DEFAULT_BEDROCK_DIMENSIONS = 512
OFFLINE_EMBEDDING_MODEL_ID = defaults.OFFLINE_EMBEDDING_MODEL_ID
OFFLINE_DIMENSIONS = defaults.OFFLINE_EMBEDDING_DIMENSIONS
# Embedding text budget: subject + the head of the description. A burst's reports share their opening;
# a pasted log after it would only dilute the vector (and Titan bills per token).
EMBED_TEXT_MAX_CHARS = 1000


class EmbeddingSettings(EnvSettings):
    """Embedding-model configuration from the environment, validated once at cold start."""

    model_config = ConfigDict(populate_by_name=True)
    env_ignore_empty = True

    provider: EmbeddingProvider = Field(default="offline", validation_alias=names.ENV_EMBEDDING_PROVIDER)
    model_id: str | None = Field(default=None, validation_alias=names.ENV_EMBEDDING_MODEL_ID)
    dimensions: int = Field(
        default=DEFAULT_BEDROCK_DIMENSIONS, validation_alias=names.ENV_EMBEDDING_DIMENSIONS
    )

    @model_validator(mode="after")
    def _resolve(self) -> EmbeddingSettings:
        if self.provider == "bedrock":
            self.model_id = self.model_id or DEFAULT_BEDROCK_EMBEDDING_MODEL_ID
            if self.dimensions not in (256, 512, 1024):
                raise ValueError(f"{names.ENV_EMBEDDING_DIMENSIONS} must be 256, 512 or 1024 for Titan V2")
        else:
            self.model_id, self.dimensions = OFFLINE_EMBEDDING_MODEL_ID, OFFLINE_DIMENSIONS
        return self


def load_embedding_settings() -> EmbeddingSettings:
    """Read and validate the embedding settings; ConfigurationError says which variable is wrong."""
    try:
        return EmbeddingSettings()
    except ValidationError as e:
        raise ConfigurationError("embedding settings: " + "; ".join(field_errors(e))) from e


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


# --- Bedrock: Titan Text Embeddings V2 through langchain-aws ------------------------------------------

BEDROCK_THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
BEDROCK_UNAVAILABLE = frozenset(
    {
        "ModelTimeoutException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
    }
)


def map_bedrock_embedding_error(error: Exception) -> TmsError | None:
    """Our typed error for a Bedrock embedding failure, or None when it is not one we classify."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    cause: BaseException | None = error
    while cause is not None:  # langchain-aws wraps the ClientError in a ValueError
        if isinstance(cause, ClientError):
            code = cause.response.get("Error", {}).get("Code", "")
            if code in BEDROCK_THROTTLED:
                return LlmThrottledError(f"Bedrock throttled the embedding request ({code})")
            if code in BEDROCK_UNAVAILABLE:
                return EmbeddingUnavailableError(f"Bedrock embeddings are unavailable ({code})")
            if code in {"AccessDeniedException", "ResourceNotFoundException", "ValidationException"}:
                return ConfigurationError(f"Bedrock refused the embedding model ({code})")
            return None
        if isinstance(cause, BotoConnectionError | HTTPClientError):
            return EmbeddingUnavailableError(f"Bedrock could not be reached ({type(cause).__name__})")
        cause = cause.__cause__ or cause.__context__
    return None


class BedrockEmbedder:
    """Titan Text Embeddings V2 (configurable model id and dimensions) via langchain-aws BedrockEmbeddings."""

    def __init__(self, settings: EmbeddingSettings, client: Any = None):
        from langchain_aws import BedrockEmbeddings

        from pipeline.adapters.llm import bedrock_runtime_client

        self.model_id = settings.model_id or DEFAULT_BEDROCK_EMBEDDING_MODEL_ID
        self.dimensions = settings.dimensions
        self._embeddings = BedrockEmbeddings(
            model_id=self.model_id,
            client=client or bedrock_runtime_client(),
            model_kwargs={"dimensions": self.dimensions, "normalize": True},
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors; Bedrock errors become LlmThrottled/EmbeddingUnavailable/Configuration."""
        try:
            rows = self._embeddings.embed_documents([t[:EMBED_TEXT_MAX_CHARS] for t in texts])
        except Exception as e:
            mapped = map_bedrock_embedding_error(e)
            if mapped is None:
                raise
            raise mapped from e
        return _unit(np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dimensions))


def build_embedder(settings: EmbeddingSettings) -> Any:
    """The embedder the settings ask for."""
    if settings.provider == "bedrock":
        return BedrockEmbedder(settings)
    # Any other provider is installed beside tms (the local runtime's offline model), found by name.
    from pipeline.adapters.plugins import load_plugin

    return load_plugin(EMBEDDERS, settings.provider)(settings)


@functools.cache
def embedder() -> Any:
    """The process-wide embedder, built once from the environment (`embedder.cache_clear()` to rebuild)."""
    return build_embedder(load_embedding_settings())
