"""Knowledge-base retrieval benchmark (issue 30): recall@3, MRR, no-answer share, added latency.

    .venv/bin/python bench/kb.py [--split test|calibration] [--calibrate | --fit]

Ingests examples/kb/ into the real store (pipeline/adapters/knowledge_store.py on moto's S3, in process)
with the configured embedder (offline MiniLM by default) and asks it every ticket of
bench/data/kb/tickets.jsonl. Whether a draft is grounded is the relevance gate in
contract/defaults.KB_RELEVANCE_GATES for the embedder's model id; `--calibrate` prints the gate bias the
CALIBRATION half alone suggests, `--fit` fits the gate's weights on it (a logistic model, 4-fold
cross-validated inside the half) and prints them; both refuse the test half. Slices: direct (k001-k210) and
indirect (k211-k260), reported apart. Latency is the search (query embedding + index check + ranking +
sentence scores + the gate's features) per ticket on this machine (2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT / "bench" / "data" / "kb" / "tickets.jsonl"
ARTICLES = ROOT / "examples" / "kb"
DEPTH = 10  # documents ranked per ticket for MRR (a rank past 10 counts 0)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def load_tickets(split: str) -> list[dict[str, Any]]:
    """The truth set's tickets of one split."""
    rows = [json.loads(line) for line in TICKETS.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def slice_of(ticket: dict[str, Any]) -> str:
    """'direct' (k001-k210) or 'indirect' (k211-k260)."""
    return "indirect" if int(ticket["id"][1:]) > 210 else "direct"


def run(split: str) -> list[dict[str, Any]]:
    """Ingest the demo KB and retrieve for every ticket of the split: one result row per ticket."""
    from moto import mock_aws

    from contract.models import SentimentResult
    from local.offline_reply import OfflineReplyModel
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.grounding import relevance, relevance_features
    from pipeline.domain.knowledge import relevance_gate
    from pipeline.domain.sentiment import detect_sentiment
    from pipeline.domain.triage import draft_grounded

    with mock_aws():
        kb = demo_knowledge_base("kb-bench")
        kb_model = embedder().model_id
        gate = dict(relevance_gate(kb_model))
        kb.search("warm-up")  # the first call loads the model and the index: not a ticket's cost
        rows = []
        model = OfflineReplyModel()
        for t in load_tickets(split):
            ticket, pii, query = redacted(t)
            start = time.perf_counter()
            hits = kb.search(query, k=DEPTH)
            features = relevance_features(query, hits)
            elapsed_ms = (time.perf_counter() - start) * 1000
            answer = Path(t["answer"]).stem if t["answer"] else None
            ranked = [h.doc_id for h in hits]
            rank = ranked.index(answer) + 1 if answer in ranked else None
            sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_text()))
            drafted = draft_grounded(ticket, sentiment, model, kb, kb_model, pii=pii)
            text = drafted.result.response_text.lower()
            rows.append(
                {
                    "id": t["id"],
                    "slice": slice_of(t),
                    "answer": answer,
                    "rank": rank,
                    "top": hits[0].score if hits else 0.0,
                    "features": features,
                    "relevance": relevance(features, gate),
                    "ms": elapsed_ms,
                    "sources": [s["uri"].rsplit("/", 1)[-1] for s in drafted.sources],
                    "key_fact": bool(t["key_fact"]) and t["key_fact"].lower() in text,
                }
            )
        return rows


def demo_knowledge_base(bucket: str, embedder_: Any = None) -> Any:
    """examples/kb/ ingested into the real store (S3KnowledgeBase with the configured embedder, or the one
    given: bench/kb_embedders.py compares several) in a new bucket of the moto mock the caller has started:
    what every knowledge-base benchmark searches."""
    from contract.clients import aws_client
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase
    from tools.kb import discover, read_document

    for key, value in {"AWS_ACCESS_KEY_ID": "b", "AWS_SECRET_ACCESS_KEY": "b"}.items():
        os.environ.setdefault(key, value)
    s3 = aws_client("s3", region="us-east-1", endpoint_url=None)
    s3.create_bucket(Bucket=bucket)
    kb = S3KnowledgeBase(bucket, s3, embedder_ or embedder())
    files, folders = discover([str(ARTICLES)])
    kb.ingest([read_document(f) for f in files], replace_under=folders)
    return kb


