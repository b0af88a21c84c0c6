"""Long tickets (issue 12): a description up to DESCRIPTION_MAX bytes is accepted and triaged, and every
copy of it stays inside the limits of the services it crosses (Comprehend 5,000 bytes, Step Functions
256 KiB per state, SNS 256 KiB per message, SQS 256 KiB per dead letter, DynamoDB 400 KB per item)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from contract import names
from contract.errors import InvalidTicketError
from contract.models import (
    COMPREHEND_MAX_BYTES,
    DESCRIPTION_MAX,
    EVENT_JSON_MAX,
    SentimentResult,
    TicketSubmitted,
    TicketTriagedMessage,
    TriageResult,
)
from local.provision import render_asl
from pipeline.domain.archive import archive_ticket
from pipeline.domain.intake import RecordMeta, dead_letter, execution_input, parse_ticket
from tests.conftest import make_ticket

KIB = 1024
STEP_FUNCTIONS_MAX = 256 * KIB
SNS_MAX = 256 * KIB
SQS_MAX = 256 * KIB
DYNAMODB_ITEM_MAX = 400 * KIB

SENTIMENT = SentimentResult.model_validate(
    {"Sentiment": "MIXED", "SentimentScore": {"Positive": 0.3, "Negative": 0.3, "Neutral": 0.1, "Mixed": 0.3}}
)


def _utf8(value: Any) -> int:
    """Bytes of a JSON document as Step Functions and SNS count them (UTF-8, no ASCII escapes)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _worst_triage() -> TriageResult:
    # The longest answer the contract lets through, made of characters JSON escapes.
    return TriageResult(
        response_text='"' * 8000, priority="HIGH", priority_reasoning="\\" * 2000, model_id="m" * 128
    )


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put(self, key: str, body: str) -> None:
        self.objects[key] = body


