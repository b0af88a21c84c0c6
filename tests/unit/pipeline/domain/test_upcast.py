"""Tolerant intake, strict core (issue 12): older and foreign-but-valid shapes are upcast to the current
event version before validation; producer-chosen ids in the documented pattern are taken as they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from contract.errors import InvalidTicketError
from contract.models import EXECUTION_NAME_MAX, ProcessedRecord, Source, execution_name, is_ticket_id
from pipeline.domain.intake import Outcome, RecordMeta, handle_record, parse_ticket
from pipeline.domain.retry import retry_name
from pipeline.domain.upcast import is_thesis_shape, upcast
from tests.conftest import make_ticket
from tests.fakes.intake import FakeDlq, FakeInputs, FakeStarter
from tests.paths import EVENTS

THESIS = EVENTS / "thesis_record.json"
META = RecordMeta(partition_key="pk", sequence_number="7")


def _thesis() -> dict:
    return json.loads(THESIS.read_text())


def test_a_record_exactly_in_the_thesis_format_starts_a_workflow_instead_of_a_dead_letter():
    starter, dlq = FakeStarter(), FakeDlq()

    outcome = handle_record(THESIS.read_bytes(), META, starter, dlq, FakeInputs())

    assert outcome is Outcome.STARTED, dlq.messages
    ((name, payload),) = starter.started.items()
    assert name == "TKT-20250312-4821"
    ticket = payload["ticket"]
    assert ticket["eventVersion"] == "1.0"
    assert ticket["submittedAt"] == "2025-03-12T14:07:55.123Z"  # naive time read as UTC
    assert ticket["source"] == Source.API
    assert ticket["data"]["customer"]["email"] == "maria.papadopoulou@example.com"
    assert ticket["data"]["customer"]["company"] == "Aegean Retail"
    assert (ticket["data"]["product"], ticket["data"]["issue_type"]) == ("AWS Lambda", "Performance Issue")


def test_the_thesis_id_is_kept_as_it_is_even_when_its_local_date_differs_from_the_utc_time():
    # The thesis generator stamps the id with the local date and submittedAt with utcnow().
    raw = _thesis()
    raw["submittedAt"] = "2025-03-11T23:30:00"
    ticket = parse_ticket(json.dumps(raw).encode())
    assert ticket.ticketId == "TKT-20250312-4821"
    assert ticket.submittedAt == datetime(2025, 3, 11, 23, 30, tzinfo=UTC)


def test_upcasting_is_pure_and_leaves_the_input_unchanged():
    raw = _thesis()
    before = json.dumps(raw, sort_keys=True)
    upcast(raw)
    assert json.dumps(raw, sort_keys=True) == before
    assert is_thesis_shape(raw) and not is_thesis_shape(upcast(raw))


@pytest.mark.parametrize("version", ["1", 1, "1.0"])
def test_event_version_1_in_any_spelling_is_the_current_version(version):
    raw = json.loads(make_ticket().to_record_bytes())
    raw["eventVersion"] = version
    assert parse_ticket(json.dumps(raw).encode()).eventVersion == "1.0"


@pytest.mark.parametrize("version", ["2", "0.9", True, None])
def test_an_unknown_event_version_is_still_dead_lettered_with_its_reason(version):
    raw = json.loads(make_ticket().to_record_bytes())
    raw["eventVersion"] = version
    starter, dlq = FakeStarter(), FakeDlq()
    assert handle_record(json.dumps(raw).encode(), META, starter, dlq, FakeInputs()) is Outcome.REJECTED
    assert "eventVersion" in dlq.messages[0]["reason"]


def test_a_thesis_record_with_a_broken_field_is_dead_lettered_naming_the_current_field():
    raw = _thesis()
    raw["data"]["customer_contact_information"]["email"] = "not-an-email"
    with pytest.raises(InvalidTicketError, match=r"data\.customer\.email"):
        parse_ticket(json.dumps(raw).encode())


def test_a_current_record_with_a_naive_time_is_still_refused():
    raw = json.loads(make_ticket().to_record_bytes())
    raw["submittedAt"] = "2026-11-27T10:00:00"
    with pytest.raises(InvalidTicketError, match="submittedAt: must carry a timezone"):
        parse_ticket(json.dumps(raw).encode())


# --- producer-chosen ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ticket_id",
    ["TKT-20250312-4821", "order:2026.11.27:42", "ZD_123456", "a", "x" * 64, "crm.case-9:reopened_2"],
)
def test_a_producer_id_in_the_documented_pattern_is_accepted_as_it_is(ticket_id):
    raw = json.loads(make_ticket().to_record_bytes())
    raw["ticketId"] = ticket_id
    starter, dlq = FakeStarter(), FakeDlq()

    assert handle_record(json.dumps(raw).encode(), META, starter, dlq, FakeInputs()) is Outcome.STARTED, (
        dlq.messages
    )
    ((name, payload),) = starter.started.items()
    assert payload["ticket"]["ticketId"] == ticket_id
    assert name == execution_name(ticket_id)


@pytest.mark.parametrize(
    ("ticket_id", "why"),
    [
        ("x" * 65, "65 characters"),
        ("", "empty"),
        ("-leading-dash", "reads as a command-line option"),
        ("has space", "space"),
        ("a/b", "slash"),
        ("tkt#1", "hash"),
        ("ünïcode", "non-ASCII"),
    ],
)
def test_an_id_outside_the_pattern_is_dead_lettered_naming_the_field(ticket_id, why):
    raw = json.loads(make_ticket().to_record_bytes())
    raw["ticketId"] = ticket_id
    starter, dlq = FakeStarter(), FakeDlq()
    assert handle_record(json.dumps(raw).encode(), META, starter, dlq, FakeInputs()) is Outcome.REJECTED, why
    assert "ticketId" in dlq.messages[0]["reason"]


def test_our_own_id_format_must_still_carry_the_submission_date():
    raw = json.loads(make_ticket(now=datetime(2026, 11, 27, tzinfo=UTC)).to_record_bytes())
    raw["ticketId"] = "TKT-20261126-ABCDEFGHJK"
    with pytest.raises(InvalidTicketError, match="does not carry the submission date 20261127"):
        parse_ticket(json.dumps(raw).encode())


def test_execution_names_are_valid_for_step_functions_and_one_to_one():
    from moto.stepfunctions.models import StepFunctionBackend

    ids = ["a:b", "a.b", "a_b", "a-b", "a:b:c", "a.b:c", "x:" * 31 + "x", "TKT-20250312-4821"]
    assert all(is_ticket_id(i) for i in ids)
    names = [execution_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    for name in names:
        assert not set(name) & set(StepFunctionBackend.invalid_chars_for_name), name
        assert 1 <= len(name) <= EXECUTION_NAME_MAX


def test_a_retry_name_of_the_longest_id_fits_step_functions_80_characters_and_stays_distinct():
    now = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    a, b = "a" * 63 + "1", "a" * 63 + "2"
    assert len(retry_name(a, now)) <= EXECUTION_NAME_MAX
    assert retry_name(a, now) != retry_name(b, now)
    assert retry_name("TKT-20261127-ABCDEFGHJK", now) == "TKT-20261127-ABCDEFGHJK-retry-20261127T180000Z"


def test_a_producer_id_gives_a_valid_archive_key_and_warehouse_row():
    from tests.contract.test_ticket_contract import SENTIMENT, _triage

    raw = json.loads(make_ticket().to_record_bytes())
    raw["ticketId"] = "crm:case.42"
    ticket = parse_ticket(json.dumps(raw).encode())
    record = ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket))
    assert record.archive_key().endswith("/crm:case.42.json")


@pytest.mark.parametrize("version", [[], {}, [1], 1.5])
def test_an_event_version_of_any_json_type_is_a_reason_not_a_crash(version):
    # Found by the intake fuzz test: an array made the upcaster raise TypeError (unhashable).
    raw = json.loads(make_ticket().to_record_bytes())
    raw["eventVersion"] = version
    with pytest.raises(InvalidTicketError, match="eventVersion"):
        parse_ticket(json.dumps(raw).encode())
