"""`tms retry` on the local stack: a ticket that FAILED is triaged by a retry, once, and announced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contract import names
from local.outbox import read_outbox
from local.runtime import LocalStack, _cold_start
from tests.conftest import make_ticket
from tests.integration.conftest import archive_keys, item, notifications, put
from tools.cli import main

pytestmark = pytest.mark.integration


def _retry(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["retry", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_failed_ticket_is_triaged_by_tms_retry_once_the_cause_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a ticket that FAILED because every reply broke the reply policy
    env = {names.ENV_FAULTS: "llm_invalid_output:1.0", names.ENV_STATE_DIR: str(tmp_path)}
    with LocalStack.start(outbox=tmp_path / "outbox.jsonl", extra_env=env) as stack:
        failed, fine = make_ticket(), make_ticket()
        put(stack, failed)
        stack.wait_idle(timeout=120)
        assert item(stack, failed.ticketId)["status"] == "FAILED"
        put(stack, fine)
        os.environ[names.ENV_FAULTS] = ""  # the cause goes away (the stack restores the variable)
        _cold_start()
        stack.wait_idle(timeout=120)
        notifications(stack)  # drop what was announced so far

        # When the operator retries it (and, by mistake, a TRIAGED one and a made-up id)
        code, report = _retry(capsys, failed.ticketId, fine.ticketId, "TKT-20200101-0000000000")
        stack.wait_idle(timeout=120)

        # Then only the FAILED ticket ran again, and it is now triaged, archived and announced once
        outcomes = {r["ticket_id"]: r["outcome"] for r in report["results"]}
        assert outcomes == {
            failed.ticketId: "started",
            fine.ticketId: "not_failed",
            "TKT-20200101-0000000000": "not_found",
        }
        assert code == 1  # not everything named could be retried, and the report says why
        retried = item(stack, failed.ticketId)
        assert retried["status"] == "TRIAGED" and "error" not in retried
        assert len(archive_keys(stack, failed.ticketId)) == 1
        sent = [n["MessageAttributes"]["ticket_id"]["Value"] for n in notifications(stack)]
        assert sent == [failed.ticketId]
        slack = read_outbox(stack.info.slack_outbox)  # the failure post, then the triaged post
        assert (slack.failed[failed.ticketId], slack.triaged[failed.ticketId]) == (1, 1)

        # And retrying it again does nothing: it is no longer FAILED
        code, report = _retry(capsys, "--all-failed")
        assert (code, report["requested"]) == (0, 0)
        code, report = _retry(capsys, failed.ticketId)
        assert code == 1 and report["results"][0]["outcome"] == "not_failed"

        # And a FAILED ticket whose kept input is gone (expired) is named, left FAILED, and nothing starts
        os.environ[names.ENV_FAULTS] = "llm_invalid_output:1.0"
        _cold_start()
        orphan = make_ticket()
        put(stack, orphan)
        stack.wait_idle(timeout=120)
        assert item(stack, orphan.ticketId)["status"] == "FAILED"
        stack.client("s3").delete_object(
            Bucket=stack.info.bucket_name, Key=f"{names.INPUTS_PREFIX}{orphan.ticketId}.json"
        )
        code, report = _retry(capsys, orphan.ticketId)
        stack.wait_idle(timeout=120)
        (result,) = report["results"]
        assert code == 1 and result["outcome"] == "input_gone" and "resubmit" in result["detail"]
        assert item(stack, orphan.ticketId)["status"] == "FAILED"
