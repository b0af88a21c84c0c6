"""The knowledge-base index on AWS (docs/decisions/0020-knowledge-base-store.md): its size, what loading it
costs a cold draft function, and what retrieval adds to a ticket's cost.

    .venv/bin/python bench/kb_index.py [--times 10]

Part 1, size and load: examples/kb/ (and the same set repeated `--times` over under other ids, a stand-in for
a help centre that many times bigger) ingested into the real store (pipeline/adapters/knowledge_store.py on
moto's S3, in process) with vectors of Titan v2's shape (512 dimensions, stored float16). The vectors' values
do not change the index's size or its load time, so a seeded random vector per passage stands for Titan's
here (no Bedrock call); retrieval quality is bench/kb.py's job. A cold load is the first search of a fresh
store: HEAD + GET of kb/index.json, JSON parse, the vector matrix built; peak memory is Python's allocations
during it (tracemalloc).

Part 2, cost inputs: for every ticket of bench/data/kb/tickets.jsonl, the redacted subject + description
the draft step embeds (its Titan input tokens) and the quotations the reply model gets (its extra prompt
tokens), with the offline embedder and its threshold (tokens estimated as pipeline/domain/usage does).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "examples" / "kb"


class TitanShapedEmbedder:
    """512-dimension unit vectors under Titan v2's model id: the size and load time of the real index."""

    def __init__(self) -> None:
        from contract import defaults

        self.model_id = defaults.BEDROCK_EMBEDDING_MODEL_ID
        self.dimensions = defaults.BEDROCK_EMBEDDING_DIMENSIONS
        self._rng = np.random.default_rng(30)

    def embed(self, texts: list[str]) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dimensions)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _documents(times: int) -> list[Any]:
    from tools.kb import discover, read_document

    files, _ = discover([str(ARTICLES)])
    base = [read_document(f) for f in files]
    out = list(base)
    for n in range(1, times):
        out += [
            dataclasses.replace(d, doc_id=f"{d.doc_id}-{n}", uri=f"{d.uri}-{n}", origin=f"{d.origin}.{n}")
            for d in base
        ]
    return out


def size_and_load(times: int) -> dict[str, float]:
    """Ingest `times` copies of examples/kb, then load the index cold: its size, load time and memory."""
    from contract.clients import aws_client
    from pipeline.adapters.knowledge_store import INDEX_KEY, S3KnowledgeBase

    s3 = aws_client("s3", region="us-east-1", endpoint_url=None)
    bucket = f"kb-index-{times}"
    s3.create_bucket(Bucket=bucket)
    docs = _documents(times)
    S3KnowledgeBase(bucket, s3, TitanShapedEmbedder()).ingest(docs)
    size = s3.head_object(Bucket=bucket, Key=INDEX_KEY)["ContentLength"]
    loads, peaks, searches = [], [], []
    for _ in range(3):
        cold = S3KnowledgeBase(bucket, s3, TitanShapedEmbedder(), refresh_seconds=60)
        tracemalloc.start()
        start = time.perf_counter()
        cold.documents()  # HEAD + GET + parse + matrix: what the first ticket of a new environment waits for
        loads.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        start = time.perf_counter()
        for _ in range(20):
            cold.search("the reports bucket answers AccessDenied from my laptop")
        searches.append((time.perf_counter() - start) / 20)
    passages = sum(d.passages for d in cold.documents())
    return {
        "documents": len(docs),
        "passages": passages,
        "index_mb": size / 1e6,
        "load_s": statistics.median(loads),
        "peak_mb": max(peaks) / 1e6,
        "search_ms": statistics.median(searches) * 1000,
    }


def cost_inputs() -> dict[str, float]:
    """Mean Titan input tokens of the draft step's query and mean extra prompt tokens of the quotations."""
    import json

    from bench.kb import demo_knowledge_base, redacted
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.grounding import ground, quotations_prompt
    from pipeline.domain.usage import estimated_tokens

    kb = demo_knowledge_base("kb-cost")
    rows = [
        json.loads(line) for line in (ROOT / "bench/data/kb/tickets.jsonl").read_text().splitlines() if line
    ]
    query_tokens, prompt_tokens, grounded = [], [], 0
    for t in rows:
        _, _, query = redacted(t)
        g = ground(query, kb, embedder().model_id)
        query_tokens.append(estimated_tokens(query))
        prompt_tokens.append(estimated_tokens(quotations_prompt(g)) if g else 0)
        grounded += bool(g and g.answered)
    return {
        "tickets": len(rows),
        "grounded_share": grounded / len(rows),
        "query_tokens": statistics.mean(query_tokens),
        "prompt_tokens": statistics.mean(prompt_tokens),
        "prompt_tokens_p95": sorted(prompt_tokens)[int(0.95 * (len(prompt_tokens) - 1))],
    }


def main() -> int:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10, help="the bigger set: examples/kb this many times")
    args = parser.parse_args()
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "b", "AWS_SECRET_ACCESS_KEY": "b"}.items():
        os.environ.setdefault(key, value)
    with mock_aws():
        print("| set | documents | passages | index (MB) | cold load (s) | peak memory (MB) | search (ms) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for times in (1, args.times):
            f = size_and_load(times)
            print(
                f"| examples/kb x{times} | {f['documents']:.0f} | {f['passages']:.0f} | {f['index_mb']:.2f} | "
                f"{f['load_s']:.3f} | {f['peak_mb']:.1f} | {f['search_ms']:.2f} |"
            )
        c = cost_inputs()
        print()
        print(
            f"{c['tickets']:.0f} tickets: Titan query {c['query_tokens']:.0f} tokens on average; quotations "
            f"{c['prompt_tokens']:.0f} extra prompt tokens on average (p95 {c['prompt_tokens_p95']:.0f}), "
            f"{c['grounded_share']:.0%} of tickets grounded"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
