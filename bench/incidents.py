"""Incident grouping benchmark: the hand-written set (calibrate on one half, report on the other), the
generator's bursts, the added latency per ticket, and Titan's cost.

    .venv/bin/python bench/incidents.py [--data FOLDER ...] [--calibration-only] [--cv 5]
                                        [--cv-seeds 0,1,2] [--without FEATURE,...]
                                        [--generator-seeds 4,5,6] [--window-size 10000] [--latency-only]

The link model is FITTED on the calibration half of the hand-written set (bench/data/incidents/*.jsonl,
`split == "calibration"`) and REPORTED on its test half, never tuned on it. Its weights are fitted on the
whole calibration half; its thresholds (join, open, merge) are chosen by k-fold cross-validation INSIDE
the calibration half (`--cv K`, tools/incident_eval.py cross_validate), which also gives the held-out
figures to develop features against (`--cv-seeds` repeats it over several fold deals, `--without` leaves
features out of the fit). `--calibration-only` leaves the test half unread (for work on the signals; the
generator's bursts and the latency are reported either way). The fitted model is printed as the entry to keep in contract/defaults.py INCIDENT_LINK_MODELS;
the test figures are those of the model in contract/defaults.py (what ships).
Offline model (all-MiniLM-L6-v2 on numpy); latency figures are this machine's (2 shared cores), not Lambda's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Titan Text Embeddings V2, on-demand, us-east-1: USD per 1,000 input tokens (AWS Bedrock pricing page,
# checked 2026-11). Kept as data: change it here when the price changes.
TITAN_V2_USD_PER_1K_TOKENS = 0.00002
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
DATA = Path(__file__).resolve().parent / "data" / "incidents"
TARGET_PRECISION, TARGET_RECALL = 0.95, 0.85


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _generated(incidents: int, unrelated: int, seed: int) -> Any:
    from pipeline.domain.incidents import incident_text, profile_of
    from tools.generator import generate_incident_bursts
    from tools.incident_eval import EvalSet, truth_groups

    burst = generate_incident_bursts(incidents, unrelated, seed=seed, now=NOW)
    out = EvalSet()
    for t in burst.tickets:
        out.tickets.append((t.event.ticketId, t.event.submittedAt))
        out.texts.append(incident_text(t.event.data))
        out.profiles.append(profile_of(t.event.data, t.event.submittedAt))
    out.truth = truth_groups(burst.incidents, burst.unrelated)
    return out


def _cosine_baseline(sets: list[Any], vectors: list[Any]) -> tuple[float, Any]:
    """The grouping before issue 29 (time-decayed cosine against one threshold), calibrated the same way."""
    from tools.incident_eval import calibrate, combined, pairwise_scores, replay

    curve = []
    for t in [round(0.40 + 0.02 * i, 2) for i in range(26)]:
        scores = [
            pairwise_scores(replay(d.tickets, v, t), d.truth) for d, v in zip(sets, vectors, strict=True)
        ]
        curve.append((t, combined(scores)))
    best = calibrate(curve)
    return best if best else (0.90, dict(curve)[0.90])


def _report(title: str, sets: list[Any], vectors: list[Any], model: Any, cosine_threshold: float) -> None:
    from tools.incident_eval import bootstrap_intervals, by_incident_size, pairwise_scores, replay

    predicted: dict[str, str | None] = {}
    truth: dict[str, str | None] = {}
    baseline: dict[str, str | None] = {}
    for n, (d, v) in enumerate(zip(sets, vectors, strict=True)):
        # Sets are grouped apart (their ticket ids may repeat across generator seeds): prefix them.
        got = replay(d.tickets, v, model=model, profiles=d.profiles)
        old = replay(d.tickets, v, cosine_threshold)
        predicted.update({f"{n}:{t}": (f"{n}:{g}" if g else None) for t, g in got.items()})
        baseline.update({f"{n}:{t}": (f"{n}:{g}" if g else None) for t, g in old.items()})
        truth.update({f"{n}:{t}": (f"{n}:{g}" if g else None) for t, g in d.truth.items()})
    s, b = pairwise_scores(predicted, truth), pairwise_scores(baseline, truth)
    ci = bootstrap_intervals(predicted, truth)
    tickets = len(truth)
    incidents = len({g for g in truth.values() if g})
    print()
    print(f"## {title}: {tickets} tickets, {incidents} incidents, {s.true_pairs} true pairs")
    print()
    print(f"{'grouping':<34} {'precision':>22} {'recall':>22} {'F1':>6}")
    print(
        f"{'combined link score':<34} {s.precision:7.3f} [{ci['precision'][0]:.3f}, {ci['precision'][1]:.3f}]"
        f" {s.recall:7.3f} [{ci['recall'][0]:.3f}, {ci['recall'][1]:.3f}] {s.f1:6.3f}"
    )
    print(
        f"{'cosine only (before), at ' + format(cosine_threshold, '.2f'):<34} {b.precision:7.3f}"
        f" {'':>14} {b.recall:7.3f} {'':>14} {b.f1:6.3f}"
    )
    print(
        f"({s.correct_pairs}/{s.predicted_pairs} predicted pairs correct; intervals: 95 % cluster bootstrap)"
    )
    print()
    print(
        f"{'incident size':<14} {'incidents':>9} {'true pairs':>10} {'found':>6} {'recall':>7} {'whole':>6} {'strangers':>9}"
    )
    for row in by_incident_size(predicted, truth):
        print(
            f"{row['sizes']:<14} {row['incidents']:>9} {row['true_pairs']:>10} {row['found_pairs']:>6} "
            f"{row['recall']:7.3f} {row['whole']:>6} {row['strangers']:>9}"
        )
    print(
        "(whole: incidents grouped as exactly one group; strangers: tickets of no or another incident in it)"
    )


def grouping(args: argparse.Namespace, embedder: Any) -> list[str]:
    """Fit on the calibration half, report the test half and the generator set; return texts for latency."""
    from contract import defaults
    from pipeline.domain.incident_signals import FEATURES, LinkModel
    from tools.incident_eval import cross_validate, eval_set, fit_weights, load_eval_rows

    folders = args.data or [str(DATA)]
    files = sorted(f for folder in folders for f in Path(folder).glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no *.jsonl in {', '.join(folders)}")
    rows = load_eval_rows(files)
    cal = eval_set(rows, "calibration")
    cal_v = embedder.embed(cal.texts)
    without = [f for f in args.without.split(",") if f]
    unknown = sorted(set(without) - set(FEATURES))
    if unknown:
        raise SystemExit(f"--without: unknown features {unknown} (known: {', '.join(FEATURES)})")
    seeds = [int(s) for s in args.cv_seeds.split(",") if s] or [0]
    deals = [cross_validate(cal, cal_v, folds=args.cv, seed=seed, exclude=without) for seed in seeds]
    cv = deals[0]
    fitted = replace(
        fit_weights([cal], [cal_v], exclude=without),
        threshold=cv.threshold,
        open_threshold=cv.open_threshold,
        merge_threshold=cv.merge_threshold,
    )
    cosine_threshold, _ = _cosine_baseline([cal], [cal_v])
    print(f"# Incident grouping, offline {embedder.model_id}")
    print(f"hand-written set: {', '.join(f.name for f in files)}; {len(rows)} tickets")
    print()
    print("## Calibration half: the fitted link model (keep it in contract/defaults.py INCIDENT_LINK_MODELS)")
    print()
    for name, weight in fitted.weights.items():
        print(f"  {name:<16} {weight:+8.3f}")
    print(f"  {'bias':<16} {fitted.bias:+8.3f}")
    print(
        f"  threshold {fitted.threshold:.2f} (join an incident), open_threshold {fitted.open_threshold}"
        f" (open one with a lone ticket), merge_threshold {fitted.merge_threshold} (None: no merge)"
    )
    print(f"  (thresholds: best held-out F1 with precision >= 0.95 in {args.cv}-fold cross-validation)")
    print()
    s = cv.scores
    print(
        f"## {args.cv}-fold cross-validation inside the calibration half (held-out pairs; thresholds chosen on"
        " them: slightly optimistic)"
    )
    print()
    print(f"  precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  ({s.correct_pairs}/"
          f"{s.predicted_pairs} predicted pairs correct, {s.true_pairs} true)")  # fmt: skip
    if without:
        print(f"  (features left out: {', '.join(without)})")
    if len(deals) > 1:
        # The fold deal alone moves recall by ~0.1: a change is kept only when it helps across deals.
        print()
        print(f"  {'fold deal':<10} {'cv P':>7} {'cv R':>7} {'cv F1':>7}  thresholds (join / open / merge)")
        for seed, deal in zip(seeds, deals, strict=True):
            d = deal.scores
            print(f"  seed {seed:<5} {d.precision:7.3f} {d.recall:7.3f} {d.f1:7.3f}  {deal.threshold} / "
                  f"{deal.open_threshold} / {deal.merge_threshold}")  # fmt: skip
        print(f"  {'mean':<10} {statistics.mean(x.scores.precision for x in deals):7.3f} "
              f"{statistics.mean(x.scores.recall for x in deals):7.3f}")  # fmt: skip
    print()
    print(f"{'threshold':<16} {'value':>6} {'cv P':>7} {'cv R':>7} {'cv F1':>7}")
    for name, value, sc in cv.curve:
        print(f"{name:<16} {value!s:>6} {sc.precision:7.3f} {sc.recall:7.3f} {sc.f1:7.3f}")
    shipped = LinkModel.from_data(defaults.INCIDENT_LINK_MODELS[embedder.model_id])
    same = shipped == fitted
    print()
    print(
        "contract/defaults.py holds this fitted model"
        if same
        else "NOTE: contract/defaults.py holds a different model than this fit: the figures below are the shipped one's"
    )
    _report("Calibration half (fitted on it: optimistic)", [cal], [cal_v], shipped, cosine_threshold)
    texts = list(cal.texts)
    if not args.calibration_only:
        test = eval_set(rows, "test")
        test_v = embedder.embed(test.texts)
        _report("TEST half (never tuned on)", [test], [test_v], shipped, cosine_threshold)
        texts += list(test.texts)
    # The generator's bursts are no part of the hand-written set: reported with or without the test half.
    seeds = [int(s) for s in args.generator_seeds.split(",") if s]
    if seeds:
        gen = [_generated(args.incidents, args.unrelated, s) for s in seeds]
        gen_v = [embedder.embed(g.texts) for g in gen]
        _report(f"Generator bursts, seeds {seeds}", gen, gen_v, shipped, cosine_threshold)
    return texts


def latency_and_cost(args: argparse.Namespace, embedder: Any, texts: list[str]) -> None:
    """The link step's time per ticket: embedding, the window search, and what the link score adds."""
    import numpy as np

    from contract import defaults
    from pipeline.adapters.embeddings import EMBED_TEXT_MAX_CHARS
    from pipeline.adapters.vector_index import MEMBERS_READ, InMemoryVectorIndex
    from pipeline.domain.incident_signals import LinkModel, Profile, extract_signals
    from pipeline.domain.incidents import NEIGHBOURS, decide_link, rescore

    model = LinkModel.from_data(defaults.INCIDENT_LINK_MODELS[embedder.model_id])
    rng = np.random.default_rng(0)
    index = InMemoryVectorIndex(embedder.dimensions)
    noise = rng.normal(size=(args.window_size, embedder.dimensions)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    products = ("Amazon S3", "AWS Lambda", "Amazon RDS", "Amazon EC2")
    for i, v in enumerate(noise):
        profile = Profile(
            products[i % 4], "Access Permissions", f"Co {i % 97}", frozenset({"region:eu-west-1"}), NOW
        )
        index.add(f"W{i}", v, NOW, profile)
        if i % 5 == 0:
            index.incidents[f"W{i}"] = f"INC-{i % 50}"
    search8, search_k, added = [], [], []
    sample = texts[: min(len(texts), 300)]
    for n, v in enumerate(noise[: len(sample)]):
        started = time.perf_counter()
        index.window.top_k(
            v, since=NOW.replace(hour=0), at=NOW, decay_per_hour=defaults.INCIDENT_DECAY_PER_HOUR, k=8
        )
        search8.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        found = index.window.top_k(
            v,
            since=NOW.replace(hour=0),
            at=NOW,
            decay_per_hour=defaults.INCIDENT_DECAY_PER_HOUR,
            k=NEIGHBOURS,
        )
        search_k.append((time.perf_counter() - started) * 1000)
        from pipeline.domain.incidents import Neighbour

        started = time.perf_counter()
        # What issue 29 adds besides more candidates: the candidate incidents' other members (their cosines
        # from the window; on AWS one more BatchGetItem for their profiles), then the group score.
        wanted = {index.incidents[t] for t, _, _ in found if t in index.incidents}
        seen = {t for t, _, _ in found}
        others = [t for t, i in index.incidents.items() if i in wanted and t not in seen]
        member_cos = index.window.cosines(others, v, since=NOW.replace(hour=0))
        more = [(t, c, c) for t, c in sorted(member_cos.items(), key=lambda tc: -tc[1])[:MEMBERS_READ]]
        neighbours = [
            Neighbour(t, s, index.incidents.get(t), similarity=c, profile=index.profiles[t], reporters=3)
            for t, s, c in [*found, *more]
        ]
        profile = Profile("Amazon S3", "Access Permissions", "Acme", extract_signals(sample[n]), NOW)
        decide_link(
            rescore(profile, neighbours, model),
            model.threshold,
            ticket_id="new",
            open_threshold=model.open_threshold,
            merge_threshold=model.merge_threshold,
        )
        added.append((time.perf_counter() - started) * 1000)
    embedder.embed(sample[:1])  # warm
    embed_ms = []
    for text in sample[:200]:
        started = time.perf_counter()
        embedder.embed([text])
        embed_ms.append((time.perf_counter() - started) * 1000)
    extra = [k - e + a for k, e, a in zip(search_k, search8, added, strict=True)]
    print()
    print(f"## Latency per ticket (ms), {len(sample)} tickets, window of {args.window_size:,} open tickets")
    print()
    print(f"{'':<48} {'p50':>8} {'p95':>8} {'p99':>8}")
    rows = [
        ("embedding (offline MiniLM, 1 text)", embed_ms),
        ("search, 8 nearest (before)", search8),
        (f"search, {NEIGHBOURS} nearest (now)", search_k),
        ("members + signals + group score + decision", added),
        ("ADDED by issue 29 (more candidates + score)", extra),
    ]
    for label, values in rows:
        print(f"{label:<48} {_pct(values, 50):8.3f} {_pct(values, 95):8.3f} {_pct(values, 99):8.3f}")
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; on AWS the")
    print(" candidates' profiles come with the BatchGetItem the step already made, plus one for their roots)")

    # Titan bills input tokens; the MiniLM WordPiece count of the same (truncated) text is the estimate.
    tokens = [len(embedder._tokenizer.encode(t[:EMBED_TEXT_MAX_CHARS]).ids) for t in texts]
    mean_tokens = statistics.mean(tokens)
    usd = mean_tokens * TITAN_V2_USD_PER_1K_TOKENS
    print()
    print(
        f"Bedrock Titan Text Embeddings V2: ~{mean_tokens:.0f} input tokens per ticket -> ${usd:.4f} per "
        f"1,000 tickets (at ${TITAN_V2_USD_PER_1K_TOKENS} per 1k tokens)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        action="append",
        help="folder of the hand-written set's *.jsonl files (repeat to read several; default "
        "bench/data/incidents; add bench/data/incidents/batch2 for the second calibration batch)",
    )
    parser.add_argument(
        "--calibration-only", action="store_true", help="do not look at the test half (the rest is reported)"
    )
    parser.add_argument(
        "--cv", type=int, default=5, help="folds of the cross-validation inside the calibration half"
    )
    parser.add_argument(
        "--cv-seeds",
        default="0",
        help="fold deals of the cross-validation, e.g. 0,1,2 (the first one's thresholds are kept)",
    )
    parser.add_argument(
        "--without", default="", help="link features to leave out of the fit (weight 0), comma-separated"
    )
    parser.add_argument("--generator-seeds", default="4,5,6", help="generator sets to report ('' for none)")
    parser.add_argument("--incidents", type=int, default=10, help="bursts per generator set")
    parser.add_argument("--unrelated", type=int, default=60, help="unrelated tickets per generator set")
    parser.add_argument("--window-size", type=int, default=10_000)
    parser.add_argument("--latency-only", action="store_true", help="skip the grouping")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from local.embeddings import OfflineEmbedder

    embedder = OfflineEmbedder()
    if args.latency_only:
        texts = list(_generated(args.incidents, args.unrelated, 4).texts)
    else:
        texts = grouping(args, embedder)
    latency_and_cost(args, embedder, texts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
