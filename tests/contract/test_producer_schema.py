"""The published producer contract (issue 12): the committed JSON Schema is the model's, the README's
example record is valid under both, and the schema and the trigger agree on what they accept."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contract import names
from contract.errors import InvalidTicketError
from pipeline.domain.intake import parse_ticket
from pipeline.schema import SCHEMA_PATH, render
from tests.conftest import make_ticket


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _readme_example() -> dict:
    text = (names.REPO_ROOT / "README.md").read_text()
    section = text.split("## Sending tickets from your own system", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert block, "the README section has no JSON example"
    return json.loads(block.group(1))


def test_the_committed_schema_is_generated_from_the_model():
    assert SCHEMA_PATH.read_text() == render(), "run: python -m pipeline.schema"


def test_the_readme_example_record_is_valid_for_the_schema_and_the_trigger():
    record = _readme_example()
    assert list(_validator().iter_errors(record)) == []
    ticket = parse_ticket(json.dumps(record).encode())
    assert ticket.ticketId == record["ticketId"]


def test_a_ticket_tms_makes_is_valid_for_the_published_schema():
    assert list(_validator().iter_errors(json.loads(make_ticket().to_record_bytes()))) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("ticketId",), "has space"),
        (("ticketId",), "x" * 65),
        (("source",), "fax"),
        (("data", "customer", "email"), "not-an-email"),
        (("data", "unexpected"), "field"),
        (("eventVersion",), "2"),
    ],
)
def test_what_the_schema_refuses_the_trigger_refuses_too(path, value):
    record = json.loads(make_ticket().to_record_bytes())
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert list(_validator().iter_errors(record)), "the schema accepted it"
    with pytest.raises(InvalidTicketError):
        parse_ticket(json.dumps(record).encode())
