"""`tms generate`: synthetic tickets written to a file, only validated, or sent to the stream; and the
summary of what happened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contract.errors import ConfigurationError


def check_options(products: list[str] | None, out: Path | None) -> None:
    """Fail on unknown products or a bad --out before anything is built or sent."""
    from contract.catalog import scenarios_for

    scenarios_for(products)
    if out is not None and out.suffix.lower() != ".jsonl":
        raise ConfigurationError(f"--out must name a .jsonl file, got {out}")


def check_incident_options(incidents: int, products: list[str] | None, llm: str, truth: Path | None) -> None:
    """--incidents takes 1..len(INCIDENT_STORIES) template bursts, no --product/--llm, a JSON truth file."""
    if not incidents:
        return
    from tools.generator import INCIDENT_STORIES

    if not 0 < incidents <= len(INCIDENT_STORIES) or products or llm != "offline":
        raise ConfigurationError(
            f"--incidents takes 1..{len(INCIDENT_STORIES)} and no --product/--llm (the bursts are templates)"
        )
    if truth and truth.suffix.lower() == ".csv":
        raise ConfigurationError("--incidents writes its --truth as JSON: name a .json file")


def generate_and_deliver(
    count: int,
    *,
    seed: int | None = None,
    products: list[str] | None = None,
    llm: str = "offline",
    truth: Path | None = None,
    out: Path | None = None,
    dry_run: bool = False,
    kinesis: Any = None,
    stream: str | None = None,
    rate: float | None = None,
    incidents: int = 0,
) -> tuple[dict[str, Any], int]:
    """Generate `count` tickets, write the truth file, then write them to `out`, stop (`dry_run`) or send
    them to `stream` with `kinesis`. Returns the summary and the exit code (1 when records failed)."""
    from tools.evaluation import write_truth
    from tools.generator import bedrock_writer, generate_tickets

    writer = bedrock_writer() if llm == "bedrock" else None
    burst = None
    if incidents:  # K bursts mixed into `count` unrelated tickets, the grouping in the truth file
        from tools.generator import generate_incident_bursts

        burst = generate_incident_bursts(incidents, count, seed=seed)
        tickets = burst.tickets
    else:
        tickets = generate_tickets(count, seed=seed, products=products, writer=writer)
    summary: dict[str, Any] = {"generated": len(tickets), "seed": seed, "targets": {}}
    for t in tickets:
        summary["targets"][t.target] = summary["targets"].get(t.target, 0) + 1
    if burst is not None:
        summary["incidents"] = {key: len(ids) for key, ids in burst.incidents.items()}
    if truth:
        if burst is not None:
            truth.write_text(json.dumps(burst.truth(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        else:
            write_truth(truth, {t.event.ticketId: t.target for t in tickets})
        summary["truth"] = str(truth)

    exit_code = 0
    if out:
        with out.open("w", encoding="utf-8") as f:
            for t in tickets:
                f.write(t.event.model_dump_json() + "\n")
        summary["out"] = str(out)
    elif dry_run:
        summary["dry_run"] = True
    else:
        from tools.ingest import put_tickets

        report = put_tickets(
            [t.event for t in tickets], stream_name=stream or "", client=kinesis, rate=rate, progress=True
        )
        summary.update(stream=stream, **report.as_dict())
        exit_code = 1 if report.failed else 0
    return summary, exit_code


def render_summary(s: dict[str, Any]) -> str:
    """The human summary `tms generate` prints."""
    targets = ", ".join(f"{k} {v}" for k, v in s["targets"].items())
    lines = [f"generated {s['generated']} tickets (seed {s['seed']}): {targets}"]
    if s.get("incidents"):
        bursts = ", ".join(f"{k} {v}" for k, v in s["incidents"].items())
        lines.append(f"{len(s['incidents'])} incident bursts: {bursts}")
    if "truth" in s:
        lines.append(f"truth written to {s['truth']}")
    if "out" in s:
        lines.append(f"events written to {s['out']} (nothing sent)")
    elif s.get("dry_run"):
        lines.append("dry run: nothing sent")
    else:
        lines.append(
            f"stream {s['stream']}: sent {s['sent']}, failed {s['failed']}, {s['rate']} records/s "
            f"in {s['elapsed_s']} s ({s['batches']} PutRecords calls, {s['retried']} entries retried)"
        )
        if s["failed"]:
            lines.append("failed ticket ids: " + ", ".join(s["failed_ids"][:20]))
    return "\n".join(lines)
