"""The published producer contract: the JSON Schema of a TicketSubmitted record, generated from
contract/models/ (the one definition) and committed as ticket_submitted.schema.json beside this module.

Regenerate with `python -m pipeline.schema`; tests/contract/test_producer_schema.py fails when the committed
file and the model drift apart. It lives in the package (not in docs) so that it ships with the code that
enforces it and producers can validate against exactly what the trigger checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("ticket_submitted.schema.json")
SCHEMA_ID = "urn:tms:event:TicketSubmitted:1.0"


def ticket_submitted_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the current event version, from the model."""
    from contract.models import DESCRIPTION_MAX, EVENT_JSON_MAX, TicketSubmitted

    schema = TicketSubmitted.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": (
            "One support ticket on the tms Kinesis stream (event version 1.0). Strings are limited in UTF-8 "
            "bytes (x-maxUtf8Bytes; maxLength is the character bound it implies). submittedAt is ISO-8601 "
            f"with a timezone. description: at most {DESCRIPTION_MAX} bytes; the whole record at most "
            f'{EVENT_JSON_MAX} bytes as JSON. The trigger also accepts eventVersion "1" and the original '
            "thesis generator's shape (no eventVersion, data.customer_contact_information, "
            "data.product_issue_information, naive UTC times) and upcasts them to this one. See the README, "
            '"Sending tickets from your own system".'
        ),
    }


def render() -> str:
    """The committed file's exact text."""
    return json.dumps(ticket_submitted_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate the committed schema file."""
    path.write_text(render(), encoding="utf-8")
    return path
