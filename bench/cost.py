"""Cost benchmark: the variable AWS cost per 1,000 tickets, measured on the embedded local stack.

    .venv/bin/python bench/cost.py [--tickets 50] [--rate 1] [--seed 7]

One fresh local stack, two runs of the same ticket mix (the second seed differs so the ids do):
- steady: `--rate` tickets a second. Each function invocation has the CPU to itself, as each Lambda
  invocation has its own: the measurement the $1.00 goal is read against.
- burst: every ticket at once. Fifty executions share two cores in one Python process, so each function's
  wall time (what Lambda bills) includes waiting for the others; Lambda on AWS would not pay that wait.
Each ticket records its own usage (tokens, Comprehend units, GB-seconds, requests); `tms cost` prices it
with tools/prices.json. Prints both tables side by side and the verdict against the goal.
Local GB-seconds measure our code on this machine with the offline reply model (a few ms where Bedrock
takes ~1.5 s): README "Cost per ticket" models the AWS figure from them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1.0, help="tickets a second in the steady run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    for name in ("werkzeug", "moto", "botocore"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TMS_STATE_DIR", tempfile.mkdtemp(prefix="tms-bench-"))

    from local.runtime import LocalStack
    from tools import cost
    from tools.demo import demo_clients, run_demo, scan_ticket_items

    facts = cost.deployed_stack()  # a synth of cdk.json, as `tms cost` and `tms report` count it
    prices = cost.load_prices()

    estimates = {}
    with LocalStack.start() as stack:
        clients = demo_clients(stack.info)
        for label, seed, rate in (("steady", args.seed, args.rate), ("burst", args.seed + 1, None)):
            report = run_demo(stack.info, tickets=args.tickets, seed=seed, clients=clients, rate=rate)
            if not report.ok:
                print(f"{label} run did not reconcile: {report.as_dict()}", file=sys.stderr)
                return 1
            stack.wait_idle(timeout=120)
            items = scan_ticket_items(clients["dynamodb"], stack.info.table_name, report.ticket_ids)
            usages, mail = cost.item_usages(items)
            estimates[label] = (
                cost.estimate(usages, facts, prices, mail=mail, usage_source=label),
                report,
            )

    steady, burst = estimates["steady"][0], estimates["burst"][0]
    width = max(len(line.item) for line in steady.variable)
    print(
        f"cost per 1,000 tickets, {args.tickets} tickets a run (steady at {args.rate:g}/s, burst all at once); "
        f"{prices.region} prices of {prices.as_of}; {steady.stack.state_machine_type} workflow; "
        f"reply model {steady.model_id}"
    )
    print()
    print(
        f"{'line item':<{width}}  {'steady/ticket':>13}  {'steady USD':>10}  {'burst/ticket':>13}  {'burst USD':>10}"
    )
    for a, b in zip(steady.variable, burst.variable, strict=True):
        print(f"{a.item:<{width}}  {a.quantity:>13.4g}  {a.usd:>10.4f}  {b.quantity:>13.4g}  {b.usd:>10.4f}")
    print(
        f"{'variable cost per 1,000 tickets':<{width}}  {'':>13}  {steady.variable_usd_per_1000:>10.4f}  "
        f"{'':>13}  {burst.variable_usd_per_1000:>10.4f}"
    )
    for label, (est, report) in estimates.items():
        verdict = "within" if est.triage_usd_per_1000 <= cost.GOAL_USD_PER_1000 else "OVER"
        print(
            f"{label}: ${est.variable_usd_per_1000:.4f} per 1,000 tickets, triage and answer "
            f"${est.triage_usd_per_1000:.4f}, {verdict} the goal of ${cost.GOAL_USD_PER_1000:.2f} "
            f"({report.processed} of {report.submitted} triaged)"
        )
    print(f"machine: {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
