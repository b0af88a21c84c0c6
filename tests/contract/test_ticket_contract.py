"""The ticket contract: the flat record, the ids, the ASL and the models agree."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contract import names
from contract.models import (
    ProcessedRecord,
    SentimentResult,
    SourceRef,
    TicketSubmitted,
    TicketTriagedMessage,
    TriageResult,
    is_ticket_id,
    new_ticket_id,
    warehouse_columns,
)
from local.provision import PLACEHOLDER_RE, render_asl
from pipeline.domain.archive import archive_ticket, dynamodb_update
from tests.conftest import make_ticket

THESIS_COLUMNS = [
    "ticket_id", "submitted_at", "customer_first_name", "customer_last_name", "customer_full_name",
    "customer_email", "product", "issue_type", "subject", "description", "response_text", "sentiment",
    "sentiment_score_mixed", "sentiment_score_negative", "sentiment_score_neutral", "sentiment_score_positive",
    "priority", "priority_reasoning", "processed_at",
]  # fmt: skip

SENTIMENT = SentimentResult.model_validate(
    {
        "Sentiment": "NEGATIVE",
        "SentimentScore": {"Positive": 0.05, "Negative": 0.8, "Neutral": 0.1, "Mixed": 0.05},
    }
)


def _triage(ticket: TicketSubmitted) -> TriageResult:
    return TriageResult(
        response_text=f"Dear Ana, ... Your ticket number is {ticket.ticketId}.",
        priority="HIGH",
        priority_reasoning="Production outage reported by an upset customer.",
        model_id="offline-policy-v1",
        model_priority="HIGH",
        sources=[
            SourceRef(
                id="ec2-instance-unreachable#2",
                title="The instance does not answer on its port",
                uri="https://help.example.com/articles/ec2-instance-unreachable",
                score=0.7312,
            )
        ],
        retrieval_confidence=0.7312,
    )


def test_flat_record_has_the_19_thesis_columns_first_then_company_model_id_pii_incident_usage_model_priority():
    from contract.models import TicketUsage

    assert [c.name for c in warehouse_columns()] == [
        *THESIS_COLUMNS,
        "company",
        "status",
        "model_id",
        "pii_entity_types",
        "incident_id",
        *(f"usage_{name}" for name in TicketUsage.model_fields),
        "model_priority",
        "priority_flags",
        "sources",
        "retrieval_confidence",
    ]


def test_usage_is_flat_in_the_json_line_and_reads_back_from_it_and_from_an_older_record():
    from contract.models import TicketUsage

    ticket = make_ticket()
    usage = TicketUsage(llm_input_tokens=1200, llm_output_tokens=300, lambda_gb_seconds=0.25)
    record = ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket), usage=usage)
    line = json.loads(record.to_json_line())
    assert "usage" not in line
    assert line["usage_llm_input_tokens"] == 1200 and line["usage_lambda_gb_seconds"] == 0.25
    assert ProcessedRecord.model_validate_json(record.to_json_line()) == record
    older = {k: v for k, v in line.items() if not k.startswith("usage_")}
    assert ProcessedRecord.model_validate(older).usage == TicketUsage()


def test_flat_record_json_line_round_trips_through_the_model():
    ticket = make_ticket()
    record = ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket))
    line = record.to_json_line()
    assert line.endswith("\n") and "\n" not in line[:-1]
    again = ProcessedRecord.model_validate_json(line)
    assert again == record
    assert set(json.loads(line)) == {c.name for c in warehouse_columns()}
    assert json.loads(line)["submitted_at"].endswith("Z")


def test_archive_key_is_deterministic_by_submission_date_and_ticket_id():
    ticket = make_ticket(now=datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    record = ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket))
    assert record.archive_key() == f"tickets/submitted_date=2026-03-01/{ticket.ticketId}.json"


def test_dynamodb_update_sets_every_record_field_the_claim_did_not_write():
    ticket = make_ticket()
    update = dynamodb_update(ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket)))
    claimed = set(json.loads(names.ASL_PATH.read_text())["States"]["ClaimTicket"]["Parameters"]["Item"])
    assert {"ticket_id", "description"} <= claimed
    # incident_id is the link-incident step's on the item: recording "" would undo a root's incident.
    assert set(update["attribute_names"].values()) == {c.name for c in warehouse_columns()} - {
        "ticket_id",
        "description",
        "incident_id",
    }
    assert update["update_expression"].startswith("SET ")
    assert all(("S" in v) != ("N" in v) for v in update["attribute_values"].values())


def test_archive_returns_a_notification_that_parses_as_the_sns_message_model():
    class Store:
        def __init__(self) -> None:
            self.objects: dict[str, str] = {}

        def put(self, key: str, body: str) -> None:
            self.objects[key] = body

    ticket = make_ticket()
    store = Store()
    out = archive_ticket(ticket, SENTIMENT, _triage(ticket), store)
    assert list(store.objects) == [out["key"]]
    message = TicketTriagedMessage.model_validate_json(out["message"])
    assert message.record.ticket_id == ticket.ticketId
    assert (out["priority"], out["sentiment"]) == ("HIGH", "NEGATIVE")


def test_priority_outside_the_closed_enum_is_rejected():
    for bad in ("High", "URGENT", "P1", ""):
        with pytest.raises(ValidationError, match="priority"):
            TriageResult(response_text="x", priority=bad, priority_reasoning="r", model_id="m")


def test_ticket_ids_keep_the_readable_prefix_and_do_not_collide():
    now = datetime(2026, 11, 24, tzinfo=UTC)
    ids = {new_ticket_id(now) for _ in range(100_000)}
    assert len(ids) == 100_000
    assert all(i.startswith("TKT-20261124-") and is_ticket_id(i) for i in list(ids)[:1000])


def test_over_long_fields_are_rejected_naming_the_field_and_the_byte_limit():
    with pytest.raises(ValidationError) as err:
        make_ticket(description="é" * 40000)  # 80,000 bytes of UTF-8 in 40,000 characters
    assert "description" in str(err.value) and "65535 bytes" in str(err.value)


def test_sentiment_text_always_fits_comprehends_byte_limit():
    ticket = make_ticket(subject="s" * 256, description="d" * 65535)
    assert len(ticket.data.sentiment_text().encode()) <= 5000


def test_every_asl_placeholder_has_a_value_and_the_rendered_asl_is_json():
    found = set(PLACEHOLDER_RE.findall(names.ASL_PATH.read_text()))
    assert found == set(names.ASL_PLACEHOLDERS)
    rendered = render_asl({p: f"value-of-{p}" for p in names.ASL_PLACEHOLDERS})
    assert "${" not in rendered
    json.loads(rendered)


def test_a_missing_placeholder_value_is_an_error_not_a_silent_gap():
    with pytest.raises(KeyError, match="TicketsTable"):
        render_asl({p: "x" for p in names.ASL_PLACEHOLDERS if p != "TicketsTable"})


def _tasks() -> dict[str, dict]:
    states = json.loads(names.ASL_PATH.read_text())["States"]
    return {k: v for k, v in states.items() if v["Type"] == "Task"}


def test_every_task_retries_with_capped_backoff_and_full_jitter():
    for name, state in _tasks().items():
        assert state.get("Retry"), name
        for retry in state["Retry"]:
            assert retry["JitterStrategy"] == "FULL", name
            assert 0 < retry["MaxDelaySeconds"] <= 60, name
            assert retry["MaxAttempts"] <= 10, name


def test_every_task_on_the_happy_path_catches_into_the_failure_path():
    for name, state in _tasks().items():
        if name in ("MarkFailed", "ExpireFailed", "NotifyFailure", "LinkIncident"):
            continue
        targets = {c["Next"] for c in state["Catch"] if "States.ALL" in c["ErrorEquals"]}
        assert targets == {"MarkFailed"}, name


def test_a_failed_incident_link_leaves_the_ticket_alone_instead_of_failing_it():
    states = json.loads(names.ASL_PATH.read_text())["States"]
    link = states["LinkIncident"]
    assert [c["Next"] for c in link["Catch"] if "States.ALL" in c["ErrorEquals"]] == ["NoIncident"]
    assert states["NoIncident"]["Result"]["incident_id"] == ""
    assert states["NoIncident"]["Next"] == link["Next"] == "Archive"
    assert states["DraftReply"]["Next"] == "LinkIncident"  # after the priority is known (roll-up)
    retried = {e for r in link["Retry"] for e in r["ErrorEquals"]}
    assert {"LlmThrottledError", "EmbeddingUnavailableError", "IncidentConflictError"} <= retried
    assert states["Archive"]["Parameters"]["Payload"]["incident.$"] == "$.incident"


def test_asl_retries_name_our_typed_errors():
    draft = _tasks()["DraftReply"]
    retried = {e for r in draft["Retry"] for e in r["ErrorEquals"]}
    assert {"LlmThrottledError", "LlmUnavailableError"} <= retried
    assert "InvalidModelOutputError" not in retried  # invalid output is never retried into storage
    assert re.search(r"attribute_not_exists\(ticket_id\)", json.dumps(_tasks()["ClaimTicket"]))


def test_the_local_poller_and_the_deployed_mapping_filter_and_retry_alike():
    from contract.models import EVENT_NAME
    from infra.components import ingest
    from infra.components.lambdas import STREAM_RETRY_ATTEMPTS
    from local.poller import MappingConfig

    local = MappingConfig()
    assert local.filter_event_names == (ingest.EVENT_NAME,) == (EVENT_NAME,)
    assert (local.batch_size, local.max_retries) == (ingest.BATCH_SIZE, STREAM_RETRY_ATTEMPTS)


def test_every_enum_value_fits_its_warehouse_column():
    from contract.models import Priority, SentimentLabel, TicketStatus

    widths = {c.name: c.max_bytes for c in warehouse_columns()}
    for column, enum in (("status", TicketStatus), ("priority", Priority), ("sentiment", SentimentLabel)):
        too_long = [v.value for v in enum if len(v.value.encode()) > (widths[column] or 0)]
        assert not too_long, f"{column}: {too_long} exceed VARCHAR({widths[column]})"


def test_incident_id_goes_into_the_record_and_the_message_but_not_the_item_update():
    from contract.models import IncidentRef

    class Store:
        def __init__(self) -> None:
            self.objects: dict[str, str] = {}

        def put(self, key: str, body: str) -> None:
            self.objects[key] = body

    ticket = make_ticket()
    incident = IncidentRef(
        incident_id="INC-20261127-AAAAAAAAAA",
        root_ticket_id="TKT-20261127-AAAAAAAAAA",
        position=3,
        count=3,
        companies=("Acme", "Globex"),
        priority="HIGH",
        report_line="3rd report: Ana Silva, Acme: Cannot reach my instance",
    )
    store = Store()
    out = archive_ticket(ticket, SENTIMENT, _triage(ticket), store, incident=incident)
    assert json.loads(store.objects[out["key"]])["incident_id"] == "INC-20261127-AAAAAAAAAA"
    message = TicketTriagedMessage.model_validate_json(out["message"])
    assert message.incident == incident
    assert "incident_id" not in out["attribute_names"].values()
    alone = archive_ticket(ticket, SENTIMENT, _triage(ticket), store)
    assert TicketTriagedMessage.model_validate_json(alone["message"]).incident is None


def test_a_drafts_sources_reach_the_warehouse_row_as_json_and_an_ungrounded_draft_leaves_them_empty():
    ticket = make_ticket()
    grounded = ProcessedRecord.build(ticket, SENTIMENT, _triage(ticket))
    row = json.loads(grounded.to_json_line())
    assert json.loads(row["sources"]) == [
        {
            "id": "ec2-instance-unreachable#2",
            "title": "The instance does not answer on its port",
            "uri": "https://help.example.com/articles/ec2-instance-unreachable",
            "score": 0.7312,
        }
    ]
    assert row["retrieval_confidence"] == 0.7312

    plain = _triage(ticket).model_copy(update={"sources": [], "retrieval_confidence": None})
    row = json.loads(ProcessedRecord.build(ticket, SENTIMENT, plain).to_json_line())
    assert row["sources"] == "" and row["retrieval_confidence"] is None
    assert (
        "retrieval_confidence"
        not in dynamodb_update(ProcessedRecord.build(ticket, SENTIMENT, plain))["attribute_names"].values()
    )


def test_a_source_link_must_be_https():
    with pytest.raises(ValidationError, match="https"):
        SourceRef(id="x#0", title="x", uri="s3://tms-bucket/kb/x.md", score=0.9)
