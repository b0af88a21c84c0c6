"""PII redaction in the real workflow on the local stack: the same ASL step, answered by the offline detector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import names
from contract.models import ProcessedRecord
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket
from tests.integration.conftest import item, put

pytestmark = pytest.mark.integration

EMAIL = "jane.doe@corp-mail.example"
CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0188"
DESCRIPTION = f"I was charged twice on card {CARD}. Reach me at {EMAIL} or {PHONE} today."


def _objects(stack: LocalStack, prefix: str, ticket_id: str) -> list[str]:
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.info.bucket_name, Prefix=prefix).get("Contents", [])
    return [
        s3.get_object(Bucket=stack.info.bucket_name, Key=o["Key"])["Body"].read().decode()
        for o in listing
        if ticket_id in o["Key"]
    ]


def _run(tmp_path: Path, switch: str) -> tuple[list[str], list[str], dict[str, Any], str]:
    """One ticket full of PII through the local stack: analytics objects, originals, DynamoDB item, Slack outbox."""
    ticket = make_ticket(subject=f"Double charge, mail {EMAIL}", description=DESCRIPTION)
    with LocalStack.start(
        outbox=tmp_path / "slack.jsonl",
        mapping=MappingConfig(retry_delay_s=0.05),
        extra_env={names.ENV_PII_REDACTION: switch},
    ) as stack:
        put(stack, ticket)
        stack.wait_idle(timeout=120)
        analytics = _objects(stack, names.ARCHIVE_PREFIX, ticket.ticketId)
        originals = _objects(stack, names.ORIGINALS_PREFIX, ticket.ticketId)
        for o in (
            stack.client("s3")
            .list_objects_v2(Bucket=stack.info.bucket_name, Prefix=names.ORIGINALS_PREFIX)
            .get("Contents", [])
        ):
            head = stack.client("s3").head_object(Bucket=stack.info.bucket_name, Key=o["Key"])
            # encrypted under its own key, as on AWS (the data key), not only the bucket default
            assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"]
        stored = item(stack, ticket.ticketId) or {}
        slack = Path(stack.info.slack_outbox).read_text()
    return analytics, originals, stored, slack


def test_pii_is_redacted_in_the_warehouse_copy_and_slack_while_the_original_is_kept_apart(
    tmp_path: Path,
) -> None:
    analytics, originals, stored, slack = _run(tmp_path, "on")
    assert stored["status"] == "TRIAGED"
    (record_json,) = analytics
    record = ProcessedRecord.model_validate_json(record_json)
    assert record.subject == "Double charge, mail [EMAIL]"
    assert (
        record.description
        == "I was charged twice on card [CREDIT_DEBIT_NUMBER]. Reach me at [EMAIL] or [PHONE] today."
    )
    assert record.pii_entity_types == "CREDIT_DEBIT_NUMBER,EMAIL,PHONE"
    assert record.customer_email == "ana@example.com"  # the customer's contact fields stay
    for planted in (EMAIL, CARD, PHONE):
        assert planted not in record.response_text
        assert planted not in slack
        assert planted not in json.dumps(stored, default=str)
    (original,) = originals
    assert ProcessedRecord.model_validate_json(original).description == DESCRIPTION


def test_with_redaction_switched_off_the_text_goes_through_as_written(tmp_path: Path) -> None:
    analytics, originals, stored, _ = _run(tmp_path, "off")
    assert stored["status"] == "TRIAGED"
    (record_json,) = analytics
    record = ProcessedRecord.model_validate_json(record_json)
    assert (record.description, record.pii_entity_types) == (DESCRIPTION, "")
    assert originals == []
