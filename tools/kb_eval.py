"""Retrieval quality of a knowledge base against a truth file (issue 30): recall@3, MRR, the share of
unanswerable tickets left without sources, and the relevance-gate bias a calibration set suggests.

Truth file: JSON Lines, one ticket per line with `subject`, `description` and `answer` (the answering
document's file name, id or link; null when nothing in the knowledge base answers it); an optional
`split` ("calibration"/"test") selects lines with --split. bench/data/kb/tickets.jsonl has this shape.
Used by `tms eval --kb-truth` and bench/kb.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import defaults
from contract.errors import ConfigurationError

NO_SOURCES_TARGET = 0.9  # share of unanswerable tickets that must get no sources (issue 30)
DEPTH = 10  # documents ranked per ticket for MRR (a rank past 10 counts 0)


@dataclass(frozen=True)
class Retrieved:
    """One truth ticket's retrieval: the answering document's rank (None: not in the top DEPTH), the
    best score and the relevance gate's value (>= 0: the draft would be grounded)."""

    id: str
    answer: str | None
    rank: int | None
    top: float
    relevance: float = 0.0


def read_truth(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The truth tickets (ConfigurationError names the line that is wrong)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigurationError(f"cannot read the truth file {path}: {e.strerror}") from e
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigurationError(f"{path}:{n}: not JSON ({e.msg})") from e
        if not isinstance(row, dict) or not {"subject", "description", "answer"} <= row.keys():
            raise ConfigurationError(f"{path}:{n}: needs subject, description and answer (null if none)")
        if split is None or row.get("split") == split:
            rows.append(row)
    if not rows:
        raise ConfigurationError(f"{path}: no tickets" + (f" in split {split!r}" if split else ""))
    return rows


def answer_key(answer: str | None) -> str | None:
    """The document id a truth answer names (a file name, an id or a link all end in it)."""
    if not answer:
        return None
    return Path(answer.rstrip("/").rsplit("/", 1)[-1]).stem


def retrieve(
    truth: Sequence[dict[str, Any]], search: Callable[[str, int], Sequence[Any]], model_id: str
) -> list[Retrieved]:
    """Ask `search(text, k)` (a KnowledgeBase's search) for every truth ticket, and the embedder's
    relevance gate whether its draft would be grounded."""
    from pipeline.domain.grounding import relevance, relevance_features
    from pipeline.domain.knowledge import relevance_gate

    gate = dict(relevance_gate(model_id))
    out = []
    for n, t in enumerate(truth, start=1):
        query = f"{t['subject']}\n{t['description']}"
        hits = search(query, DEPTH)
        ranked = [h.doc_id for h in hits]
        answer = answer_key(t["answer"])
        out.append(
            Retrieved(
                id=str(t.get("id", n)),
                answer=answer,
                rank=ranked.index(answer) + 1 if answer in ranked else None,
                top=hits[0].score if hits else 0.0,
                relevance=relevance(relevance_features(query, hits), gate) if hits else -1.0,
            )
        )
    return out


def figures(rows: Sequence[Retrieved], bias: float, k: int = defaults.KB_TOP_K) -> dict[str, Any]:
    """recall@k and MRR over answerable tickets; the answerable ones the relevance gate grounds, and the
    unanswerable ones it leaves without sources (`bias`: the gate's, shown with the figures)."""
    answerable = [r for r in rows if r.answer]
    unanswerable = [r for r in rows if not r.answer]
    return {
        "answerable": len(answerable),
        f"recall@{k}": _share(answerable, lambda r: r.rank is not None and r.rank <= k),
        "mrr": sum(1 / r.rank for r in answerable if r.rank) / max(1, len(answerable)),
        "grounded": _share(answerable, lambda r: r.relevance >= 0),
        "unanswerable": len(unanswerable),
        "no_sources": _share(unanswerable, lambda r: r.relevance < 0),
        "bias": bias,
    }


def _share(rows: Sequence[Retrieved], keep: Callable[[Retrieved], bool]) -> float:
    return sum(1 for r in rows if keep(r)) / max(1, len(rows))


def calibrate(
    rows: Sequence[Retrieved], bias: float, no_sources_target: float = NO_SOURCES_TARGET
) -> float | None:
    """The gate's bias (its weights kept) at which at least `no_sources_target` of the unanswerable
    tickets get no sources and the fewest answerable tickets lose theirs; None without unanswerable ones.
    For a gate on the top score alone (weight 1) this is minus the old cosine threshold."""
    unanswerable = sorted(r.relevance for r in rows if not r.answer)
    if not unanswerable:
        return None
    cuts = sorted({round(x + 0.0005, 3) for x in unanswerable} | {min(0.0, unanswerable[0])})
    for cut in cuts:
        if sum(x < cut for x in unanswerable) / len(unanswerable) >= no_sources_target:
            return round(bias - cut, 3)
    return round(bias - unanswerable[-1] - 0.001, 3)


def render(f: dict[str, Any], suggested: float | None, k: int = defaults.KB_TOP_K) -> str:
    """The human-readable report of `tms eval --kb-truth`."""
    lines = [
        f"retrieval on {f['answerable']} answerable and {f['unanswerable']} unanswerable tickets",
        f"  recall@{k} {f[f'recall@{k}']:.3f}   MRR {f['mrr']:.3f}",
        f"  relevance gate (bias {f['bias']:.3f}): answerable grounded {f['grounded']:.3f}, "
        f"unanswerable without sources {f['no_sources']:.3f}",
    ]
    if suggested is not None:
        lines.append(
            f"  suggested bias ({NO_SOURCES_TARGET:.0%} of unanswerable without sources): {suggested:.3f}"
            " (contract/defaults.KB_RELEVANCE_GATES; calibrate on a calibration set, then report on another)"
        )
    return "\n".join(lines)
