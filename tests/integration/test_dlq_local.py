"""`tms dlq` on the local stack: a batch the trigger gave up on during an outage is redriven and
triaged; a rejected record stays in the DLQ with its reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import names
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.conftest import make_ticket
from tests.integration.conftest import item, put
from tools.cli import main

pytestmark = pytest.mark.integration


def _dlq(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["dlq", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_batches_lost_to_an_outage_are_redriven_and_rejects_stay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = MappingConfig(batch_size=10, max_retries=1, retry_delay_s=0.01)
    env = {names.ENV_STATE_DIR: str(tmp_path)}
    with LocalStack.start(outbox=tmp_path / "outbox.jsonl", mapping=mapping, extra_env=env) as stack:
        # Given the trigger is down long enough for its mapping to give up on two tickets
        def outage(event: dict[str, Any], context: Any) -> dict[str, Any]:
            raise RuntimeError("Step Functions unreachable")

        stack.lambdas.register(names.FN_TRIGGER, outage)
        tickets = [make_ticket(), make_ticket()]
        put(stack, tickets[0], b"not json", tickets[1])
        stack.wait_idle(timeout=120)
        stack.lambdas.register(names.FN_TRIGGER, names.HANDLERS[names.FN_TRIGGER])  # it comes back
        assert all(item(stack, t.ticketId) is None for t in tickets)

        # When the operator looks at the DLQ
        code, seen = _dlq(capsys)
        # Then it explains the reject and counts the failed batches' records
        assert code == 0
        assert seen["dlq"]["rejected"] == 1 and seen["dlq"]["batch_records"] == 2
        assert list(seen["dlq"]["reasons"]) == ["record: not JSON"]

        # When the failed batches are redriven
        code, done = _dlq(capsys, "--redrive")
        stack.wait_idle(timeout=120)
        # Then both tickets are triaged, and only the reject is left in the DLQ
        assert code == 0 and done["redrive"]["records"] == 2 and done["redrive"]["left"] == []
        assert [item(stack, t.ticketId)["status"] for t in tickets] == ["TRIAGED", "TRIAGED"]
        _, after = _dlq(capsys)
        assert (after["dlq"]["total"], after["dlq"]["rejected"]) == (1, 1)
