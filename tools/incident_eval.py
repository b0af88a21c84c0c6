"""Measuring incident grouping against ground truth: pairwise precision, recall and F1; fitting the link model.

A pair of tickets is "together" when both belong to the same incident. Precision: of the pairs we put
together, how many the truth has together (a wrong merge hides a customer, so it matters most). Recall: of
the truth's pairs, how many we found. The grouping is replayed exactly as the workflow does it
(pipeline.domain.incidents.link_by_model over the open window, in submission order).

The truth is either a `tms generate --incidents --truth` file or the hand-written evaluation set
(bench/data/incidents/*.jsonl, see its README): `load_eval_set` reads the latter.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from contract.errors import ConfigurationError, TmsError
from contract.models import Customer, TicketData
from pipeline.adapters.vector_index import InMemoryVectorIndex
from pipeline.domain.incident_signals import FEATURES, LinkModel, Profile, group_features
from pipeline.domain.incidents import (
    DEFAULT_DECAY_PER_HOUR,
    DEFAULT_WINDOW,
    NEIGHBOURS,
    LinkJudge,
    Verdict,
    apply_link,
    candidate_groups,
    decide_link,
    incident_text,
    judged_text,
    link_by_model,
    profile_of,
)


@dataclass(frozen=True)
class PairScores:
    """Pairwise precision/recall/F1 of a grouping against the truth."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(groups: Mapping[str, str | None]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = {}
    for ticket, group in groups.items():
        if group:
            members.setdefault(group, []).append(ticket)
    return {tuple(sorted(p)) for ids in members.values() for p in combinations(ids, 2)}  # type: ignore[misc]


def pairwise_scores(predicted: Mapping[str, str | None], truth: Mapping[str, str | None]) -> PairScores:
    """Compare two groupings (ticket id -> group id, None = alone)."""
    p, t = _pairs(predicted), _pairs(truth)
    return PairScores(true_pairs=len(t), predicted_pairs=len(p), correct_pairs=len(p & t))


def truth_groups(incidents: Mapping[str, Sequence[str]], unrelated: Iterable[str]) -> dict[str, str | None]:
    """The truth file's incidents as ticket id -> group (None for unrelated tickets)."""
    groups: dict[str, str | None] = dict.fromkeys(unrelated)
    for key, ids in incidents.items():
        groups.update(dict.fromkeys(ids, key))
    return groups


def replay(
    tickets: Sequence[tuple[str, datetime]],
    vectors: np.ndarray,
    threshold: float | None = None,
    *,
    model: LinkModel | None = None,
    profiles: Sequence[Profile] | None = None,
    decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
    window: timedelta = DEFAULT_WINDOW,
    k: int = NEIGHBOURS,
    pairs_out: list[tuple[dict[str, float], str, list[str]]] | None = None,
    judge: LinkJudge | None = None,
    texts: Sequence[str] | None = None,
) -> dict[str, str | None]:
    """Group tickets (id, submitted_at; in submission order) as the workflow step would; id -> incident.

    With a `model` (and the tickets' `profiles`), candidate groups get the combined link score, are linked
    and merged as pipeline.domain.incidents.decide_link says, and `threshold` overrides the model's join
    threshold; without one, the time-decayed cosine is compared with `threshold` (the grouping before issue
    29, no merges). `pairs_out` collects every scored (features, new id, the group's member ids). With a
    `judge` and the tickets' judged `texts`, a borderline best group is judged as the workflow step does.
    """
    index = InMemoryVectorIndex(vectors.shape[1])
    for i, ((ticket_id, submitted), vector) in enumerate(zip(tickets, vectors, strict=True)):
        profile = profiles[i] if profiles is not None else None
        neighbours = index.nearest(
            vector, since=submitted - window, at=submitted, decay_per_hour=decay_per_hour, k=k
        )
        if model is not None:
            if pairs_out is not None:
                for members in candidate_groups(neighbours, ticket_id=ticket_id).values():
                    feats = group_features(
                        profile or Profile(),
                        [(m.profile or Profile(), m.cosine) for m in members],
                        reporters=max(m.reporters for m in members),
                    )
                    pairs_out.append((feats, ticket_id, [m.ticket_id for m in members]))
            link = link_by_model(
                profile or Profile(),
                neighbours,
                model,
                ticket_id=ticket_id,
                threshold=threshold,
                judge=judge,
                text=texts[i] if texts is not None else "",
            )
        else:
            if threshold is None:
                raise ValueError("replay needs a threshold or a link model")
            # The grouping before issue 29: the nearest single ticket, no groups, no merges.
            best = max(
                (n for n in neighbours if n.ticket_id != ticket_id), key=lambda n: n.score, default=None
            )
            link = decide_link([best] if best else [], threshold, ticket_id=ticket_id)
        apply_link(index.incidents, ticket_id, link)
        index.add(ticket_id, vector, submitted, profile, texts[i] if texts is not None else "")
    return {t: index.incidents.get(t) for t, _ in tickets}


