"""What a second opinion on borderline incident links could add (issue 29, item 2): CALIBRATION halves only.

    .venv/bin/python bench/incident_judge.py [--lower 0.5,0.4,0.3,0.2,0.1] [--accuracy 1.0,0.9]

Issue 29 lets the AWS runtime ask the reply model about candidates scored between a lower bound and the
join threshold. It is not built, and its answers cannot be measured here (no Bedrock), so this measures the
room it has: the shipped link model replays both calibration batches (bench/data/incidents/*.jsonl and
batch2/), and whenever a ticket's best candidate group scores in [lower, threshold) a judge is asked once:
an ideal one (the labels' answer) or one right with probability `accuracy` (seeded). "Yes" links the
ticket to that group; "no" leaves the model's decision. Printed per lower bound: the judge calls per 1,000
tickets, pairwise precision / recall per batch, and the calls' cost per 1,000 tickets at the reply model's
price (tools/prices.json; prompt = an instruction of ~150 tokens + the ticket's and up to three members'
embedded texts, answer ~10 tokens). The test half is never read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent / "data" / "incidents"
INSTRUCTION_TOKENS, ANSWER_TOKENS, MEMBERS_SHOWN = 150, 10, 3


def judged_linker(
    original: Callable[..., Any],
    truth: dict[str, str | None],
    texts: dict[str, str],
    lower: float,
    accuracy: float,
    rng: random.Random,
    asked: list[int],
) -> Callable[..., Any]:
    """`link_by_model` with a judge asked about the best candidate group when it scores in [lower, the
    threshold it needs): `asked` collects each call's prompt tokens."""
    from pipeline.domain.incidents import candidate_groups, decide_link, rescore
    from pipeline.domain.usage import estimated_tokens

    def link(
        profile: Any, neighbours: Any, model: Any, *, ticket_id: str, threshold: float | None = None
    ) -> Any:
        join = model.threshold if threshold is None else threshold
        opening = join if model.open_threshold is None else model.open_threshold
        scored = rescore(profile, neighbours, model)

        def decide(candidates: Any) -> Any:
            return decide_link(
                candidates,
                join,
                ticket_id=ticket_id,
                open_threshold=model.open_threshold,
                merge_threshold=model.merge_threshold,
            )

        groups = sorted(
            (
                (max(m.score for m in ms), key, ms)
                for key, ms in candidate_groups(scored, ticket_id=ticket_id).items()
            ),
            key=lambda g: (-g[0], g[1]),
        )
        if not groups:
            return decide(scored)
        top, _, members = groups[0]
        needed = join if members[0].incident_id else opening
        if top >= needed or top < lower:
            return decide(scored)
        shown = [texts[ticket_id]] + [texts[m.ticket_id] for m in members[:MEMBERS_SHOWN]]
        asked.append(INSTRUCTION_TOKENS + sum(estimated_tokens(t) for t in shown))
        mine = truth.get(ticket_id)
        same = mine is not None and any(truth.get(m.ticket_id) == mine for m in members)
        if rng.random() >= accuracy:
            same = not same
        if not same:
            return decide(scored)
        ids = {m.ticket_id for m in members}
        return decide([dataclasses.replace(n, score=1.0) if n.ticket_id in ids else n for n in scored])

    return link


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
    args = parser.parse_args()

    import tools.incident_eval as ie
    from contract import defaults
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.incidents import link_model_for

    batch2_files = sorted((DATA / "batch2").glob("*.jsonl"))
    rows = ie.load_eval_rows(sorted(DATA.glob("*.jsonl")) + batch2_files)
    second = {r["id"] for r in ie.load_eval_rows(batch2_files)}
    cal = ie.eval_set(rows, "calibration")
    emb = embedder()
    vectors = emb.embed(cal.texts)
    model = link_model_for(emb.model_id)
    texts = {tid: text for (tid, _), text in zip(cal.tickets, cal.texts, strict=True)}
    prices = json.loads((Path(__file__).resolve().parent.parent / "tools" / "prices.json").read_text())
    reply_model = defaults.BEDROCK_MODEL_ID.split(".", 1)[1]  # the inference profile's model
    price = prices["models"][reply_model]
    original = ie.link_by_model

    def run(lower: float | None, accuracy: float) -> tuple[dict[str, Any], list[int]]:
        asked: list[int] = []
        if lower is not None:
            rng = random.Random(args.seed)
            ie.link_by_model = judged_linker(original, cal.truth, texts, lower, accuracy, rng, asked)
        try:
            predicted = ie.replay(cal.tickets, vectors, model=model, profiles=cal.profiles)
        finally:
            ie.link_by_model = original
        out = {}
        for name, keep in (("batch 1", lambda t: t not in second), ("batch 2", lambda t: t in second)):
            out[name] = ie.pairwise_scores(
                {k: v for k, v in predicted.items() if keep(k)},
                {k: v for k, v in cal.truth.items() if keep(k)},
            )
        return out, asked

    n = len(cal.tickets)
    print(f"# Second opinion on the band [lower, threshold): {n} calibration tickets (both batches), "
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
        cells = [f"{s.precision:.3f} / {s.recall:.3f}" for s in scores.values()]
        print(f"{'none' if lower is None else lower:>6} {'-' if lower is None else accuracy:>6} "
              f"{1000 * len(asked) / n:>16.0f} {cells[0]:>16} {cells[1]:>16} {1000 * usd / n:>18.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
