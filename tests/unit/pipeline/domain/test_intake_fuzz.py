"""Fuzzing the intake: any Kinesis payload and any `/ticket` text ends as a ticket or a clear rejection.

Never another exception, never a stuck shard.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contract.errors import InvalidTicketError
from contract.models import SlackContext, TicketSubmitted, execution_name
from pipeline.domain.intake import (
    DLQ_COPY_MAX_BYTES,
    AuditOutcome,
    Outcome,
    RecordMeta,
    audit_record,
    handle_record,
    matches_trigger_filter,
    parse_ticket,
)
from tests.fakes.intake import FakeDlq, FakeInputs, FakeStarter
from tools.generator import generate_tickets

META = RecordMeta(partition_key="pk", sequence_number="1")
VALID = [g.event for g in generate_tickets(8, seed=11)]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_ticket_or_clear_rejection(data: bytes) -> None:
    starter, dlq = FakeStarter(), FakeDlq()
    outcome = handle_record(data, META, starter, dlq, FakeInputs())
    if outcome == Outcome.REJECTED:
        assert len(dlq.messages) == 1 and not starter.started
        message = dlq.messages[0]
        assert message["reason"] and message["problems"]
        assert all(isinstance(p, str) and ": " in p for p in message["problems"])  # "field: why"
        assert base64.b64decode(message["data_base64"]) == data[:DLQ_COPY_MAX_BYTES]
    else:
        assert outcome == Outcome.STARTED and not dlq.messages
        ((name, payload),) = starter.started.items()
        assert execution_name(payload["ticket"]["ticketId"]) == name  # ":" is "=" in execution names
        assert execution_name(TicketSubmitted.model_validate(payload["ticket"]).ticketId) == name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_become_a_ticket_or_a_rejection_with_reasons(data: bytes) -> None:
    _assert_ticket_or_clear_rejection(data)


@FUZZ
@given(json_values)
def test_any_json_document_becomes_a_ticket_or_a_rejection_with_reasons(value: Any) -> None:
    _assert_ticket_or_clear_rejection(json.dumps(value).encode())


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=512),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(VALID).map(lambda t: t.to_record_bytes()),
    )
)
def test_every_record_is_owned_by_exactly_one_of_the_trigger_and_the_intake_audit(data: bytes) -> None:
    # Given any record on the stream, when both mappings see it (the trigger's through its filter)
    audit_dlq = FakeDlq()
    outcome = audit_record(data, META, audit_dlq)
    # Then the audit dead-letters it exactly when the filter keeps it from the trigger ...
    assert (outcome is AuditOutcome.FILTERED) == (not matches_trigger_filter(data))
    if outcome is AuditOutcome.FILTERED:
        (message,) = audit_dlq.messages
        assert message["reason"] and message["stage"] == "intake-filter"
        # ... and the filter never drops a record that would have become a ticket.
        with pytest.raises(InvalidTicketError):
            parse_ticket(data)
    else:
        assert audit_dlq.messages == []


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    return out


mutated_values = (
    json_values
    | st.text(min_size=0, max_size=6000)
    | st.sampled_from(
        ["", " ", "\u0000", "x" * 6144, "é" * 3000, "TKT-00000000-0000000000", "2026-13-45T25:61:00Z"]
    )
)


@st.composite
def near_valid_tickets(draw: st.DrawFn) -> bytes:
    """A valid ticket with one to three fields deleted, retyped or given a hostile value."""
    doc = json.loads(draw(st.sampled_from(VALID)).to_record_bytes())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        parent = doc
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(mutated_values)
    if draw(st.booleans()):
        doc[draw(st.text(min_size=1, max_size=8))] = draw(json_values)  # an unknown field
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@FUZZ
@given(near_valid_tickets())
def test_near_valid_ticket_becomes_a_ticket_or_a_rejection_naming_the_field(data: bytes) -> None:
    _assert_ticket_or_clear_rejection(data)


@FUZZ
@given(st.sampled_from(VALID), st.binary(min_size=1, max_size=8), st.integers(0, 400))
def test_invalid_utf8_anywhere_in_a_ticket_is_rejected_not_crashed(
    ticket: TicketSubmitted, garbage: bytes, at: int
) -> None:
    raw = ticket.to_record_bytes()
    at = min(at, len(raw))
    _assert_ticket_or_clear_rejection(raw[:at] + b"\xff" + garbage + raw[at:])


def test_unmutated_generated_tickets_are_started() -> None:
    for ticket in VALID:
        assert parse_ticket(ticket.to_record_bytes()) == ticket


# --- the poller: poison in a batch never blocks the shard ------------------------------------------------
class FakeKinesis:
    """One shard holding the given records, read in order by the poller."""

    def __init__(self, records: list[bytes]):
        self._records = [
            {
                "SequenceNumber": f"{i:020d}",
                "PartitionKey": f"pk-{i}",
                "Data": data,
                "ApproximateArrivalTimestamp": time.time(),
            }
            for i, data in enumerate(records)
        ]
        self.read_to = 0

    def describe_stream(self, StreamName: str) -> dict[str, Any]:
        return {
            "StreamDescription": {
                "StreamARN": "arn:aws:kinesis:us-east-1:1:stream/s",
                "Shards": [{"ShardId": "shard-0"}],
            }
        }

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        start = int(ShardIterator)
        batch = self._records[start : start + Limit]
        self.read_to = start + len(batch)
        return {"Records": batch, "NextShardIterator": str(self.read_to), "MillisBehindLatest": 0}


class FakeSqs:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.bodies.append(MessageBody)


@pytest.fixture(scope="module")
def trigger_with_fakes() -> Any:
    """The real trigger handler, its starter and DLQ replaced by fakes (the ports it composes)."""
    from local.lambdas import LocalLambdaContext
    from pipeline.handlers import trigger

    mp = pytest.MonkeyPatch()
    mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "tms-test")
    mp.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    deps: dict[str, Any] = {}
    mp.setattr(trigger, "_deps", lambda: (deps["starter"], deps["dlq"], FakeInputs()))

    def invoke(event: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        try:
            return trigger.handler(event, LocalLambdaContext(function_name="tms-trigger")), False
        except Exception:
            return None, True

    yield invoke, deps
    mp.undo()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(VALID).map(lambda t: t.to_record_bytes()),
            st.binary(max_size=64),
            json_values.map(lambda v: json.dumps(v).encode()),
            near_valid_tickets(),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 10),
)
def test_a_batch_with_poison_never_blocks_the_shard(
    trigger_with_fakes: Any, payloads: list[bytes], batch_size: int
) -> None:
    from local.poller import KinesisPoller, MappingConfig

    invoke, deps = trigger_with_fakes
    deps["starter"], deps["dlq"] = FakeStarter(), FakeDlq()
    kinesis, sqs = FakeKinesis(payloads), FakeSqs()
    poller = KinesisPoller(
        kinesis=kinesis,
        sqs=sqs,
        stream_name="s",
        dlq_url="dlq",
        invoke=invoke,
        config=MappingConfig(batch_size=batch_size, poll_interval_s=0.001, retry_delay_s=0.001),
    )
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while not (poller.idle and kinesis.read_to == len(payloads)) and time.monotonic() < deadline:
            time.sleep(0.002)
    finally:
        poller.stop()
    assert kinesis.read_to == len(payloads), "the shard stopped advancing"
    assert sqs.bodies == [], "a whole batch was dead-lettered: the trigger failed on a record"
    expected_started = set()
    rejected = 0
    for data in payloads:
        try:
            expected_started.add(execution_name(parse_ticket(data).ticketId))  # ":" is "=" there
        except InvalidTicketError:
            rejected += 1
    assert set(deps["starter"].started) == expected_started
    # Every rejected record is dead-lettered with its reason, once: by the trigger, or (when the mapping's
    # filter kept it from the trigger, as Lambda's filter does) by the intake audit's own mapping.
    audit_dlq = FakeDlq()
    audited = [d for d in payloads if audit_record(d, META, audit_dlq) is AuditOutcome.FILTERED]
    assert len(audited) == poller.stats.filtered
    assert len(deps["dlq"].messages) + len(audit_dlq.messages) == rejected
    assert all(m["reason"] for m in deps["dlq"].messages + audit_dlq.messages)


# --- /ticket text (the Slack front end) -------------------------------------------------------------------
SLACK = SlackContext(team_id="T1", channel_id="C1", user_id="U1")


@FUZZ
@given(st.text(max_size=6000))
def test_any_ticket_command_text_is_understood_or_answered_with_a_hint(text: str) -> None:
    from bot.logic import intake

    cmd = intake.parse_command(text)
    assert isinstance(cmd, intake.Help | intake.OpenForm | intake.Status | intake.Inline | intake.Unknown)


@FUZZ
@given(
    st.text(max_size=300),
    st.text(max_size=5000),
    st.sampled_from(
        [("Ada Lovelace", "ada@example.com"), ("", ""), ("X", "not-an-email"), ("é" * 200, "a@b.co")]
    ),
)
def test_inline_ticket_text_becomes_a_ticket_intake_accepts_or_readable_errors(
    subject: str, description: str, profile: tuple[str, str]
) -> None:
    from bot.logic import intake

    cmd = intake.parse_command(f"{subject.replace('|', '')} | {description}")
    assert isinstance(cmd, intake.Inline)
    full_name, email = profile
    first, _, last = full_name.partition(" ")
    try:
        event = intake.inline_ticket(
            cmd, full_name=full_name, first_name=first, last_name=last, email=email, slack=SLACK
        )
    except ValidationError as e:
        lines = intake.inline_errors(e)
        assert lines and all(isinstance(line, str) and line for line in lines)
        return
    # Whatever /ticket accepts, the pipeline's intake accepts too: no ticket is dead-lettered after Slack said OK.
    assert parse_ticket(event.to_record_bytes()) == event
