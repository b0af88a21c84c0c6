"""A ticket that ends FAILED expires like a triaged one (issue 27.8): on the local stack, the workflow stamps
the table's TTL attribute on the FAILED item, `retention.tickets` days after submission; an execution input
kept before intake carried the expiry still ends FAILED, as before, with no stamp."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from contract import names
from local.runtime import LocalStack
from pipeline.domain.intake import execution_input
from tests.conftest import make_ticket
from tests.integration.conftest import item, put

pytestmark = pytest.mark.integration

RETENTION_DAYS = 30


def test_a_failed_ticket_gets_its_expiry_and_an_old_input_still_fails_cleanly(tmp_path: Path) -> None:
    # Given the reply model breaking the reply policy on every ticket, and tickets kept 30 days
    env = {
        "TMS_FAULTS": "llm_invalid_output:1.0",
        f"{names.ENV_RETENTION_PREFIX}TICKETS": str(RETENTION_DAYS),
    }
    with LocalStack.start(outbox=tmp_path / "o.jsonl", extra_env=env) as stack:
        ticket, old = make_ticket(), make_ticket()

        # When one ticket comes through the stream, and another is started with an input kept before
        # intake computed the expiry
        put(stack, ticket)
        legacy = {k: v for k, v in execution_input(old).items() if k != "expires_at"}
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.info.state_machine_arn, name=old.ticketId, input=json.dumps(legacy)
        )
        stack.wait_idle(timeout=120)

        # Then both are FAILED with the reason; the first expires 30 days after it was submitted
        failed, legacy_item = item(stack, ticket.ticketId), item(stack, old.ticketId)
        assert failed is not None and legacy_item is not None
        assert failed["status"] == legacy_item["status"] == "FAILED"
        assert failed["error"] == legacy_item["error"] == "InvalidModelOutputError"
        expected = int((ticket.submittedAt + timedelta(days=RETENTION_DAYS)).timestamp())
        assert failed[names.TABLE_TTL_ATTR] == expected
        # And the old input's item keeps no expiry (it has none to stamp), as before the change
        assert names.TABLE_TTL_ATTR not in legacy_item
