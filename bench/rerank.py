"""Relevance judges for grounded drafts (issue 30): does a judge that reads ticket and passage together
separate answerable from unanswerable tickets better than the best passage's cosine?

    .venv/bin/python bench/rerank.py

CALIBRATION half of bench/data/kb only (it never reads the test half). For each ticket the real store
(pipeline/adapters/knowledge_store.py on moto's S3, in process, offline MiniLM) retrieves the top
KB_TOP_K passages for the same redacted query the draft step sends; every judge scores those pairs and a
ticket's score is its best pair's. Judges:

- `cosine`: the best passage's cosine, today's gate (contract/defaults.KB_THRESHOLDS);
- `maxsim t->p`: late interaction on the same MiniLM, each ticket token's best cosine with any passage
  token, averaged over the ticket's tokens (ColBERT's MaxSim on contextual token states, no training);
- `maxsim both`: the mean of t->p and p->t.

A cross-encoder is not among them: no PyPI wheel ships one's weights (docs/measurements/2026-12-07-rerank.md).

Figures per judge: AUC of the ticket score, answerable vs unanswerable; top-1 right: answerable tickets
whose best-judged passage is from the answering article; grounded share of answerable tickets at the cut
that keeps >= 90 % of the unanswerable ones without sources, fitted on all of the half (optimistic) and
with 4-fold cross-validation inside it (cut fitted on three folds, counted on the fourth); the judge's own
time per ticket (its KB_TOP_K pairs, passages encoded on the fly) p50 / p95 on this machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kb import _pct, demo_knowledge_base, load_tickets, redacted
from tools.kb_eval import NO_SOURCES_TARGET  # the share of unanswerable kept without sources

FOLDS = 4


@dataclass
class Case:
    """One calibration ticket: its query, retrieved passages and label."""

    id: str
    answer: str | None
    query: str
    docs: list[str]
    passages: list[str]
    cosines: list[float]
    scores: dict[str, list[float]] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)


def retrieve() -> list[Case]:
    """The top KB_TOP_K hits of the real store for every calibration ticket's redacted query."""
    from moto import mock_aws

    from contract import defaults

    cases = []
    with mock_aws():
        kb = demo_knowledge_base("kb-bench")
        for t in load_tickets("calibration"):
            _, _, query = redacted(t)
            hits = kb.search(query, k=defaults.KB_TOP_K)
            cases.append(
                Case(
                    id=t["id"],
                    answer=Path(t["answer"]).stem if t["answer"] else None,
                    query=query,
                    docs=[h.doc_id for h in hits],
                    passages=[h.passage.embedding_text(h.title) for h in hits],
                    cosines=[h.score for h in hits],
                )
            )
    return cases


def maxsim_judges() -> dict[str, Callable[[str, list[str]], list[float]]]:
    """Late-interaction judges on the offline MiniLM's token states."""
    from local.embeddings import OfflineEmbedder

    model = OfflineEmbedder()

    def pair_sims(query: str, passages: list[str]) -> list[np.ndarray]:
        q = model.token_vectors(query)
        return [q @ model.token_vectors(p).T for p in passages]

    def t_to_p(query: str, passages: list[str]) -> list[float]:
        return [float(s.max(axis=1).mean()) for s in pair_sims(query, passages)]

    def both(query: str, passages: list[str]) -> list[float]:
        sims = pair_sims(query, passages)
        return [float((s.max(axis=1).mean() + s.max(axis=0).mean()) / 2) for s in sims]

    return {"maxsim t->p": t_to_p, "maxsim both": both}


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a random positive scores above a random negative), ties counted half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / max(1, len(positive) * len(negative))