def redacted(t: dict[str, Any]) -> tuple[Any, Any, str]:
    """A truth-set row as the draft step sees it: the ticket, its PII (the offline detector) and the
    redacted query the knowledge base is searched with."""
    from contract.models import PiiResult
    from local.pii import detect_pii_entities
    from pipeline.domain.redaction import for_model, redact
    from pipeline.domain.triage import retrieval_query

    ticket = _ticket(t)
    pii = PiiResult.model_validate(detect_pii_entities(ticket.data.sentiment_text(), "en"))
    return ticket, pii, retrieval_query(for_model(redact(ticket, pii).ticket))


def _ticket(t: dict[str, Any]) -> Any:
    from datetime import UTC, datetime

    from contract.models import Customer, Source, TicketData, TicketSubmitted

    return TicketSubmitted.new(
        TicketData(
            subject=t["subject"],
            description=t["description"],
            customer=Customer(
                first_name="Robin",
                last_name="Okafor",
                full_name="Robin Okafor",
                email="robin.okafor@example.com",
                company="Example Freight",
            ),
            product=t["product"],
            issue_type=t["issue_type"],
        ),
        Source.API,
        now=datetime(2026, 12, 7, 9, tzinfo=UTC),
    )


def calibrate(rows: list[dict[str, Any]], bias: float) -> float | None:
    """The gate bias keeping 90 % of these rows' unanswerable tickets without sources."""
    from tools.kb_eval import Retrieved
    from tools.kb_eval import calibrate as suggest

    return suggest([Retrieved(r["id"], r["answer"], r["rank"], r["top"], r["relevance"]) for r in rows], bias)


FIT_FEATURES = ("best_sentence", "coverage", "rare_terms")


def _logistic(x: Any, y: Any, l2: float = 1.0, steps: int = 3000, rate: float = 0.5) -> tuple[Any, float]:
    """Weights and bias of an L2-regularised logistic regression on raw features (fitted standardised)."""
    import numpy as np

    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= rate * float((p - y).mean())
    return w / sd, b - float((mu / sd * w).sum())


def _cut(values: Any, y: Any, target: float) -> float:
    """The lowest cut leaving `target` of the negatives (unanswerable) under it."""
    import numpy as np

    for cut in np.unique(np.concatenate([values, [values.max() + 1]])):
        if np.mean(values[y == 0] < cut) >= target:
            return float(cut)
    return float(values.max() + 1)


# The cut is set where this share of the calibration half's unanswerable tickets get no sources: above the
# issue's 90 % because a cut set on 24 unanswerable tickets at 90 % held only 88 % out of fold.
FIT_NO_SOURCES = 0.95


def fit(rows: list[dict[str, Any]], folds: int = 4, repeats: int = 20) -> None:
    """Fit the gate on these rows and print its weights, with out-of-fold figures: in each fold the model
    AND its cut are fitted on the other folds, then the held-out tickets are scored."""
    import numpy as np

    x = np.array([[r["features"][f] for f in FIT_FEATURES] for r in rows])
    y = np.array([1.0 if r["answer"] else 0.0 for r in rows])
    rng = np.random.default_rng(30)
    grounded: list[bool] = []
    closed: list[bool] = []
    for _ in range(repeats):
        order = rng.permutation(len(y))
        for held in np.array_split(order, folds):
            train = np.setdiff1d(order, held)
            w, b = _logistic(x[train], y[train])
            cut = _cut(x[train] @ w + b, y[train], FIT_NO_SOURCES)
            value = x[held] @ w + b
            grounded += list(value[y[held] == 1] >= cut)
            closed += list(value[y[held] == 0] < cut)
    w, b = _logistic(x, y)
    bias = b - _cut(x @ w + b, y, FIT_NO_SOURCES)
    print(f"gate features {FIT_FEATURES}: weights {np.round(w, 3).tolist()}, bias {bias:.3f}")
    print(
        f"out of fold ({folds}-fold x {repeats}, cut at {FIT_NO_SOURCES:.0%} of the training folds' "
        f"unanswerable): answerable grounded {np.mean(grounded):.3f}, unanswerable without sources "
        f"{np.mean(closed):.3f}"
    )


