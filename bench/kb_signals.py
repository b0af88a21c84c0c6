"""Does a relevance signal separate answerable from unanswerable tickets better than today's cosine?
(issue 30, the gate). CALIBRATION half only: it refuses the test half.

    .venv/bin/python bench/kb_signals.py

Ingests examples/kb/ into the real store (moto S3, offline MiniLM) like bench/kb.py, searches every document
for each calibration ticket's redacted text, and for the ticket's product name alone, and scores three
signals per ticket: the best passage cosine (today's gate), the best sentence cosine, and that again with the
product's direction projected out of the ticket and of every sentence ("product-neutral": unanswerable
tickets are about the same products as the articles, so the product is what they share). For sentence s,
ticket q and product p (unit vectors): (q.s - (q.p)(s.p)) / sqrt((1 - (q.p)^2)(1 - (s.p)^2)).

Prints per signal: the AUC (answerable vs unanswerable), the answerable share grounded at the cut that keeps
90 % of the unanswerable ones without sources, fitted on the whole half (optimistic), and the same with the
cut fitted on 3 of 4 folds and counted on the fourth (50 repeats): the figure a gate would hold.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kb import demo_knowledge_base, load_tickets, redacted

KEEP = 0.90  # unanswerable tickets to keep without sources (the target)


def _neutral(qs: np.ndarray, ps: np.ndarray, qp: float) -> np.ndarray:
    """Cosines of q and each sentence with p's direction projected out of both."""
    denominator = np.sqrt(np.clip((1 - qp**2) * (1 - ps**2), 1e-9, None))
    return (qs - qp * ps) / denominator


def signals() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each signal's value per calibration ticket, and the labels (1: an article answers it)."""
    from moto import mock_aws

    from pipeline.adapters.embeddings import embedder

    out: dict[str, list[float]] = {"passage (today)": [], "sentence": [], "sentence, product-neutral": []}
    labels = []
    with mock_aws():
        kb = demo_knowledge_base("kb-signals")
        every = len(kb.documents())
        for t in load_tickets("calibration"):
            _, _, query = redacted(t)
            hits = kb.search(query, k=every)
            product = {
                (s.passage_id, s.text): s.score for h in kb.search(t["product"], k=every) for s in h.sentences
            }
            q, p = embedder().embed([query, t["product"]])
            qp = float(q @ p)
            qs = np.array([s.score for h in hits for s in h.sentences])
            ps = np.array([product[(s.passage_id, s.text)] for h in hits for s in h.sentences])
            out["passage (today)"].append(hits[0].score)
            out["sentence"].append(float(qs.max()))
            out["sentence, product-neutral"].append(float(_neutral(qs, ps, qp).max()))
            labels.append(1 if t["answer"] else 0)
    return {k: np.array(v) for k, v in out.items()}, np.array(labels)


def auc(score: np.ndarray, y: np.ndarray) -> float:
    pos, neg = score[y == 1], score[y == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _cut(score: np.ndarray, y: np.ndarray) -> float:
    negatives = np.sort(score[y == 0])
    return float(negatives[int(np.ceil(KEEP * len(negatives))) - 1])


def cross_validated(
    score: np.ndarray, y: np.ndarray, folds: int = 4, repeats: int = 50
) -> tuple[float, float]:
    """(answerable grounded, unanswerable without sources), each fold's cut fitted on the other folds."""
    rng = np.random.default_rng(30)
    grounded: list[bool] = []
    closed: list[bool] = []
    for _ in range(repeats):
        pos, neg = rng.permutation(np.flatnonzero(y == 1)), rng.permutation(np.flatnonzero(y == 0))
        for f in range(folds):
            held = np.concatenate([pos[f::folds], neg[f::folds]])
            train = np.setdiff1d(np.arange(len(y)), held)
            cut = _cut(score[train], y[train])
            grounded += list(score[held][y[held] == 1] > cut)
            closed += list(score[held][y[held] == 0] <= cut)
    return float(np.mean(grounded)), float(np.mean(closed))


def main() -> int:
    values, y = signals()
    print(f"calibration half: {int(y.sum())} answerable, {int((1 - y).sum())} unanswerable")
    print(f"{'signal':28s} {'AUC':>6s} {'grounded@90%':>13s} {'CV grounded':>12s} {'CV no-src':>10s}")
    for name, score in values.items():
        in_sample = float((score[y == 1] > _cut(score, y)).mean())
        g, n = cross_validated(score, y)
        print(f"{name:28s} {auc(score, y):6.3f} {in_sample:13.3f} {g:12.3f} {n:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
