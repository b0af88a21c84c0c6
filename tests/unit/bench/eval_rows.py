"""What the hand-written incident set's tests share about one of its lines."""

from __future__ import annotations

from typing import Any

from contract.models.ticket import Customer, TicketData


def ticket_error(row: dict[str, Any]) -> str | None:
    """Why the line is not a valid ticket (the customer's name split at its first space), or None."""
    first, _, last = row["customer"].partition(" ")
    try:
        TicketData(
            subject=row["subject"],
            description=row["description"],
            product=row["product"],
            issue_type=row["issue_type"],
            customer=Customer(
                first_name=first,
                last_name=last,
                full_name=row["customer"],
                email=row["email"],
                company=row["company"],
            ),
        )
    except ValueError as e:
        return f"{row['id']}: not a valid ticket: {e}"
    return None