def figures(rows: list[dict[str, Any]]) -> dict[str, float | int]:
    """recall@3 and MRR on answerable tickets; the share of unanswerable tickets that get no sources."""
    answerable = [r for r in rows if r["answer"]]
    unanswerable = [r for r in rows if not r["answer"]]
    return {
        "answerable": len(answerable),
        "recall@3": sum(1 for r in answerable if r["rank"] and r["rank"] <= 3) / max(1, len(answerable)),
        "mrr": sum(1 / r["rank"] for r in answerable if r["rank"]) / max(1, len(answerable)),
        "grounded": sum(1 for r in answerable if r["sources"]) / max(1, len(answerable)),
        "right_source": sum(1 for r in answerable if r["answer"] in r["sources"]) / max(1, len(answerable)),
        "key_fact": sum(1 for r in answerable if r["key_fact"]) / max(1, len(answerable)),
        "unanswerable": len(unanswerable),
        "no_sources": sum(1 for r in unanswerable if not r["sources"]) / max(1, len(unanswerable)),
        "p50_ms": statistics.median(r["ms"] for r in rows),
        "p95_ms": _pct([r["ms"] for r in rows], 95),
    }


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "calibration"), default="test")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="suggest the gate's bias from the calibration half (>= 90%% unanswerable without sources)",
    )
    parser.add_argument("--fit", action="store_true", help="fit the gate's weights on the calibration half")
    args = parser.parse_args()
    if (args.calibrate or args.fit) and args.split != "calibration":
        parser.error("--calibrate and --fit only run on --split calibration: nothing is tuned on test")

    from contract import defaults
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.knowledge import relevance_gate

    model_id = embedder().model_id
    gate = relevance_gate(model_id)
    rows = run(args.split)
    print(f"split {args.split}, embedder {model_id}, gate {dict(gate)}, top-k {defaults.KB_TOP_K}")
    header = (
        f"{'slice':<9} {'answ':>5} {'recall@3':>9} {'MRR':>6} {'grounded':>9} {'right-src':>9} "
        f"{'key-fact':>8} {'unansw':>7} {'no-src':>7} {'p50 ms':>7} {'p95 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, subset in (
        ("direct", [r for r in rows if r["slice"] == "direct"]),
        ("indirect", [r for r in rows if r["slice"] == "indirect"]),
        ("all", rows),
    ):
        f = figures(subset)
        print(
            f"{name:<9} {f['answerable']:>5} {f['recall@3']:>9.3f} {f['mrr']:>6.3f} {f['grounded']:>9.3f} "
            f"{f['right_source']:>9.3f} {f['key_fact']:>8.3f} "
            f"{f['unanswerable']:>7} {f['no_sources']:>7.3f} {f['p50_ms']:>7.1f} {f['p95_ms']:>7.1f}"
        )
    print(
        "grounded: answerable tickets whose draft has sources; right-src: its source is the answering "
        "article; key-fact: the article's key fact is in the offline model's draft"
    )
    if args.calibrate:
        print(
            "calibrated bias (calibration half, the gate's weights kept, >= 90% of "
            f"unanswerable without sources): {calibrate(rows, gate.get('bias', 0.0))}"
        )
    if args.fit:
        fit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