def _descriptions_at_the_limit() -> dict[str, str]:
    quotes = '"' * (EVENT_JSON_MAX // 2 - 2000)  # as many escaped characters as the event bound allows
    return {
        "ascii": "log line 42: connection reset by peer\n" * (DESCRIPTION_MAX // 38)
        + "x" * (DESCRIPTION_MAX % 38),
        "two-byte": "é" * (DESCRIPTION_MAX // 2) + "x" * (DESCRIPTION_MAX % 2),
        "four-byte": "🔥" * (DESCRIPTION_MAX // 4) + "x" * (DESCRIPTION_MAX % 4),
        "escape-heavy": quotes + "x" * (DESCRIPTION_MAX - len(quotes)),
    }


# --- the bound ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(_descriptions_at_the_limit()))
def test_a_description_of_exactly_the_limit_is_accepted(kind: str):
    description = _descriptions_at_the_limit()[kind]
    assert len(description.encode()) == DESCRIPTION_MAX

    ticket = parse_ticket(make_ticket(description=description).to_record_bytes())

    assert ticket.data.description == description


def test_one_byte_over_the_limit_is_rejected_naming_the_field_and_the_limit():
    raw = json.loads(make_ticket().to_record_bytes())
    raw["data"]["description"] = "x" * (DESCRIPTION_MAX + 1)

    with pytest.raises(InvalidTicketError) as err:
        parse_ticket(json.dumps(raw).encode())

    assert (
        f"data.description: is {DESCRIPTION_MAX + 1} bytes of UTF-8, over the limit of {DESCRIPTION_MAX}"
        in str(err.value)
    )


def test_the_reported_4800_character_ticket_is_accepted_not_dead_lettered():
    # Issue 12: a customer pasting a log (4,800 characters) was dead-lettered "over the limit of 4500 bytes".
    log = ("2026-11-27T10:00:00Z ERROR worker-3 java.net.SocketTimeoutException: Read timed out\n" * 60)[
        :4800
    ]
    ticket = parse_ticket(make_ticket(description=f"Our sync job fails, log below.\n{log}").to_record_bytes())
    assert len(ticket.data.description) > 4800


def test_a_description_of_control_characters_is_refused_by_the_event_bound_with_its_reason():
    # Each one is a 6-byte \u escape in JSON: 65,535 of them would make a 384 KiB event.
    with pytest.raises(ValidationError, match=f"bytes as JSON, over the limit of {EVENT_JSON_MAX}"):
        make_ticket(description="\x1b" * DESCRIPTION_MAX)


def test_a_log_with_colour_codes_is_accepted():
    line = "\x1b[31mERROR\x1b[0m request failed: timeout after 30s\n"
    ticket = make_ticket(description=line * 500)
    assert "\x1b[31m" in ticket.data.description


# --- Comprehend --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["a", "é", "€", "🔥"])  # 1, 2, 3 and 4 bytes of UTF-8
def test_sentiment_text_is_a_prefix_of_at_most_5000_bytes_cut_on_a_character_boundary(char: str):
    ticket = make_ticket(subject="Angry", description=char * (DESCRIPTION_MAX // len(char.encode())))

    text = ticket.data.sentiment_text()

    raw = text.encode("utf-8")  # raises if a character was cut in half
    assert len(raw) <= COMPREHEND_MAX_BYTES
    assert len(raw) > COMPREHEND_MAX_BYTES - len(char.encode())  # as long as the boundary allows
    assert f"Angry. {ticket.data.description}".startswith(text)


def test_sentiment_text_of_a_short_ticket_is_the_whole_text():
    assert make_ticket(subject="Broken", description="It is broken.").data.sentiment_text() == (
        "Broken. It is broken."
    )


def test_sentiment_text_turns_control_characters_into_spaces():
    ticket = make_ticket(subject="Log", description="a\x1b[31mb\tc\nd")
    assert ticket.data.sentiment_text() == "Log. a [31mb c d"


# --- the reply model ---------------------------------------------------------------------------------------


def test_the_reply_model_reads_a_bounded_excerpt_with_the_head_and_the_tail():
    from contract.models import PROMPT_DESCRIPTION_MAX
    from pipeline.adapters.llm import build_messages

    head, tail = "I ran the sync and it failed.", "Caused by: java.lang.OutOfMemoryError"
    description = head + "\n" + "noise line\n" * 5000 + tail
    ticket = make_ticket(description=description)

    _system, user = build_messages(ticket, SENTIMENT)

    assert head in user[1] and tail in user[1] and "the middle is left out" in user[1]
    prompt_description = user[1].split("Description:\n", 1)[1].split("\n</untrusted_ticket_text", 1)[0]
    assert len(prompt_description.encode()) <= PROMPT_DESCRIPTION_MAX


# --- the services' limits at the maximum -------------------------------------------------------------------


def _peak_state(ticket: TicketSubmitted) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow state after Archive (its largest point: every later state only drops or adds small
    fields), built exactly as the ASL's ResultPaths assemble it, and the Archive result."""
    triage = _worst_triage()
    archived = archive_ticket(ticket, SENTIMENT, triage, _Store())
    state = execution_input(ticket)
    state["sentiment"] = SENTIMENT.model_dump(mode="json")
    state["triage"] = triage.model_dump(mode="json")
    state["archived"] = {k: archived[k] for k in _archive_result_keys()}
    return state, archived


def _archive_result_keys() -> list[str]:
    asl = json.loads(render_asl(_placeholders()))
    selector = asl["States"]["Archive"]["ResultSelector"]
    return [k.removesuffix(".$") for k in selector]


def _placeholders() -> dict[str, str]:
    return {p: "x" for p in names.ASL_PLACEHOLDERS}


@pytest.mark.parametrize("kind", list(_descriptions_at_the_limit()))
def test_the_workflow_state_at_the_maximum_stays_under_step_functions_256_kib(kind: str):
    ticket = make_ticket(description=_descriptions_at_the_limit()[kind])

    state, _ = _peak_state(ticket)

    assert _utf8(execution_input(ticket)) < STEP_FUNCTIONS_MAX
    assert _utf8(state) < STEP_FUNCTIONS_MAX, f"{_utf8(state)} bytes"


@pytest.mark.parametrize("kind", list(_descriptions_at_the_limit()))
def test_the_sns_message_at_the_maximum_carries_an_excerpt_and_stays_small(kind: str):
    ticket = make_ticket(description=_descriptions_at_the_limit()[kind])

    _, archived = _peak_state(ticket)
    message = TicketTriagedMessage.model_validate_json(archived["message"])

    assert message.description_truncated
    assert ticket.data.description.startswith(message.record.description.split("\n[...", 1)[0])
    assert len(archived["message"].encode()) < SNS_MAX


def test_the_archive_keeps_the_whole_description():
    ticket = make_ticket(description=_descriptions_at_the_limit()["two-byte"])
    store = _Store()
    archive_ticket(ticket, SENTIMENT, _worst_triage(), store)
    (line,) = store.objects.values()
    assert json.loads(line)["description"] == ticket.data.description


def _attribute_bytes(name: str, value: Any) -> int:
    # DynamoDB item size: attribute name + value, UTF-8 (numbers: at most 21 bytes).
    if isinstance(value, int | float):
        return len(name.encode()) + 21
    return len(name.encode()) + len(str(value).encode())


@pytest.mark.parametrize("kind", list(_descriptions_at_the_limit()))
def test_the_dynamodb_item_at_the_maximum_stays_under_400_kb(kind: str):
    ticket = make_ticket(description=_descriptions_at_the_limit()[kind])
    _, archived = _peak_state(ticket)
    asl = json.loads(render_asl(_placeholders()))
    claim = asl["States"]["ClaimTicket"]["Parameters"]["Item"]
    state = execution_input(ticket)

    size = 0
    for name, typed in claim.items():
        (value,) = typed.values()
        path = typed.get("S.$")
        if path and path.startswith("$.ticket."):
            value = state["ticket"]
            for part in path.removeprefix("$.ticket.").split("."):
                value = value[part]
        size += _attribute_bytes(name, value if not str(value).startswith("$$") else "x" * 200)
    for key, name in archived["attribute_names"].items():
        (value,) = archived["attribute_values"][":v" + key.removeprefix("#f")].values()
        size += _attribute_bytes(name, value)
    # What the bot and notifier add later: Slack thread, actions' history (bounded by the number of clicks).
    size += 20 * KIB

    assert "description" in claim
    assert "description" not in archived["attribute_names"].values()
    assert size < DYNAMODB_ITEM_MAX, f"{size} bytes"


def test_a_dead_letter_of_a_1_mb_record_fits_an_sqs_message():
    data = b'{"eventName": "TicketSubmitted", "data": "' + b"x" * (1024 * KIB) + b'"}'
    with pytest.raises(InvalidTicketError) as err:
        parse_ticket(data)
    message = dead_letter(RecordMeta("pk", "1"), data, err.value)
    assert len(json.dumps(message).encode()) < SQS_MAX
