"""Measuring incident grouping against generated ground truth: pairwise precision, recall and F1.

A pair of tickets is "together" when both belong to the same incident. Precision: of the pairs we put
together, how many the truth has together (a wrong merge hides a customer, so it matters most). Recall: of
the truth's pairs, how many we found. The grouping is replayed exactly as the workflow does it
(pipeline.domain.incidents.decide_link over the open window, in submission order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations

import numpy as np

from pipeline.adapters.vector_index import InMemoryVectorIndex
from pipeline.domain.incidents import DEFAULT_DECAY_PER_HOUR, DEFAULT_WINDOW, decide_link


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
    threshold: float,
    *,
    decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
    window: timedelta = DEFAULT_WINDOW,
) -> dict[str, str | None]:
    """Group tickets (id, submitted_at; in submission order) as the workflow step would; id -> incident."""
    index = InMemoryVectorIndex(vectors.shape[1])
    for (ticket_id, submitted), vector in zip(tickets, vectors, strict=True):
        neighbours = index.nearest(
            vector, since=submitted - window, at=submitted, decay_per_hour=decay_per_hour
        )
        link = decide_link(neighbours, threshold, ticket_id=ticket_id)
        if link.incident_id:
            index.incidents[ticket_id] = link.incident_id
            if link.opened and link.root_ticket_id:
                index.incidents[link.root_ticket_id] = link.incident_id
        index.add(ticket_id, vector, submitted)
    return {t: index.incidents.get(t) for t, _ in tickets}


def calibrate(
    curve: Sequence[tuple[float, PairScores]], *, min_precision: float = 0.95
) -> tuple[float, PairScores] | None:
    """The threshold with the best F1 among those with precision >= min_precision (ties: the higher one)."""
    ok = [(t, s) for t, s in curve if s.precision >= min_precision and s.predicted_pairs]
    if not ok:
        return None
    return max(ok, key=lambda ts: (round(ts[1].f1, 6), ts[0]))
