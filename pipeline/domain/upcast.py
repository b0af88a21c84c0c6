"""Tolerant intake, strict core: older or foreign-but-valid record shapes become the current event version
before validation, so the model (contract/models/) knows one shape only.

Shapes understood (see README, "Sending tickets from your own system"):
- the current version, `eventVersion` "1.0", unchanged;
- `eventVersion` "1" (or the number 1): the same shape, written differently;
- no `eventVersion` at all: the record of the original thesis system's generator
  (tests/events/thesis_record.json): `TKT-YYYYMMDD-NNNN` ids, a naive `submittedAt` in UTC (Python's
  `datetime.utcnow().isoformat()`), no `source`, and the customer and product under
  `data.customer_contact_information` / `data.product_issue_information`.
Anything else is passed through as it is, and validation says what is wrong with it. Pure: no I/O.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from contract.models import EVENT_VERSION, Source, format_utc

# Versions that mean the current shape.
_CURRENT_ALIASES: frozenset[object] = frozenset({EVENT_VERSION, "1", 1})
THESIS_SOURCE = Source.API  # the thesis generator is a producer outside tms


def is_thesis_shape(raw: dict[str, Any]) -> bool:
    """True for a record of the original thesis generator (no eventVersion, nested customer/product)."""
    data = raw.get("data")
    return (
        "eventVersion" not in raw
        and isinstance(data, dict)
        and ("customer_contact_information" in data or "product_issue_information" in data)
    )


def _utc_from_naive(value: Any) -> Any:
    """A naive ISO-8601 time read as UTC; anything else (aware, unparsable, not a string) unchanged."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        return value
    return format_utc(parsed.replace(tzinfo=UTC))


def _from_thesis(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    data = out["data"]
    customer = data.pop("customer_contact_information", None)
    issue = data.pop("product_issue_information", None)
    if customer is not None and "customer" not in data:
        data["customer"] = customer
    if isinstance(issue, dict):
        for key in ("product", "issue_type"):
            if key in issue and key not in data:
                data[key] = issue[key]
    out["submittedAt"] = _utc_from_naive(out.get("submittedAt"))
    out.setdefault("source", THESIS_SOURCE.value)
    out["eventVersion"] = EVENT_VERSION
    return out


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """The record in the current event version when it is a shape we understand; else unchanged."""
    if is_thesis_shape(raw):
        return _from_thesis(raw)
    version = raw.get("eventVersion")
    # Only scalars can be aliases (an array or object would not even hash); bool is an int in Python.
    if (
        isinstance(version, str | int | float)
        and not isinstance(version, bool)
        and version in _CURRENT_ALIASES
    ):
        return {**raw, "eventVersion": EVENT_VERSION}
    return raw
