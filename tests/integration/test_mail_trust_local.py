"""Who is writing in (issue 27.2), on the embedded local stack: `tms mail receive`'s SES receipt event with a
DMARC verdict, through the inbound-mail function, against a ticket in the local table."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import names
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.integration.conftest import item, notifications
from tools.cli.mail import ses_receipt_event

pytestmark = [pytest.mark.integration]

EVENTS = Path(__file__).resolve().parent.parent / "events" / "mail"
TID = "TKT-20250102-ABCDEFGHJK"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("mailtrust")
    env = {names.ENV_STATE_DIR: str(tmp / "state")}
    with LocalStack.start(
        outbox=tmp / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s


def _receive(stack: LocalStack, raw: bytes, message_id: str, **verdicts: str) -> dict[str, Any]:
    """What `tms mail receive --verdict ...` does: the raw mail into the bucket, the function invoked."""
    stack.client("s3").put_object(
        Bucket=stack.info.bucket_name, Key=names.INBOUND_MAIL_PREFIX + message_id, Body=raw
    )
    event = ses_receipt_event(message_id, raw, verdicts, stack.info.bucket_name)
    resp = stack.client("lambda").invoke(
        FunctionName=f"{names.PROJECT}-{names.FN_INBOUND_MAIL}", Payload=json.dumps(event).encode()
    )
    (result,) = json.loads(resp["Payload"].read())["results"]
    return dict(result)


def test_dmarc_fail_from_the_customer_is_unverified_on_the_local_stack_and_a_pass_is_taken_in(
    stack: LocalStack,
) -> None:
    # Given a ticket waiting on its customer
    stack.client("dynamodb").put_item(
        TableName=stack.info.table_name,
        Item={
            "ticket_id": {"S": TID},
            "status": {"S": "WAITING_CUSTOMER"},
            "version": {"N": "3"},
            "customer_email": {"S": "ada@example.com"},
            "assignee": {"S": "U0OWNER"},
        },
    )
    raw = (EVENTS / "reply_plain.eml").read_bytes()

    # When the customer's address arrives with DMARC FAIL
    spoofed = _receive(stack, raw, "local-spoof", dmarc="FAIL", dmarc_policy="reject")

    # Then it is unverified and the ticket does not move
    assert spoofed["outcome"] == "unverified" and "DMARC FAIL (policy reject)" in spoofed["detail"]
    assert (item(stack, TID) or {})["status"] == "WAITING_CUSTOMER"

    # And without any DMARC verdict in the event it is not a pass either
    missing = _receive(stack, raw.replace(b"CAF123abc", b"CAF123abd"), "local-missing", dmarc="MISSING")
    assert missing["outcome"] == "unverified" and "no DMARC verdict" in missing["detail"]

    # When the same mail arrives with DMARC PASS, it is the customer's
    genuine = _receive(stack, raw.replace(b"CAF123abc", b"CAF123abe"), "local-pass")
    assert genuine["outcome"] == "appended" and genuine["status"] == "CUSTOMER_REPLIED"
    assert (item(stack, TID) or {})["status"] == "CUSTOMER_REPLIED"

    # And the tickets topic carried two unverified events and one reply, each naming its kind
    deadline, kinds = time.monotonic() + 10, []
    while time.monotonic() < deadline and len(kinds) < 3:
        kinds += [json.loads(n["Message"]).get("kind") for n in notifications(stack)]
        time.sleep(0.1)
    assert sorted(k for k in kinds if k) == ["customer_replied", "unverified_mail", "unverified_mail"]