def auc_gain_interval(
    judge: tuple[list[float], list[float]], base: tuple[list[float], list[float]], rounds: int = 2000
) -> tuple[float, float]:
    """95 % interval of AUC(judge) - AUC(base) over tickets resampled with replacement within each label
    (paired: both judges see the same resample)."""
    rng = np.random.default_rng(30)
    jp, jn, bp, bn = (np.asarray(v) for v in (*judge, *base))

    def auc_of(pos: np.ndarray, neg: np.ndarray) -> float:
        return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())

    gains = []
    for _ in range(rounds):
        i = rng.integers(0, len(jp), len(jp))
        k = rng.integers(0, len(jn), len(jn))
        gains.append(auc_of(jp[i], jn[k]) - auc_of(bp[i], bn[k]))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def cut_for(unanswerable: list[float]) -> float:
    """The lowest cut at which >= NO_SOURCES_TARGET of these unanswerable scores fall below it."""
    ordered = sorted(unanswerable)
    keep = int(np.ceil(NO_SOURCES_TARGET * len(ordered)))  # how many must fall below the cut
    return ordered[keep - 1] + 1e-9 if keep else float("-inf")


def grounded_cv(best: dict[str, float], cases: list[Case]) -> tuple[float, float]:
    """Pooled held-out (grounded share of answerable, no-source share of unanswerable) over FOLDS folds,
    stratified by label in id order."""
    answerable = sorted((c for c in cases if c.answer), key=lambda c: c.id)
    unanswerable = sorted((c for c in cases if not c.answer), key=lambda c: c.id)
    fold = {c.id: i % FOLDS for i, c in enumerate(answerable)}
    fold |= {c.id: i % FOLDS for i, c in enumerate(unanswerable)}
    grounded = kept = 0
    for k in range(FOLDS):
        cut = cut_for([best[c.id] for c in unanswerable if fold[c.id] != k])
        grounded += sum(best[c.id] >= cut for c in answerable if fold[c.id] == k)
        kept += sum(best[c.id] < cut for c in unanswerable if fold[c.id] == k)
    return grounded / len(answerable), kept / len(unanswerable)


def main() -> int:
    """Retrieve, judge, print the table."""
    cases = retrieve()
    judges = maxsim_judges()
    judges["maxsim t->p"](cases[0].query, cases[0].passages[:1])  # warm-up: loads the weights
    for case in cases:
        case.scores["cosine"] = case.cosines
        case.ms["cosine"] = 0.0  # computed by retrieval itself
        for name, judge in judges.items():
            start = time.perf_counter()
            case.scores[name] = judge(case.query, case.passages)
            case.ms[name] = (time.perf_counter() - start) * 1000
    answerable = [c for c in cases if c.answer]
    unanswerable = [c for c in cases if not c.answer]
    print(
        f"calibration half: {len(answerable)} answerable, {len(unanswerable)} unanswerable tickets; "
        f"cut keeps >= {NO_SOURCES_TARGET:.0%} of unanswerable without sources"
    )
    header = (
        f"{'judge':<12} {'AUC':>6} {'vs cosine, 95% CI':>17} {'top1 right':>10} {'cut':>7} {'grounded':>9} "
        f"{'CV grounded':>11} {'CV no-src':>9} {'p50 ms':>7} {'p95 ms':>7}"
    )
    print(header)
    print("-" * len(header))

    def best_of(name: str) -> dict[str, float]:
        return {c.id: max(c.scores[name], default=float("-inf")) for c in cases}

    def split(best: dict[str, float]) -> tuple[list[float], list[float]]:
        return [best[c.id] for c in answerable], [best[c.id] for c in unanswerable]

    for name in ["cosine", *judges]:
        best = best_of(name)
        low, high = auc_gain_interval(split(best), split(best_of("cosine")))
        gain = "" if name == "cosine" else f"{low:+.3f} .. {high:+.3f}"
        top1 = sum(
            1 for c in answerable if c.docs and c.docs[int(np.argmax(c.scores[name]))] == c.answer
        ) / len(answerable)
        cut = cut_for([best[c.id] for c in unanswerable])
        grounded = sum(best[c.id] >= cut for c in answerable) / len(answerable)
        cv_grounded, cv_kept = grounded_cv(best, cases)
        times = [c.ms[name] for c in cases]
        print(
            f"{name:<12} {auc(*split(best)):>6.3f} {gain:>17} {top1:>10.3f} {cut:>7.3f} {grounded:>9.3f} {cv_grounded:>11.3f} {cv_kept:>9.3f} "
            f"{statistics.median(times):>7.1f} {_pct(times, 95):>7.1f}"
        )
    print(
        "cross-encoder: not measured, no PyPI wheel ships its weights (docs/measurements/2026-12-07-rerank.md)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
