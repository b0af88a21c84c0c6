"""PII redaction: the offline detector answers in Comprehend's shape, and what leaves the core is redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.models import PiiResult, ProcessedRecord, SentimentResult, TicketSubmitted
from local.offline_reply import OfflineReplyModel
from local.pii import (
    TextSizeLimitExceededError,
    UnsupportedLanguageError,
    detect_pii_entities,
)
from local.sentiment import detect_sentiment
from pipeline.domain.archive import archive_ticket, original_key
from pipeline.domain.redaction import for_model, redact
from pipeline.domain.triage import draft_reply
from tests.conftest import make_ticket

EMAIL = "jane.doe@corp-mail.example"
PHONE = "(415) 555-0188"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
ADDRESS = "1600 Amphitheatre Parkway, Mountain View, CA 94043"
DESCRIPTION = (
    f"Our invoice went to {EMAIL}; call me at {PHONE}. We paid with card {CARD} and by transfer from "
    f"{IBAN}. Ship the replacement to {ADDRESS}. The instance has been down since 09:00 UTC."
)


def _pii_of(ticket: TicketSubmitted) -> PiiResult:
    return PiiResult.model_validate(detect_pii_entities(ticket.data.sentiment_text(), "en"))


class RecordingModel:
    """The offline reply model, remembering the ticket it was shown."""

    def __init__(self) -> None:
        self.inner = OfflineReplyModel()
        self.model_id = self.inner.model_id
        self.seen: list[TicketSubmitted] = []

    def draft(self, ticket: TicketSubmitted, sentiment: SentimentResult) -> Any:
        self.seen.append(ticket)
        return self.inner.draft(ticket, sentiment)


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put(self, key: str, body: str) -> None:
        self.objects[key] = body


def test_offline_detector_answers_in_comprehend_shape_with_offsets_into_the_text() -> None:
    text = f"Mail {EMAIL} or call {PHONE}, card {CARD}, IBAN {IBAN}, office {ADDRESS}."
    response = detect_pii_entities(text, "en")
    found = {(e["Type"], text[e["BeginOffset"] : e["EndOffset"]]) for e in response["Entities"]}
    assert found == {
        ("EMAIL", EMAIL),
        ("PHONE", PHONE),
        ("CREDIT_DEBIT_NUMBER", CARD),
        ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", IBAN),
        ("ADDRESS", ADDRESS),
    }
    assert all(0 < e["Score"] <= 1 for e in response["Entities"])
    PiiResult.model_validate(response)


def test_numbers_that_fail_their_checksum_are_not_cards_or_ibans() -> None:
    text = "Order 4111 1111 1111 1112 and reference DE00 3704 0044 0532 0130 00, account 123456789012."
    assert detect_pii_entities(text, "en")["Entities"] == []


def test_detector_keeps_comprehends_limits() -> None:
    with pytest.raises(UnsupportedLanguageError):
        detect_pii_entities("hello", "fr")
    with pytest.raises(TextSizeLimitExceededError):
        detect_pii_entities("a" * 100_001, "en")


def test_redaction_replaces_entities_with_typed_placeholders_in_subject_and_description() -> None:
    ticket = make_ticket(subject=f"Refund to {EMAIL}", description=DESCRIPTION)
    redaction = redact(ticket, _pii_of(ticket))
    data = redaction.ticket.data
    assert data.subject == "Refund to [EMAIL]"
    assert data.description == (
        "Our invoice went to [EMAIL]; call me at [PHONE]. We paid with card [CREDIT_DEBIT_NUMBER] and by "
        "transfer from [INTERNATIONAL_BANK_ACCOUNT_NUMBER]. Ship the replacement to [ADDRESS]. The instance "
        "has been down since 09:00 UTC."
    )
    assert (
        redaction.entity_types_column
        == "ADDRESS,CREDIT_DEBIT_NUMBER,EMAIL,INTERNATIONAL_BANK_ACCOUNT_NUMBER,PHONE"
    )
    assert redaction.ticket.data.customer == ticket.data.customer  # contact fields stay for agents


def test_low_confidence_and_date_entities_stay_and_no_entities_means_the_same_ticket() -> None:
    ticket = make_ticket(description="Since 2024-05-01 the job fails.")
    pii = PiiResult.model_validate(
        {
            "Entities": [
                {"Type": "DATE_TIME", "Score": 0.99, "BeginOffset": 32, "EndOffset": 42},
                {"Type": "NAME", "Score": 0.2, "BeginOffset": 0, "EndOffset": 6},
            ]
        }
    )
    assert redact(ticket, pii).ticket is ticket
    assert redact(ticket, PiiResult()).entity_types == ()


def test_reply_model_sees_no_pii_and_no_customer_contact_field() -> None:
    ticket = make_ticket(description=DESCRIPTION)
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_text(), "en"))
    model = RecordingModel()
    result = draft_reply(ticket, sentiment, model, pii=_pii_of(ticket))
    (shown,) = model.seen
    shown_json = shown.model_dump_json()
    for secret in (EMAIL, PHONE, CARD, IBAN, ADDRESS, "ana@example.com", "Silva"):
        assert secret not in shown_json
    assert shown.data.customer.first_name == "Ana"  # the greeting still names the customer
    assert ticket.ticketId in result.response_text


def test_for_model_drops_contact_fields_and_the_slack_context() -> None:
    shown = for_model(make_ticket())
    assert (shown.data.customer.email, shown.data.customer.last_name, shown.slack) == ("", "", None)


def test_archive_writes_redacted_analytics_record_and_the_original_apart() -> None:
    ticket = make_ticket(description=DESCRIPTION)
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_text(), "en"))
    triage = draft_reply(ticket, sentiment, OfflineReplyModel())
    store, originals = MemoryStore(), MemoryStore()
    out = archive_ticket(ticket, sentiment, triage, store, pii=_pii_of(ticket), originals=originals)
    (key,) = store.objects
    assert key == out["key"] and key.startswith("tickets/")
    analytics = ProcessedRecord.model_validate_json(store.objects[key])
    assert EMAIL not in store.objects[key] and CARD not in store.objects[key]
    assert "[CREDIT_DEBIT_NUMBER]" in analytics.description
    assert analytics.pii_entity_types.split(",") == sorted(analytics.pii_entity_types.split(","))
    assert "EMAIL" in analytics.pii_entity_types
    (okey,) = originals.objects
    assert okey == original_key(analytics) and okey.startswith("originals/")
    assert ProcessedRecord.model_validate_json(originals.objects[okey]).description == DESCRIPTION
    # The workflow records (DynamoDB) and announces (SNS, Slack) the redacted record.
    assert CARD not in json.dumps(out)


def test_archive_without_pii_writes_one_object_and_an_empty_types_column() -> None:
    ticket = make_ticket()
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_text(), "en"))
    triage = draft_reply(ticket, sentiment, OfflineReplyModel())
    store, originals = MemoryStore(), MemoryStore()
    archive_ticket(ticket, sentiment, triage, store, pii=_pii_of(ticket), originals=originals)
    (body,) = store.objects.values()
    assert ProcessedRecord.model_validate_json(body).pii_entity_types == ""
    assert originals.objects == {}


def test_labelled_set_plants_valid_entities_at_their_exact_spans_and_the_detector_finds_them() -> None:
    import random

    from tools.pii_corpus import PLANTED_TYPES, plant

    rng = random.Random(3)
    kinds: set[str] = set()
    for _ in range(60):
        text, truth = plant("The export fails every night. Logs show a timeout. Please advise.", rng, count=2)
        spans = {
            (e["BeginOffset"], e["EndOffset"], e["Type"]) for e in detect_pii_entities(text, "en")["Entities"]
        }
        for planted in truth:
            kinds.add(planted.type)
            assert (planted.begin, planted.end, planted.type) in spans, text[planted.begin : planted.end]
    assert kinds == set(PLANTED_TYPES)


# --- Issue 27.7: redaction covers everything the model and the warehouse get ---------------------------


def _path(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def workflow_pii_text(ticket: TicketSubmitted) -> str:
    """What the deployed workflow sends to DetectPiiEntities for this ticket: the ASL's DetectPii `Text`
    parameter evaluated on the execution input intake builds (a JSONPath, or States.Format of JSONPaths)."""
    from contract import names
    from pipeline.domain.intake import execution_input

    parameters = json.loads(names.ASL_PATH.read_text())["States"]["DetectPii"]["Parameters"]
    expression, state = parameters["Text.$"], execution_input(ticket)
    if not expression.startswith("States.Format("):
        return str(_path(state, expression))
    template, *args = [a.strip() for a in expression.removeprefix("States.Format(")[:-1].split(",")]
    return template.strip("'").format(*(_path(state, a) for a in args))


def _long_description(*plants: tuple[int, str]) -> str:
    """Filler log lines with each (byte offset, text) planted at that UTF-8 byte of the description."""
    line = "2026-12-01 10:00:00 INFO worker heartbeat ok, queue depth nominal\n"
    parts, at = [], 0
    for offset, text in plants:
        parts.append((line * (1 + (offset - at) // len(line)))[: offset - at])
        parts.append(text)
        at = offset + len(text)
    parts.append(line * 3)
    return "".join(parts)


LATE_EMAIL, LATER_CARD = "late.pii@corp-mail.example", "4111 1111 1111 1111"


def test_pii_after_byte_5000_and_11000_is_redacted_in_the_prompt_and_the_archive_record() -> None:
    from pipeline.adapters.llm import build_messages

    description = _long_description((5200, f" mail {LATE_EMAIL} "), (11200, f" card {LATER_CARD} "))
    assert len(description.encode()) < 12000  # the model reads all of it (PROMPT_DESCRIPTION_MAX)
    ticket = make_ticket(description=description)
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_prefix()))
    pii = PiiResult.model_validate(detect_pii_entities(workflow_pii_text(ticket), "en"))
    model = RecordingModel()

    result = draft_reply(ticket, sentiment, model, pii=pii)
    prompt = "\n".join(text for _role, text in build_messages(model.seen[0], sentiment))
    store = MemoryStore()
    archive_ticket(ticket, sentiment, result, store, pii=pii, originals=MemoryStore())

    assert LATE_EMAIL not in prompt and LATER_CARD not in prompt
    assert "[EMAIL]" in prompt and "[CREDIT_DEBIT_NUMBER]" in prompt
    (line,) = store.objects.values()
    record = ProcessedRecord.model_validate_json(line)
    assert LATE_EMAIL not in line and LATER_CARD not in line
    assert record.pii_entity_types == "CREDIT_DEBIT_NUMBER,EMAIL"


def test_pii_deep_in_a_64_kib_description_is_redacted_for_the_warehouse_and_the_prompts_tail() -> None:
    from contract.models import DESCRIPTION_MAX
    from pipeline.adapters.llm import build_messages

    description = _long_description((30000, f" mail {LATE_EMAIL} "), (64000, f" card {LATER_CARD} "))
    description = description[: DESCRIPTION_MAX - 10]
    ticket = make_ticket(description=description)
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_prefix()))
    pii = PiiResult.model_validate(detect_pii_entities(workflow_pii_text(ticket), "en"))
    model = RecordingModel()

    result = draft_reply(ticket, sentiment, model, pii=pii)
    prompt = "\n".join(text for _role, text in build_messages(model.seen[0], sentiment))
    store = MemoryStore()
    archive_ticket(ticket, sentiment, result, store, pii=pii, originals=MemoryStore())

    assert "[CREDIT_DEBIT_NUMBER]" in prompt and LATER_CARD not in prompt  # the tail the model reads
    (line,) = store.objects.values()
    assert LATE_EMAIL not in line and LATER_CARD not in line


def test_the_pii_units_follow_the_length_of_the_text_sent() -> None:
    from contract.models import TicketUsage
    from pipeline.domain.usage import comprehend_units, workflow_usage

    def units(description: str) -> int:
        ticket = make_ticket(subject="Sync fails", description=description)
        usage = workflow_usage(
            ticket,
            TicketUsage(),
            pii_detected=True,
            incident_failed=False,
            update_bytes=100,
            message_bytes=100,
            archive_objects=1,
        )
        assert usage.comprehend_pii_units == comprehend_units(workflow_pii_text(ticket))
        return usage.comprehend_pii_units

    assert units("It fails.") == 3  # the 3-unit minimum
    assert units("x" * 20_000) == 201  # "Sync fails. " + 20,000 characters: 100 characters a unit
    assert units("x" * 60_000) == 601