# --- Fitting the link model -------------------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression by Newton's method (IRLS).

    Deterministic and numpy-only: a handful of features and a few thousand pairs need nothing more.
    """
    if len(x) != len(y) or not len(y):
        raise ValueError("fit_logistic needs as many labels as rows, and at least one")
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -60, 60)))
        gradient = a.T @ (p - y) + penalty * w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return w


# The direction each feature may push the score (see pipeline.domain.incident_signals.FEATURES).
EXPECTED_SIGN = {
    f: (-1 if f in ("log_minutes", "region_conflict", "symptom_conflict") else 1) for f in FEATURES
}


def _fit_pass(
    sets: Sequence[EvalSet],
    vectors: Sequence[np.ndarray],
    model: LinkModel,
    decay: float,
    l2: float,
    exclude: Sequence[str] = (),
) -> LinkModel:
    rows: list[list[float]] = []
    labels: list[float] = []
    for data, vecs in zip(sets, vectors, strict=True):
        pairs: list[tuple[dict[str, float], str, list[str]]] = []
        replay(data.tickets, vecs, model=model, profiles=data.profiles, decay_per_hour=decay, pairs_out=pairs)
        for feats, a, members in pairs:
            rows.append([feats[f] for f in FEATURES])
            # A group is "the same incident" when most of its members are in the new ticket's incident.
            mine = data.truth.get(a)
            same = sum(1 for b in members if mine is not None and data.truth.get(b) == mine)
            labels.append(float(2 * same > len(members)))
    x, y = np.asarray(rows), np.asarray(labels)
    # A weight against its feature's meaning (sharing an error code LOWERING the score) would be an artefact
    # of correlated features on a small set, and unexplainable: such a feature is dropped and the rest refit.
    kept = [c for c, f in enumerate(FEATURES) if f not in exclude]
    while True:
        w = fit_logistic(x[:, kept], y, l2=l2)
        wrong = [c for c, v in zip(kept, w[:-1], strict=True) if v * EXPECTED_SIGN[FEATURES[c]] < 0]
        if not wrong:
            break
        kept = [c for c in kept if c not in wrong]
    weights = dict.fromkeys(FEATURES, 0.0)
    weights.update({FEATURES[c]: round(float(v), 3) for c, v in zip(kept, w[:-1], strict=True)})
    return replace(model, weights=weights, bias=round(float(w[-1]), 3))


THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98)


def fit_weights(
    sets: Sequence[EvalSet],
    vectors: Sequence[np.ndarray],
    *,
    decay: float = DEFAULT_DECAY_PER_HOUR,
    l2: float = 1.0,
    exclude: Sequence[str] = (),
) -> LinkModel:
    """The link model's weights (threshold 0.5, no opening or merge threshold), fitted in two passes: the
    groups and their companies depend on the incidents already formed, so the first pass replays with a
    model that never links (every candidate is a lone ticket) and the second replays with the first fit,
    scoring the candidate groups as the workflow would meet them."""
    never = LinkModel(weights=dict.fromkeys(FEATURES, 0.0), bias=-60.0, threshold=0.5)
    first = _fit_pass(sets, vectors, never, decay, l2, exclude)
    return _fit_pass(sets, vectors, first, decay, l2, exclude)


def _grid_scores(
    sets: Sequence[EvalSet], vectors: Sequence[np.ndarray], model: LinkModel, decay: float
) -> PairScores:
    return combined(
        pairwise_scores(replay(d.tickets, v, model=model, profiles=d.profiles, decay_per_hour=decay), d.truth)
        for d, v in zip(sets, vectors, strict=True)
    )


def fit_link_model(
    sets: Sequence[EvalSet],
    vectors: Sequence[np.ndarray],
    *,
    decay: float = DEFAULT_DECAY_PER_HOUR,
    l2: float = 1.0,
    thresholds: Sequence[float] = THRESHOLDS,
    min_precision: float = 0.95,
    exclude: Sequence[str] = (),
    tune_open: bool = True,
    tune_merge: bool = True,
) -> tuple[LinkModel, list[tuple[float, PairScores]]]:
    """Fit the weights (fit_weights), then choose the thresholds IN SAMPLE (`tms eval --incidents` on a
    team's own tickets; bench/incidents.py chooses them by cross_validate instead). On the same sets,
    the join threshold is the best pairwise F1 with precision >= min_precision; with it fixed, the opening
    threshold (a new incident with a lone ticket) and the merge threshold (None: no merge) are chosen the
    same way, one after the other. Features named in `exclude` get weight 0.
    Returns the model and the join threshold's curve.
    """
    second = fit_weights(sets, vectors, decay=decay, l2=l2, exclude=exclude)
    curve = [(t, _grid_scores(sets, vectors, replace(second, threshold=t), decay)) for t in thresholds]
    best = calibrate(curve, min_precision=min_precision)
    model = replace(second, threshold=best[0] if best else max(thresholds))
    if tune_open:
        options = [
            (t, _grid_scores(sets, vectors, replace(model, open_threshold=t), decay)) for t in thresholds
        ]
        chosen = calibrate(options, min_precision=min_precision)
        if chosen and chosen[0] != model.threshold:
            model = replace(model, open_threshold=chosen[0])
    if tune_merge:
        # None stays unless a merge threshold beats it: the simplest model that does as well.
        base = _grid_scores(sets, vectors, model, decay)
        merges = [
            (t, _grid_scores(sets, vectors, replace(model, merge_threshold=t), decay)) for t in thresholds
        ]
        chosen = calibrate(merges, min_precision=min_precision)
        if chosen and (base.precision < min_precision or chosen[1].f1 > base.f1 + 1e-6):
            model = replace(model, merge_threshold=chosen[0])
    return model, curve


@dataclass(frozen=True)
class CrossValidation:
    """What `cross_validate` found: the thresholds it chose and their held-out pair counts."""

    scores: PairScores  # summed over the folds, pairs touching a held-out ticket
    threshold: float
    open_threshold: float | None
    merge_threshold: float | None
    models: list[LinkModel]  # each fold's fitted weights (how stable the fit is)
    curve: list[tuple[str, float | None, PairScores]]  # (which threshold, value, held-out scores) tried


def cross_validate(
    data: EvalSet,
    vectors: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    thresholds: Sequence[float] = THRESHOLDS,
    min_precision: float = 0.95,
    exclude: Sequence[str] = (),
    tune_open: bool = True,
    tune_merge: bool = True,
) -> CrossValidation:
    """k-fold cross-validation INSIDE one set (the calibration half), which also chooses the thresholds.

    Whole incidents (and unrelated tickets) are dealt into folds; each fold's weights are fitted on the other
    folds only. A threshold is then judged on held-out data: the WHOLE set is replayed with each fold's
    weights (grouping uses no labels, so a held-out report still meets every stranger of its minutes, at
    the density the shipped model will see) and only pairs that touch one of that fold's tickets count.
    The join threshold is the best held-out F1 with precision >= min_precision; with it fixed, the opening
    threshold and the merge threshold (None: no merge, kept unless a merge does better) are chosen the same
    way. Choosing on the held-out figures and reporting them makes them slightly optimistic; the test
    half is what tells.
    """
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    rng = random.Random(seed)
    labels = set(data.truth.values())
    keys = sorted({g or t for t, g in data.truth.items()})
    incidents = [k for k in keys if k in labels]
    alone = [k for k in keys if k not in labels]
    rng.shuffle(incidents)
    rng.shuffle(alone)
    fold_of = {k: n % folds for n, k in enumerate(incidents)}
    fold_of.update({k: n % folds for n, k in enumerate(alone)})
    held = [{t for t, _ in data.tickets if fold_of[data.truth[t] or t] == f} for f in range(folds)]
    models = []
    for f in range(folds):
        kept = [i for i, (t, _) in enumerate(data.tickets) if t not in held[f]]
        models.append(fit_weights([subset(data, kept)], [vectors[kept]], exclude=exclude))
    true_pairs = _pairs(data.truth)

    def judged(**chosen: Any) -> PairScores:
        out = []
        for f, model in enumerate(models):
            got = replay(data.tickets, vectors, model=replace(model, **chosen), profiles=data.profiles)
            predicted = {p for p in _pairs(got) if held[f] & set(p)}
            true = {p for p in true_pairs if held[f] & set(p)}
            out.append(PairScores(len(true), len(predicted), len(predicted & true)))
        return combined(out)

    curve: list[tuple[str, float | None, PairScores]] = []
    chosen: dict[str, float | None] = {
        "threshold": max(thresholds),
        "open_threshold": None,
        "merge_threshold": None,
    }
    joins = [(t, judged(threshold=t)) for t in thresholds]
    curve += [("threshold", t, sc) for t, sc in joins]
    best = calibrate(joins, min_precision=min_precision)
    if best:
        chosen["threshold"] = best[0]
    current = best[1] if best else dict(joins)[max(thresholds)]
    for name, wanted in (("open_threshold", tune_open), ("merge_threshold", tune_merge)):
        if not wanted:
            continue
        options = [(t, judged(**{**chosen, name: t})) for t in thresholds]
        curve += [(name, t, sc) for t, sc in options]
        pick = calibrate(options, min_precision=min_precision)
        if pick and (current.precision < min_precision or pick[1].f1 > current.f1 + 1e-6):
            chosen[name], current = pick[0], pick[1]
    return CrossValidation(
        scores=current,
        threshold=float(chosen["threshold"] or max(thresholds)),
        open_threshold=chosen["open_threshold"],
        merge_threshold=chosen["merge_threshold"],
        models=models,
        curve=curve,
    )


def subset(data: EvalSet, rows: Sequence[int]) -> EvalSet:
    """The tickets at these positions (kept in submission order)."""
    out = EvalSet()
    for i in rows:
        out.tickets.append(data.tickets[i])
        out.texts.append(data.texts[i])
        if data.judged:  # sets built by hand may leave the judged texts out
            out.judged.append(data.judged[i])
        out.profiles.append(data.profiles[i])
        out.truth[data.tickets[i][0]] = data.truth[data.tickets[i][0]]
    return out


def combined(scores: Iterable[PairScores]) -> PairScores:
    """Pair counts of several sets added up."""
    items = list(scores)
    return PairScores(
        true_pairs=sum(s.true_pairs for s in items),
        predicted_pairs=sum(s.predicted_pairs for s in items),
        correct_pairs=sum(s.correct_pairs for s in items),
    )


# --- The hand-written evaluation set ---------------------------------------------------------------------

EVAL_EPOCH = datetime(2026, 12, 1, tzinfo=UTC)  # minute 0 of the hand-written set
REQUIRED = ("id", "incident", "split", "minute", "customer", "email", "company", "product", "issue_type",
            "subject", "description")  # fmt: skip


@dataclass
class EvalSet:
    """Tickets of one split in submission order, their texts, profiles and truth (id -> incident or None)."""

    tickets: list[tuple[str, datetime]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    truth: dict[str, str | None] = field(default_factory=dict)
    judged: list[str] = field(default_factory=list)  # what the second opinion reads of each (judged_text)


def eval_ticket(row: Mapping[str, Any]) -> tuple[TicketData, datetime]:
    """One line of the hand-written set as the ticket the workflow would see, and its submission time."""
    name = str(row["customer"]).strip() or "Unknown"
    first, _, last = name.partition(" ")
    data = TicketData(
        subject=row["subject"],
        description=row["description"],
        customer=Customer(
            first_name=first,
            last_name=last or first,
            full_name=name,
            email=row["email"],
            company=row["company"],
        ),
        product=row["product"],
        issue_type=row["issue_type"],
    )
    return data, EVAL_EPOCH + timedelta(minutes=int(row["minute"]))


def load_eval_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The rows of the hand-written set's JSONL files; a clear error names a bad line."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e})") from e
            missing = [k for k in REQUIRED if k not in row]
            if missing:
                raise ValueError(f"{path}:{n}: missing {', '.join(missing)}")
            if row["split"] not in ("calibration", "test"):
                raise ValueError(f"{path}:{n}: split must be calibration or test, not {row['split']!r}")
            if row["id"] in seen:
                raise ValueError(f"{path}:{n}: duplicate id {row['id']!r}")
            seen.add(row["id"])
            rows.append(row)
    return rows


def eval_set(rows: Iterable[Mapping[str, Any]], split: str) -> EvalSet:
    """The tickets of one split, in submission order (ties by id)."""
    chosen = sorted((r for r in rows if r["split"] == split), key=lambda r: (int(r["minute"]), r["id"]))
    out = EvalSet()
    for r in chosen:
        data, at = eval_ticket(r)
        out.tickets.append((r["id"], at))
        out.texts.append(incident_text(data))
        out.judged.append(judged_text(data))
        out.profiles.append(profile_of(data, at))
        out.truth[r["id"]] = r["incident"] or None
    return out


# --- Intervals and breakdowns ----------------------------------------------------------------------------


def _groups(assign: Mapping[str, str | None]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t, g in assign.items():
        if g:
            out.setdefault(g, []).append(t)
    return out


def bootstrap_intervals(
    predicted: Mapping[str, str | None],
    truth: Mapping[str, str | None],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """95 % intervals of pairwise precision and recall by a cluster bootstrap.

    Pairs are not independent (one incident gives many), so whole groups are resampled: true incidents
    for recall (found pairs / true pairs per incident), predicted groups for precision (correct / predicted
    pairs per group).
    """
    truth_pairs = _pairs(truth)
    rng = random.Random(seed)
    per_true = [
        (sum(1 for p in combinations(sorted(ids), 2) if _same(predicted, *p)), math.comb(len(ids), 2))
        for ids in _groups(truth).values()
        if len(ids) > 1
    ]
    per_pred = [
        (sum(1 for p in combinations(sorted(ids), 2) if p in truth_pairs), math.comb(len(ids), 2))
        for ids in _groups(predicted).values()
        if len(ids) > 1
    ]

    def interval(items: list[tuple[int, int]]) -> tuple[float, float]:
        if not items:
            return (1.0, 1.0)
        ratios = []
        for _ in range(resamples):
            draw = [items[rng.randrange(len(items))] for _ in items]
            total = sum(d for _, d in draw)
            ratios.append(sum(n for n, _ in draw) / total if total else 1.0)
        ratios.sort()
        return ratios[int(0.025 * resamples)], ratios[min(resamples - 1, int(0.975 * resamples))]

    return {"precision": interval(per_pred), "recall": interval(per_true)}


def _same(assign: Mapping[str, str | None], a: str, b: str) -> bool:
    return assign.get(a) is not None and assign.get(a) == assign.get(b)


SIZE_BUCKETS = ((3, 4), (5, 7), (8, 12))


def by_incident_size(
    predicted: Mapping[str, str | None], truth: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """Per true incident size: incidents, pairs found of true pairs (recall), incidents found whole, and
    strangers (tickets of no or another incident) merged into their groups."""
    rows = []
    groups = _groups(truth)
    for low, high in SIZE_BUCKETS:
        chosen = [ids for ids in groups.values() if low <= len(ids) <= high]
        found = true = whole = strangers = 0
        for ids in chosen:
            pairs = list(combinations(sorted(ids), 2))
            true += len(pairs)
            found += sum(1 for p in pairs if _same(predicted, *p))
            labels = {predicted.get(t) for t in ids}
            whole += len(labels) == 1 and None not in labels
            mine = {predicted.get(t) for t in ids} - {None}
            strangers += sum(1 for t, g in predicted.items() if g in mine and t not in ids)
        rows.append(
            {
                "sizes": f"{low}-{high}",
                "incidents": len(chosen),
                "true_pairs": true,
                "found_pairs": found,
                "recall": found / true if true else 1.0,
                "whole": whole,
                "strangers": strangers,
            }
        )
    return rows


def calibrate(
    curve: Sequence[tuple[float, PairScores]], *, min_precision: float = 0.95
) -> tuple[float, PairScores] | None:
    """The threshold with the best F1 among those with precision >= min_precision (ties: the higher one)."""
    ok = [(t, s) for t, s in curve if s.precision >= min_precision and s.predicted_pairs]
    if not ok:
        return None
    return max(ok, key=lambda ts: (round(ts[1].f1, 6), ts[0]))


# --- Reconciling a run's grouping with the generator's truth (`tms demo`, `tms chaos`) ------------------


@dataclass(frozen=True)
class IncidentReconciliation:
    """The grouping a run observed against the truth of its generated load, and the stated tolerance."""

    scores: PairScores
    linked: int  # tickets the run put into an incident
    tolerance: Mapping[str, float]

    @property
    def ok(self) -> bool:
        return (
            self.scores.precision >= self.tolerance["precision"]
            and self.scores.recall >= self.tolerance["recall"]
        )

    def line(self) -> str:
        """'pairwise precision 0.97, recall 0.81 (...; flagged below ...): 58 tickets linked'."""
        return f"pairwise {grouping_summary(self.as_dict())}: {self.linked} tickets linked"

    def as_dict(self) -> dict[str, Any]:
        s = self.scores
        return {
            "precision": round(s.precision, 3),
            "recall": round(s.recall, 3),
            "true_pairs": s.true_pairs,
            "predicted_pairs": s.predicted_pairs,
            "correct_pairs": s.correct_pairs,
            "linked": self.linked,
            "tolerance": dict(self.tolerance),
            "ok": self.ok,
        }


def grouping_summary(grouping: Mapping[str, Any]) -> str:
    """One line for a reconciliation's `as_dict()` (the demo's and chaos's reports, `line`): 'precision 1.00,
    recall 0.53 (10 of 10 linked pairs right, 19 true pairs; flagged below precision 0.60 or recall 0.30)'."""
    t = grouping["tolerance"]
    return (
        f"precision {grouping['precision']:.2f}, recall {grouping['recall']:.2f} "
        f"({grouping['correct_pairs']} of {grouping['predicted_pairs']} linked pairs right, "
        f"{grouping['true_pairs']} true pairs; flagged below precision {t['precision']:.2f} "
        f"or recall {t['recall']:.2f})"
    )


def reconcile_incidents(
    observed: Mapping[str, str | None], truth: Mapping[str, str | None]
) -> IncidentReconciliation:
    """Compare the incident ids a run stored (ticket id -> incident id or None) with the generator's truth;
    only the truth's tickets count (another run's tickets in the same table are left out)."""
    from contract import defaults

    mine = {t: (observed.get(t) or None) for t in truth}
    return IncidentReconciliation(
        scores=pairwise_scores(mine, truth),
        linked=sum(1 for g in mine.values() if g),
        tolerance=defaults.INCIDENT_RECONCILE_TOLERANCE,
    )


# --- `tms eval --incidents FILE`: calibrate the link model for the configured embedder ------------------


class CountingJudge:
    """A judge that counts its calls and what they billed (`tms eval --incidents` with the second opinion)."""

    def __init__(self, judge: LinkJudge):
        self.judge, self.model_id = judge, judge.model_id
        self.calls = self.same = self.input_tokens = self.output_tokens = self.failed = 0
        self.first_error = ""

    def same_problem(self, report: str, candidates: Sequence[str]) -> Verdict:
        try:
            verdict = self.judge.same_problem(report, candidates)
        except TmsError as e:  # the step leaves such a link as scored; the report counts them
            self.failed += 1
            self.first_error = self.first_error or f"{type(e).__name__}: {e}"
            raise
        self.calls += 1
        self.same += int(verdict.same_problem)
        self.input_tokens += verdict.input_tokens
        self.output_tokens += verdict.output_tokens
        return verdict


def calibrate_on_file(paths: Sequence[Path], embedder: Any, judge: LinkJudge | None = None) -> dict[str, Any]:
    """Fit the link model for `embedder` on the `calibration` rows of labelled tickets (the hand-written
    set's JSONL format) and measure it on the `test` rows when there are any: the entry to keep in
    contract/defaults.py INCIDENT_LINK_MODELS under the embedder's model id, and its figures. With a `judge`
    (the configured second opinion), the test rows are replayed once more with it asked on the entry's band."""
    from contract import defaults

    rows = load_eval_rows(paths)
    cal = eval_set(rows, "calibration")
    if not any(cal.truth.values()):
        raise ValueError("no labelled incident among the calibration rows: nothing to calibrate on")
    model, curve = fit_link_model([cal], [embedder.embed(cal.texts)])
    model = replace(model, judge_lower=defaults.INCIDENT_JUDGE_LOWER)
    out: dict[str, Any] = {
        "model_id": embedder.model_id,
        "entry": model.as_data(),
        "curve": [
            {"threshold": t, "precision": round(s.precision, 3), "recall": round(s.recall, 3)}
            for t, s in curve
        ],
        "calibration_tickets": len(cal.tickets),
    }
    test = eval_set(rows, "test")
    if test.tickets:
        vectors = embedder.embed(test.texts)
        got = replay(test.tickets, vectors, model=model, profiles=test.profiles)
        out["test"] = _held_out(got, test)
        if judge is not None:
            counted = CountingJudge(judge)
            judged = replay(
                test.tickets, vectors, model=model, profiles=test.profiles, judge=counted, texts=test.judged
            )
            if counted.failed and not counted.calls:
                raise ConfigurationError(
                    f"the second opinion ({counted.model_id}) failed on all {counted.failed} calls: "
                    f"{counted.first_error}"
                )
            out["test_second_opinion"] = {
                **_held_out(judged, test),
                "judge": counted.model_id,
                "failed_calls": counted.failed,
                "first_error": counted.first_error,
                "calls": counted.calls,
                "said_same": counted.same,
                "input_tokens": counted.input_tokens,
                "output_tokens": counted.output_tokens,
            }
    return out


def _held_out(got: Mapping[str, str | None], test: EvalSet) -> dict[str, Any]:
    s = pairwise_scores(got, test.truth)
    ci = bootstrap_intervals(got, test.truth)
    return {
        "tickets": len(test.tickets),
        "precision": round(s.precision, 3),
        "recall": round(s.recall, 3),
        "precision_95": [round(v, 3) for v in ci["precision"]],
        "recall_95": [round(v, 3) for v in ci["recall"]],
    }


def render_calibration(result: Mapping[str, Any]) -> str:
    """The calibration as a person reads it: the entry to paste, the curve, the held-out figures."""
    entry = result["entry"]
    lines = [
        f"Incident link model for {result['model_id']} ({result['calibration_tickets']} calibration tickets).",
        "Keep it in contract/defaults.py INCIDENT_LINK_MODELS under this model id:",
        "",
        f"    {result['model_id']!r}: " + json.dumps(entry, indent=4).replace("\n", "\n    ") + ",",
        "",
        "threshold  precision  recall (calibration rows)",
    ]
    lines += [f"{c['threshold']:>9.2f}  {c['precision']:>9.3f}  {c['recall']:.3f}" for c in result["curve"]]
    if "test" in result:
        t = result["test"]
        lines += [
            "",
            f"test rows ({t['tickets']} tickets): precision {t['precision']:.3f} "
            f"[{t['precision_95'][0]:.3f}, {t['precision_95'][1]:.3f}], recall {t['recall']:.3f} "
            f"[{t['recall_95'][0]:.3f}, {t['recall_95'][1]:.3f}] (95 % bootstrap)",
        ]
    if "test_second_opinion" in result:
        j = result["test_second_opinion"]
        lines += [
            f"with the second opinion ({j['judge']}, answered {j['calls']} times, said same {j['said_same']}, "
            f"failed {j['failed_calls']}; "
            f"{j['input_tokens']} + {j['output_tokens']} tokens): precision {j['precision']:.3f} "
            f"[{j['precision_95'][0]:.3f}, {j['precision_95'][1]:.3f}], recall {j['recall']:.3f} "
            f"[{j['recall_95'][0]:.3f}, {j['recall_95'][1]:.3f}]",
        ]
    return "\n".join(lines)
