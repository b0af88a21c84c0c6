"""Which offline embedder retrieves and gates the knowledge base best (issue 30): CALIBRATION half only.

    .venv/bin/python bench/kb_embedders.py [--dump-texts FILE.json] [--vectors NAME=FILE.npy ...]

The knowledge-base twin of bench/embedders.py. examples/kb/ is ingested into the real store (moto S3) once
per embedder, and every calibration ticket's redacted query is searched against every document, as
bench/kb_signals.py does, so each embedder sees the same passages, sentences and queries. The shipped
MiniLM is measured directly; a candidate that cannot run in this project's environment is measured from
vectors computed elsewhere: `--dump-texts` writes every text the store and the queries embed (passages with
their titles and headings, sentences, redacted queries, product names; first-seen order), and
`--vectors NAME=FILE.npy` reads one unit vector per row of that list (docs/decisions/0019-embedder.md).

Per embedder: article-level recall@3 and MRR (answerable tickets, a rank past 10 counts 0); per gate signal
(best passage cosine, best sentence cosine, that again product-neutral: bench/kb_signals.py) the AUC
(answerable vs unanswerable), the answerable share grounded at the cut keeping 90 % of the unanswerable
without sources fitted on the whole half (optimistic), and with the cut fitted on 3 of 4 folds (50 repeats).
The test half is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kb import DEPTH, demo_knowledge_base, load_tickets, redacted
from bench.kb_signals import _cut, _neutral, auc, cross_validated

SIGNALS = ("passage", "sentence", "sentence, product-neutral")


class Recording:
    """An embedder that passes every call to `inner` and keeps the texts, in first-seen order."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_id, self.dimensions = inner, inner.model_id, inner.dimensions
        self.texts: dict[str, None] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.update(dict.fromkeys(texts))
        result: np.ndarray = self.inner.embed(texts)
        return result


class Precomputed:
    """An embedder answering from vectors computed elsewhere for the texts `--dump-texts` wrote."""

    def __init__(self, name: str, texts: list[str], vectors: np.ndarray) -> None:
        if vectors.shape[0] != len(texts):
            raise SystemExit(f"{name}: {vectors.shape[0]} vectors for {len(texts)} dumped texts")
        vectors = vectors.astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        self.model_id, self.dimensions = f"vectors:{name}", vectors.shape[1]
        self._rows = {t: n for n, t in enumerate(texts)}
        self._vectors = vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._rows]
        if missing:
            raise SystemExit(
                f"{self.model_id}: {len(missing)} texts were not dumped (first: {missing[0][:60]!r}); "
                "run --dump-texts again and recompute the vectors"
            )
        return self._vectors[[self._rows[t] for t in texts]]


def measure(embedder: Any, tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """Ranks, gate signals and labels of the calibration tickets with one embedder."""
    from moto import mock_aws

    ranks: list[int | None] = []
    values: dict[str, list[float]] = {s: [] for s in SIGNALS}
    labels = []
    with mock_aws():
        kb = demo_knowledge_base("kb-embedders", embedder)
        every = len(kb.documents())
        for t in tickets:
            _, _, query = redacted(t)
            hits = kb.search(query, k=every)
            product = {
                (s.passage_id, s.text): s.score for h in kb.search(t["product"], k=every) for s in h.sentences
            }
            q, p = embedder.embed([query, t["product"]])
            qs = np.array([s.score for h in hits for s in h.sentences])
            ps = np.array([product[(s.passage_id, s.text)] for h in hits for s in h.sentences])
            values["passage"].append(hits[0].score)
            values["sentence"].append(float(qs.max()))
            values["sentence, product-neutral"].append(float(_neutral(qs, ps, float(q @ p)).max()))
            ranked = [h.doc_id for h in hits][:DEPTH]
            answer = Path(t["answer"]).stem if t["answer"] else None
            ranks.append(ranked.index(answer) + 1 if answer in ranked else None)
            labels.append(1 if t["answer"] else 0)
    return {"ranks": ranks, "values": {k: np.array(v) for k, v in values.items()}, "y": np.array(labels)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", action="append", default=[], help="NAME=FILE.npy (rows of --dump-texts)")
    parser.add_argument("--texts", help="the JSON list --dump-texts wrote (needed with --vectors)")
    parser.add_argument("--dump-texts", help="write every text embedded (JSON list) here and stop")
    args = parser.parse_args()
    if args.vectors and not args.texts:
        parser.error("--vectors needs --texts FILE.json (the list --dump-texts wrote)")

    from local.embeddings import OfflineEmbedder

    tickets = load_tickets("calibration")
    offline = OfflineEmbedder()
    if args.dump_texts:
        recording = Recording(offline)
        measure(recording, tickets)
        Path(args.dump_texts).write_text(json.dumps(list(recording.texts)), encoding="utf-8")
        print(f"{len(recording.texts)} texts written to {args.dump_texts}")
        return 0
    embedders: list[Any] = [offline]
    if args.vectors:
        texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
        for spec in args.vectors:
            name, _, path = spec.partition("=")
            embedders.append(Precomputed(name, texts, np.load(path)))
    results = [(e.model_id, measure(e, tickets)) for e in embedders]
    y = results[0][1]["y"]
    print(f"calibration half: {int(y.sum())} answerable, {int((1 - y).sum())} unanswerable")
    print()
    print(f"| {'embedder':<34} | recall@3 | MRR   |")
    print(f"|{'-' * 36}|----------|-------|")
    for name, r in results:
        answerable = [k for k, label in zip(r["ranks"], r["y"], strict=True) if label]
        recall = sum(1 for k in answerable if k and k <= 3) / len(answerable)
        mrr = sum(1 / k for k in answerable if k) / len(answerable)
        print(f"| {name:<34} | {recall:8.3f} | {mrr:.3f} |")
    print()
    print(f"| {'embedder':<34} | {'signal':<26} | AUC   | grounded@90% | CV grounded | CV no-src |")
    print(f"|{'-' * 36}|{'-' * 28}|-------|--------------|-------------|-----------|")
    for name, r in results:
        for signal, score in r["values"].items():
            in_sample = float((score[y == 1] > _cut(score, y)).mean())
            g, n = cross_validated(score, y)
            print(
                f"| {name:<34} | {signal:<26} | {auc(score, y):.3f} | {in_sample:12.3f} | {g:11.3f} | {n:9.3f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
