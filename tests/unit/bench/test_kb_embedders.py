"""bench/kb_embedders.py measures a foreign embedder from vectors computed elsewhere for the texts it dumped:
those vectors must answer the store's calls row for row, and a text that was not dumped must stop the run
rather than be scored with some other text's vector."""

from __future__ import annotations

import numpy as np
import pytest

from bench.kb_embedders import Precomputed, Recording


class _Hashing:
    """A deterministic toy embedder: each text gets its own direction."""

    model_id, dimensions = "toy", 8

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=self.dimensions) for t in texts]
        return np.array(rows, dtype=np.float32)


def test_dumped_texts_and_their_vectors_answer_like_the_embedder_that_was_recorded() -> None:
    # Given a recorded run (two calls, one text repeated)
    inner = _Hashing()
    recording = Recording(inner)
    recording.embed(["reset the VPN client", "billing export is empty"])
    recording.embed(["billing export is empty", "Amazon S3"])
    dumped = list(recording.texts)
    # When the dumped texts' vectors are computed elsewhere and read back
    foreign = Precomputed("toy", dumped, inner.embed(dumped))
    # Then every call gets the vectors of its own texts, unit length, in the order asked
    asked = ["Amazon S3", "reset the VPN client"]
    expected = inner.embed(asked)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert dumped == ["reset the VPN client", "billing export is empty", "Amazon S3"]
    assert np.allclose(foreign.embed(asked), expected)
    assert foreign.model_id == "vectors:toy"


def test_a_text_that_was_not_dumped_stops_the_run() -> None:
    foreign = Precomputed("toy", ["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(SystemExit, match="not dumped"):
        foreign.embed(["a", "c"])


def test_vectors_that_do_not_match_the_dumped_texts_are_refused() -> None:
    with pytest.raises(SystemExit, match="3 vectors for 2 dumped texts"):
        Precomputed("toy", ["a", "b"], np.eye(3, dtype=np.float32))
