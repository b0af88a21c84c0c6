"""PII benchmark: recall and precision per entity type of the offline detector on a labelled set.

One command: `.venv/bin/python bench/pii.py [--tickets N] [--seed S]`. Generator tickets get 1-3 emails,
phones, card numbers, IBANs or addresses planted in their descriptions with exact spans
(tools/pii_corpus.py); the detector runs on the workflow's real text (subject + ". " +
description), as DetectPiiEntities does. A planted entity counts as found when a detected entity of the
same type overlaps it; a detection counts as correct when it overlaps a planted entity of its type, so
anything found in the generator's own text (IP addresses in connectivity tickets, say) is a false positive.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    from local.pii import detect_pii_entities
    from tools.generator import generate_tickets
    from tools.pii_corpus import PLANTED_TYPES, plant

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    elapsed = 0.0
    for generated in generate_tickets(args.tickets, seed=args.seed):
        data = generated.event.data
        description, truth = plant(data.description, rng, count=rng.randint(1, 3))
        text = f"{data.subject}. {description}"
        shift = len(data.subject) + 2
        started = time.perf_counter()
        entities = detect_pii_entities(text, "en")["Entities"]
        elapsed += time.perf_counter() - started
        spans = [(e["BeginOffset"], e["EndOffset"], e["Type"]) for e in entities]
        for t in truth:
            planted[t.type] += 1
            if any(k == t.type and b < t.end + shift and e > t.begin + shift for b, e, k in spans):
                found[t.type] += 1
        for b, e, k in spans:
            detected[k] += 1
            if any(k == t.type and b < t.end + shift and e > t.begin + shift for t in truth):
                correct[k] += 1

    print(
        f"offline PII detector, {args.tickets} generator tickets (seed {args.seed}), "
        f"{sum(planted.values())} planted entities, {elapsed / args.tickets * 1e3:.2f} ms per ticket"
    )
    print(f"| {'entity type':<34} | planted | found | recall | detected | precision |")
    print(f"|{'-' * 36}|---------|-------|--------|----------|-----------|")
    for kind in (*PLANTED_TYPES, *sorted(set(detected) - set(PLANTED_TYPES))):
        recall = f"{found[kind] / planted[kind]:.3f}" if planted[kind] else "-"
        precision = f"{correct[kind] / detected[kind]:.3f}" if detected[kind] else "-"
        print(
            f"| {kind:<34} | {planted[kind]:>7} | {found[kind]:>5} | {recall:>6} | {detected[kind]:>8} | {precision:>9} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
