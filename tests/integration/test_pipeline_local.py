"""The real pipeline (same ASL, same handlers) on the embedded local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import names
from contract.manifests import parse_marker
from contract.models import DESCRIPTION_MAX, TicketFailedMessage, TicketTriagedMessage
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket
from tests.integration.conftest import archive_keys, drain, executions, item, notifications, put

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    outbox = tmp_path_factory.mktemp("outbox") / "slack.jsonl"
    with LocalStack.start(outbox=outbox, mapping=MappingConfig(retry_delay_s=0.05)) as s:
        yield s


def test_a_ticket_is_triaged_stored_archived_and_announced_once(stack: LocalStack):
    ticket = make_ticket(
        description="Production is down and we are losing orders every minute. This is unacceptable."
    )
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    stored = item(stack, ticket.ticketId)
    assert stored is not None and stored["status"] == "TRIAGED"
    assert stored["priority"] in {"HIGH", "MEDIUM", "NORMAL"} and stored["sentiment"] == "NEGATIVE"
    assert ticket.ticketId in stored["response_text"]
    assert archive_keys(stack, ticket.ticketId) == [
        f"tickets/submitted_date={ticket.submittedAt:%Y-%m-%d}/{ticket.ticketId}.json"
    ]
    body = stack.client("s3").get_object(
        Bucket=stack.info.bucket_name, Key=archive_keys(stack, ticket.ticketId)[0]
    )
    assert json.loads(body["Body"].read())["ticket_id"] == ticket.ticketId
    # The archive step's manifest marker names the record: the warehouse load finds it by processing time.
    listed = stack.client("s3").list_objects_v2(
        Bucket=stack.info.bucket_name, Prefix=names.MANIFEST_PREFIX + names.ARCHIVE_PREFIX
    )
    targets = [parse_marker(o["Key"], names.ARCHIVE_PREFIX) for o in listed.get("Contents", [])]
    assert archive_keys(stack, ticket.ticketId)[0] in {m.target for m in targets if m}
    sent = [
        n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
    ]
    assert len(sent) == 1
    assert {"priority", "sentiment", "event_type"} <= set(sent[0]["MessageAttributes"])
    assert TicketTriagedMessage.model_validate_json(sent[0]["Message"]).record.ticket_id == ticket.ticketId
    posts = [json.loads(x) for x in Path(stack.info.slack_outbox).read_text().splitlines()]
    assert sum(1 for p in posts if ticket.ticketId in json.dumps(p) and not p.get("thread_ts")) == 1


def test_a_triaged_ticket_records_what_it_consumed_in_its_archive_record_and_item(stack: LocalStack):
    from contract.models import ProcessedRecord
    from pipeline.domain.usage import comprehend_units, path_taken

    # Unlike the module's other tickets: one similar to a later test's would join its incident (a thread).
    ticket = make_ticket(
        subject="Invoice shows a charge twice",
        description="The November invoice lists the same support plan charge twice, please check it. " * 6,
        product="AWS Billing",
        issue_type="Billing Question",
    )
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    key = archive_keys(stack, ticket.ticketId)[0]
    body = stack.client("s3").get_object(Bucket=stack.info.bucket_name, Key=key)["Body"].read()
    usage = ProcessedRecord.model_validate_json(body).usage
    text = ticket.data.pii_text()
    # Sentiment is computed at intake (no Comprehend call, docs/decisions/0018); PII detection reads it all.
    assert usage.comprehend_sentiment_units == 0
    assert usage.comprehend_pii_units == comprehend_units(text) == len(text) // 100 + 1
    assert usage.llm_input_tokens > 500 and usage.llm_output_tokens > 50  # offline model: estimated
    assert usage.embedding_input_tokens > len(ticket.data.description) // 8
    # The states the execution really entered, as its history lists them.
    sfn = stack.client("stepfunctions")
    arn = executions(stack, ticket.ticketId)[0]["executionArn"]
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if "stateEnteredEventDetails" in e
    ]
    assert usage.state_transitions == len(entered) == len(path_taken({"PiiRedactionEnabled": "DetectPii"}))
    assert usage.lambda_requests >= 3 and usage.lambda_gb_seconds > 0
    assert usage.kinesis_put_kib >= 1 and usage.sns_publishes == 1
    assert usage.dynamodb_write_units >= 3 and usage.s3_put_requests >= 3
    stored = item(stack, ticket.ticketId)
    assert stored is not None and float(stored["usage_lambda_gb_seconds"]) == usage.lambda_gb_seconds


def test_pii_after_byte_5000_and_11000_never_reaches_the_archive_record_the_item_or_the_post(
    stack: LocalStack,
):
    from contract.models import ProcessedRecord
    from pipeline.domain.usage import comprehend_units

    late_email, later_card = "late.pii@corp-mail.example", "4111 1111 1111 1111"
    filler = "2026-12-01 10:00:00 INFO worker heartbeat ok, queue depth nominal\n" * 200
    description = (
        "Our nightly sync fails.\n"
        + filler[:5200]
        + f" mail {late_email} "
        + filler[:6000]
        + f" card {later_card}\n"
    )
    ticket = make_ticket(subject="Nightly sync fails", description=description)
    assert description.index(later_card) > 11000
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    (key,) = [k for k in archive_keys(stack, ticket.ticketId) if k.startswith(names.ARCHIVE_PREFIX)]
    line = stack.client("s3").get_object(Bucket=stack.info.bucket_name, Key=key)["Body"].read().decode()
    record = ProcessedRecord.model_validate_json(line)
    assert late_email not in line and later_card not in line
    assert record.pii_entity_types == "CREDIT_DEBIT_NUMBER,EMAIL"
    assert record.usage.comprehend_pii_units == comprehend_units(ticket.data.pii_text()) > 110
    stored = item(stack, ticket.ticketId) or {}
    assert late_email not in json.dumps(stored, default=str) and later_card not in json.dumps(
        stored, default=str
    )
    outbox = Path(stack.info.slack_outbox).read_text()
    assert late_email not in outbox and later_card not in outbox


def test_a_ticket_that_instructs_the_model_gets_a_capped_priority_and_a_warned_post(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
):
    import pipeline.handlers.draft_reply as draft_reply_handler
    from tests.unit.pipeline.domain.test_priority_bound import (
        EVIL_PHONE,
        INJECTION,
        ScriptedModel,
        billing_question,
    )

    # The workflow's draft step asks a model that obeys the ticket's planted instructions.
    monkeypatch.setattr(draft_reply_handler, "reply_model", ScriptedModel)
    ticket = billing_question(f"Our invoice shows a charge we do not recognise. {INJECTION}")
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    stored = item(stack, ticket.ticketId) or {}
    assert stored["status"] == "TRIAGED" and stored["priority"] == "NORMAL"
    assert stored["model_priority"] == "HIGH" and stored["priority_flags"] == "capped,instruction_text"
    (key,) = [k for k in archive_keys(stack, ticket.ticketId) if k.startswith(names.ARCHIVE_PREFIX)]
    record = json.loads(stack.client("s3").get_object(Bucket=stack.info.bucket_name, Key=key)["Body"].read())
    assert (record["priority"], record["model_priority"]) == ("NORMAL", "HIGH")
    sent = [
        n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
    ]
    assert sent[0]["MessageAttributes"]["priority"]["Value"] == "NORMAL"  # what the SLA and mail filters see
    posts = [json.loads(x) for x in Path(stack.info.slack_outbox).read_text().splitlines()]
    (post,) = [p for p in posts if ticket.ticketId in json.dumps(p) and not p.get("thread_ts")]
    shown = json.dumps(post)
    assert "model suggested HIGH; capped at NORMAL" in shown
    assert "evil[.]example/pay" in shown and EVIL_PHONE in shown


def test_redelivered_record_gives_one_ticket_one_execution_one_notification(stack: LocalStack):
    ticket = make_ticket()
    put(stack, ticket, ticket)  # the same record twice in one batch
    put(stack, ticket)  # and the whole batch replayed later
    stack.wait_idle(timeout=120)

    assert len(executions(stack, ticket.ticketId)) == 1
    assert item(stack, ticket.ticketId)["status"] == "TRIAGED"
    assert len(archive_keys(stack, ticket.ticketId)) == 1
    sent = [
        n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
    ]
    assert len(sent) == 1


def test_an_express_redelivery_under_another_name_ends_in_already_claimed_with_one_ticket(stack: LocalStack):
    # Given an Express workflow (it does not deduplicate execution names) and a triaged ticket
    sfn = stack.client("stepfunctions")
    assert sfn.describe_state_machine(stateMachineArn=stack.info.state_machine_arn)["type"] == "EXPRESS"
    ticket = make_ticket()
    put(stack, ticket)
    stack.wait_idle(timeout=120)
    assert item(stack, ticket.ticketId)["status"] == "TRIAGED"
    notifications(stack)
    kept = (
        stack.client("s3")
        .get_object(Bucket=stack.info.bucket_name, Key=f"{names.INPUTS_PREFIX}{ticket.ticketId}.json")["Body"]
        .read()
    )

    # When the same ticket's execution starts again (what at-least-once delivery does on AWS)
    again = sfn.start_execution(
        stateMachineArn=stack.info.state_machine_arn, name=f"{ticket.ticketId}-again", input=kept.decode()
    )["executionArn"]
    stack.wait_idle(timeout=120)

    # Then the claim ends it as a success that does nothing: one ticket, one archive, no second notice
    assert sfn.describe_execution(executionArn=again)["status"] == "SUCCEEDED"
    history = sfn.get_execution_history(executionArn=again)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["ClaimTicket", "AlreadyClaimed"]
    assert item(stack, ticket.ticketId)["status"] == "TRIAGED"
    assert len(archive_keys(stack, ticket.ticketId)) == 1
    assert [
        n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
    ] == []


def test_malformed_record_goes_to_the_dlq_and_the_rest_of_its_batch_is_processed(stack: LocalStack):
    drain(stack, stack.info.dlq_url)
    good = [make_ticket(), make_ticket()]
    put(stack, good[0], b'{"eventName": "TicketSubmitted", "ticketId": "no pe"}', good[1])
    stack.wait_idle(timeout=120)

    assert [item(stack, t.ticketId)["status"] for t in good] == ["TRIAGED", "TRIAGED"]
    letters = drain(stack, stack.info.dlq_url)
    assert len(letters) == 1
    assert "ticketId" in letters[0]["reason"] and letters[0]["stage"] == "intake"


def test_records_the_trigger_filter_drops_are_dead_lettered_by_the_intake_audit_with_a_reason(
    stack: LocalStack,
):
    drain(stack, stack.info.dlq_url)
    before = stack.poller.stats.filtered
    good = make_ticket()
    put(stack, b"not json at all", b'{"eventName": "TicketClosed"}', b"\xff\xfe", b"", good)
    stack.wait_idle(timeout=60)

    # The trigger never sees them (its mapping filters, as on AWS) ...
    assert stack.poller.stats.filtered - before == 4
    assert item(stack, good.ticketId)["status"] == "TRIAGED"
    # ... and the audit mapping parks each one, once, with the reason it was dropped.
    letters = drain(stack, stack.info.dlq_url)
    reasons = sorted(m["reason"] for m in letters)
    assert {m["stage"] for m in letters} == {"intake-filter"}
    assert len(reasons) == 4
    assert any("not JSON" in r for r in reasons)
    assert any("eventName: expected 'TicketSubmitted', got 'TicketClosed'" in r for r in reasons)
    assert any("not valid UTF-8" in r for r in reasons)
    assert any("empty body" in r for r in reasons)


def test_over_long_description_is_rejected_at_intake_with_the_field_named(stack: LocalStack):
    drain(stack, stack.info.dlq_url)
    raw = json.loads(make_ticket().model_dump_json())
    raw["data"]["description"] = "x" * (DESCRIPTION_MAX + 1)
    put(stack, json.dumps(raw).encode())
    stack.wait_idle(timeout=60)
    letters = drain(stack, stack.info.dlq_url)
    assert len(letters) == 1 and f"data.description: is {DESCRIPTION_MAX + 1} bytes" in letters[0]["reason"]
    assert item(stack, raw["ticketId"]) is None


def test_a_ticket_with_a_description_at_the_limit_is_triaged_and_kept_whole(stack: LocalStack):
    # Issue 12: a pasted log made the ticket a dead letter; now the whole text is kept and triaged.
    log = "".join(f"2026-11-27T02:00:{i % 60:02d}Z ERROR sync: request {i} timed out\n" for i in range(2000))
    description = ("Our nightly sync is broken and we are furious. Log:\n" + log)[:DESCRIPTION_MAX]
    ticket = make_ticket(description=description)
    put(stack, ticket)
    stack.wait_idle(timeout=120)

    stored = item(stack, ticket.ticketId)
    assert stored is not None and stored["status"] == "TRIAGED", stored
    assert stored["description"] == description
    (key,) = archive_keys(stack, ticket.ticketId)
    body = stack.client("s3").get_object(Bucket=stack.info.bucket_name, Key=key)["Body"].read()
    assert json.loads(body)["description"] == description
    sent = [
        n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
    ]
    message = TicketTriagedMessage.model_validate_json(sent[0]["Message"])
    assert message.description_truncated and len(sent[0]["Message"]) < 64 * 1024
    posts = [json.loads(x) for x in Path(stack.info.slack_outbox).read_text().splitlines()]
    (post,) = [p for p in posts if ticket.ticketId in json.dumps(p) and not p.get("thread_ts")]
    assert "ticket_description" in json.dumps(post["blocks"])


def test_a_thesis_record_and_a_producer_id_with_a_colon_are_triaged(stack: LocalStack):
    thesis = json.loads((Path(__file__).parents[1] / "events" / "thesis_record.json").read_text())
    producer = json.loads(make_ticket().to_record_bytes())
    producer["ticketId"] = "crm:case.104233"
    put(stack, json.dumps(thesis).encode(), json.dumps(producer).encode())
    stack.wait_idle(timeout=120)

    assert item(stack, "TKT-20250312-4821")["status"] == "TRIAGED"
    stored = item(stack, "crm:case.104233")
    assert stored is not None and stored["status"] == "TRIAGED", stored
    assert "crm:case.104233" in stored["response_text"]
    assert archive_keys(stack, "crm:case.104233")


def test_llm_throttling_is_retried_until_the_ticket_is_triaged(tmp_path: Path):
    env = {"TMS_FAULTS": "llm_throttle:0.5", "TMS_FAULTS_SEED": "11"}
    with LocalStack.start(outbox=tmp_path / "o.jsonl", extra_env=env) as stack:
        tickets = [make_ticket() for _ in range(6)]
        put(stack, *tickets)
        stack.wait_idle(timeout=240)
        assert [item(stack, t.ticketId)["status"] for t in tickets] == ["TRIAGED"] * 6
        invocations = stack.lambdas.invocations.get("tms-draft-reply", 0)
        throttled = stack.lambdas.errors.get("tms-draft-reply", 0)
        assert throttled > 0 and invocations == 6 + throttled


def test_invalid_llm_output_is_never_stored_and_the_ticket_fails_with_the_reason(tmp_path: Path):
    env = {"TMS_FAULTS": "llm_invalid_output:1.0"}
    with LocalStack.start(outbox=tmp_path / "o.jsonl", extra_env=env) as stack:
        ticket = make_ticket()
        put(stack, ticket)
        stack.wait_idle(timeout=120)

        stored = item(stack, ticket.ticketId)
        assert stored["status"] == "FAILED"
        assert stored["error"] == "InvalidModelOutputError"
        assert "response_text" not in stored and "priority" not in stored
        assert archive_keys(stack, ticket.ticketId) == []
        [execution] = executions(stack, ticket.ticketId)
        assert execution["status"] == "FAILED"
        [sent] = [
            n for n in notifications(stack) if n["MessageAttributes"]["ticket_id"]["Value"] == ticket.ticketId
        ]
        failed = TicketFailedMessage.model_validate_json(sent["Message"])
        assert failed.error == "InvalidModelOutputError" and failed.cause


def test_transient_comprehend_errors_are_retried_as_the_asl_declares(tmp_path: Path):
    env = {"TMS_FAULTS": "pii_error:0.5", "TMS_FAULTS_SEED": "3"}
    with LocalStack.start(outbox=tmp_path / "o.jsonl", extra_env=env) as stack:
        tickets = [make_ticket() for _ in range(4)]
        put(stack, *tickets)
        stack.wait_idle(timeout=240)
        assert [item(stack, t.ticketId)["status"] for t in tickets] == ["TRIAGED"] * 4
