"""Ticketing-rule benchmark: precision and recall of "request" on the hand-written channel messages.

One command: `.venv/bin/python bench/ticketing_rule.py`. For each strictness, the rule
(bot/logic/ticketing_rule.py) decides every message of bench/data/channel_messages.jsonl; the table gives
precision and recall of "request" with their counts on the calibration half (odd ids: the rule was tuned on
it) and on the held-out test half (even ids: never tuned on). The test messages the default strictness gets
wrong are listed with the rule's reason. Exit status 1 when the default misses its target on the test half.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.logic.ticketing_rule import THRESHOLDS, Strictness, TicketingDecision, decide
from contract import defaults

DATA = Path(__file__).resolve().parent / "data" / "channel_messages.jsonl"
LABELS = ("request", "chatter")
SPLITS = ("calibration", "test")
FIELDS = ("id", "text", "label", "kind", "split")
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.90


def load_messages(path: Path = DATA) -> list[dict[str, str]]:
    """The labelled messages; ValueError naming the line of a row that breaks the set's format."""
    rows: list[dict[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row: Any = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path.name}:{number}: not JSON ({e.msg})") from e
        if not isinstance(row, dict) or sorted(row) != sorted(FIELDS):
            raise ValueError(f"{path.name}:{number}: a row has exactly the fields {', '.join(FIELDS)}")
        if row["label"] not in LABELS or row["split"] not in SPLITS:
            raise ValueError(f"{path.name}:{number}: label {row['label']!r} / split {row['split']!r}")
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Score:
    """Counts of one strictness on one half, with precision and recall of "request"."""

    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def precision(self) -> float:
        """Share of ticketed messages that are requests (1.0 when nothing is ticketed)."""
        ticketed = self.true_positive + self.false_positive
        return self.true_positive / ticketed if ticketed else 1.0

    @property
    def recall(self) -> float:
        """Share of requests that are ticketed."""
        requests = self.true_positive + self.false_negative
        return self.true_positive / requests if requests else 1.0


def measure(
    rows: list[dict[str, str]], strictness: Strictness
) -> tuple[Score, list[tuple[dict[str, str], TicketingDecision]]]:
    """The score of `strictness` on `rows` and the rows it gets wrong, with the rule's decision."""
    tp = fp = fn = tn = 0
    wrong = []
    for row in rows:
        decision = decide(row["text"], strictness)
        request = row["label"] == "request"
        tp += decision.ticket and request
        fp += decision.ticket and not request
        fn += not decision.ticket and request
        tn += not decision.ticket and not request
        if decision.ticket != request:
            wrong.append((row, decision))
    return Score(tp, fp, fn, tn), wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)

    rows = load_messages(args.data)
    halves = {split: [r for r in rows if r["split"] == split] for split in SPLITS}
    started = time.perf_counter()
    for row in rows:
        decide(row["text"])
    per_message_us = (time.perf_counter() - started) / len(rows) * 1e6
    print(
        f"ticketing rule on {args.data.name}: {len(rows)} messages "
        f"({sum(r['label'] == 'request' for r in rows)} requests), "
        f"{per_message_us:.0f} µs per message, default strictness {defaults.TICKETING_STRICTNESS}"
    )
    print("| strictness | threshold | half        | msgs | TP  | FP | FN  | TN  | precision | recall |")
    print("|------------|-----------|-------------|------|-----|----|-----|-----|-----------|--------|")
    for strictness in THRESHOLDS:
        for split in SPLITS:
            s, _ = measure(halves[split], strictness)
            print(
                f"| {strictness:<10} | {THRESHOLDS[strictness]:>9.1f} | {split:<11} | {len(halves[split]):>4} "
                f"| {s.true_positive:>3} | {s.false_positive:>2} | {s.false_negative:>3} | {s.true_negative:>3} "
                f"| {s.precision:>9.3f} | {s.recall:>6.3f} |"
            )
    score, wrong = measure(halves["test"], defaults.TICKETING_STRICTNESS)
    met = score.precision >= TARGET_PRECISION and score.recall >= TARGET_RECALL
    print(
        f"\ntarget on the test half at {defaults.TICKETING_STRICTNESS}: precision >= {TARGET_PRECISION}, "
        f"recall >= {TARGET_RECALL}: {'met' if met else 'NOT met'}"
    )
    print(f"misclassified test messages at {defaults.TICKETING_STRICTNESS} ({len(wrong)}):")
    for row, decision in wrong:
        text = " ".join(row["text"].split())
        text = text if len(text) <= 100 else text[:99] + "…"
        print(f"- {row['id']} [{row['label']}/{row['kind']}] {text!r}\n    {decision.reason}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
