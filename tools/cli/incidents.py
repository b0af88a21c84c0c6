"""`tms incidents [--json]`: the open incidents with their members (largest first)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `incidents` to the tms command."""
    p = subparsers.add_parser(
        "incidents", help="list open incidents (similar tickets grouped) and their members"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_incidents)


def incident_dict(incident: Any, now: datetime) -> dict[str, Any]:
    """One incident as the --json output shows it."""
    return {
        "incident_id": incident.incident_id,
        "root_ticket_id": incident.root.ticket_id,
        "reports": incident.count,
        "priority": incident.priority.value,
        "companies": incident.companies,
        "products": incident.products,
        "opened_at": incident.root.submitted_at.isoformat(),
        "duration_s": int(incident.duration(now).total_seconds()),
        "members": [
            {
                "ticket_id": m.ticket_id,
                "submitted_at": m.submitted_at.isoformat(),
                "customer": m.customer,
                "company": m.company,
                "subject": m.subject,
                "priority": m.priority.value,
                "status": m.status,
            }
            for m in incident.members
        ],
    }


def render(incidents: list[dict[str, Any]]) -> str:
    """The human-readable listing."""
    if not incidents:
        return "no open incidents"
    lines = []
    for i in incidents:
        companies = ", ".join(i["companies"]) or "-"
        hours = i["duration_s"] / 3600
        lines.append(
            f"{i['incident_id']}  {i['reports']} reports  {i['priority']}  {hours:.1f} h  "
            f"{', '.join(i['products'])}  companies: {companies}"
        )
        for n, m in enumerate(i["members"], start=1):
            lines.append(
                f"  {n:>3}. {m['ticket_id']}  {m['status']:<10} {m['priority']:<7} {m['customer']}: {m['subject']}"
            )
    return "\n".join(lines)


def _incidents(args: argparse.Namespace) -> int:
    from contract.clients import aws_client
    from local.stack import resolve
    from pipeline.adapters.incident_store import DynamoIncidentStore
    from pipeline.domain.incidents import top_incidents

    info = resolve()
    store = DynamoIncidentStore(info.table_name, aws_client("dynamodb", info, profile="cli"))
    open_ = store.open_incidents()
    now = datetime.now(UTC)
    listed = [incident_dict(i, now) for i in top_incidents(open_, limit=len(open_))]
    print(json.dumps({"incidents": listed}) if args.json else render(listed))
    return 0
