"""An embedder with no model to load, for knowledge-base tests and benchmarks of everything but retrieval."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from contract import defaults


class WordEmbedder:
    """Words hashed into 64 dimensions: texts sharing words score high. Under the offline model's id by
    default, so an index it writes is read as the offline model's."""

    def __init__(self, model_id: str = defaults.OFFLINE_EMBEDDING_MODEL_ID) -> None:
        self.model_id = model_id

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
