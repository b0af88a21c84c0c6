"""What the second opinion on borderline incident links adds (issue 29, item 2): CALIBRATION halves only.

    .venv/bin/python bench/incident_judge.py [--lower 0.5,0.4,0.3,0.2,0.1] [--accuracy 1.0,0.9]

The incident step asks the reply model about a best candidate scored in the link model's [judge_lower,
threshold) band (pipeline/domain/incidents.py link_by_model, TMS_INCIDENT_JUDGE). Its answers cannot be
measured here (no Bedrock), so this measures the room it has, through the shipped code path: the shipped link
model replays both calibration batches (bench/data/incidents/*.jsonl and batch2/) with the product's judge
port answered by the labels, either ideally or right with probability `accuracy` (seeded), for each lower
bound tried. Printed per lower bound: the judge calls per 1,000 tickets, pairwise precision / recall per
batch, and the calls' cost per 1,000 tickets at the reply model's price (tools/prices.json; prompt = the
shipped judge prompt with the ticket's and up to three members' texts, estimated tokens; answer ~15 tokens).
Only the calibration halves are read unless `--split test` asks, once, for the first batch's test half at
bands already chosen on calibration (the judge is simulated from the labels: a bound on what a real one
could add, never a figure of the product).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent / "data" / "incidents"
ANSWER_TOKENS = 15  # the forced tool call {"same_problem": true}


class LabelJudge:
    """The product's LinkJudge port answered from the labels: "same problem" when one of the shown reports
    belongs to the new report's incident (flipped with probability 1 - accuracy). `asked` collects each call's
    estimated prompt tokens (the shipped prompt)."""

    model_id = "labels"

    def __init__(
        self, truth: dict[str, str | None], ids_of: dict[str, str], accuracy: float, rng: random.Random
    ):
        self.truth, self.ids_of, self.accuracy, self.rng = truth, ids_of, accuracy, rng
        self.asked: list[int] = []

    def same_problem(self, report: str, candidates: Sequence[str]) -> Any:
        from pipeline.adapters.link_judge import judge_messages
        from pipeline.domain.incidents import Verdict
        from pipeline.domain.usage import estimated_tokens

        tokens = estimated_tokens("\n".join(text for _, text in judge_messages(report, candidates)))
        self.asked.append(tokens)
        mine = self.truth.get(self.ids_of[report])
        same = mine is not None and any(self.truth.get(self.ids_of[c]) == mine for c in candidates)
        if self.rng.random() >= self.accuracy:
            same = not same
        return Verdict(same, tokens, ANSWER_TOKENS)


def _fractions(text: str) -> list[float]:
    """A comma-separated list of numbers between 0 and 1 (argparse names the option on an error)."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0.5,0.3, got {text!r}") from None
    if not values or not all(0 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers between 0 and 1, got {text!r}")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lower", type=_fractions, default="0.5,0.4,0.3,0.2,0.1", help="lower bounds of the band to try"
    )
    parser.add_argument(
        "--accuracy", type=_fractions, default="1.0,0.9", help="judge accuracies (1.0: ideal)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--split",
        choices=("calibration", "test"),
        default="calibration",
        help="test: read the first batch's test half once, at bands chosen on calibration (batch 2 has none)",
    )
    args = parser.parse_args()

    import tools.incident_eval as ie
    from contract import defaults
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.incidents import link_model_for

    batch2_files = sorted((DATA / "batch2").glob("*.jsonl"))
    rows = ie.load_eval_rows(sorted(DATA.glob("*.jsonl")) + batch2_files)
    second = {r["id"] for r in ie.load_eval_rows(batch2_files)}
    cal = ie.eval_set(rows, args.split)
    emb = embedder()
    vectors = emb.embed(cal.texts)
    model = link_model_for(emb.model_id)
    prices = json.loads((Path(__file__).resolve().parent.parent / "tools" / "prices.json").read_text())
    reply_model = defaults.BEDROCK_MODEL_ID.split(".", 1)[1]  # the inference profile's model
    price = prices["models"][reply_model]
    ids_of = {text: tid for (tid, _), text in zip(cal.tickets, cal.judged, strict=True)}
    if len(ids_of) != len(cal.tickets):  # the label judge finds a shown report by its text
        raise SystemExit("two tickets have the same text: the label judge cannot tell them apart")

    def run(lower: float | None, accuracy: float) -> tuple[dict[str, Any], list[int]]:
        judge = LabelJudge(cal.truth, ids_of, accuracy, random.Random(args.seed))
        predicted = ie.replay(
            cal.tickets,
            vectors,
            model=dataclasses.replace(model, judge_lower=lower),
            profiles=cal.profiles,
            judge=judge if lower is not None else None,
            texts=cal.judged,
        )
        out = {}
        for name, keep in (("batch 1", lambda t: t not in second), ("batch 2", lambda t: t in second)):
            if not any(keep(t) for t in cal.truth):
                continue  # batch 2 has no test half
            out[name] = ie.pairwise_scores(
                {k: v for k, v in predicted.items() if keep(k)},
                {k: v for k, v in cal.truth.items() if keep(k)},
            )
        return out, judge.asked

    n = len(cal.tickets)
    print(f"# Second opinion on the band [lower, threshold): {n} {args.split} tickets, "
          f"{emb.model_id}, shipped model (join {model.threshold}, open {model.open_threshold})")  # fmt: skip
    print(
        f"# judge price: {reply_model}, ${price['input_usd_per_1k']}/1k input, ${price['output_usd_per_1k']}/1k output"
    )
    print()
    print(f"{'lower':>6} {'judge':>6} {'calls/1k tickets':>16} {'batch 1 P / R':>16} {'batch 2 P / R':>16} "
          f"{'USD per 1k tickets':>18}")  # fmt: skip
    settings: list[tuple[float | None, float]] = [(None, 1.0)]
    for lower in args.lower:
        settings += [(lower, accuracy) for accuracy in args.accuracy]
    for lower, accuracy in settings:
        scores, asked = run(lower, accuracy)
        usd = sum(
            t * price["input_usd_per_1k"] / 1000 + ANSWER_TOKENS * price["output_usd_per_1k"] / 1000
            for t in asked
        )
        cells = [f"{s.precision:.3f} / {s.recall:.3f}" for s in scores.values()] + ["-"]
        print(f"{'none' if lower is None else lower:>6} {'-' if lower is None else accuracy:>6} "
              f"{1000 * len(asked) / n:>16.0f} {cells[0]:>16} {cells[1]:>16} {1000 * usd / n:>18.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
