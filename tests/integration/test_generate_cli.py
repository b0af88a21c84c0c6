"""`tms generate` and `tms eval` end to end on the embedded local stack, plus bad-input exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract import names
from contract.models import TicketSubmitted
from tools.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from local.runtime import LocalStack

    with LocalStack.start(outbox=tmp_path_factory.mktemp("outbox") / "outbox.jsonl") as running:
        yield running


@pytest.mark.integration
def test_generated_tickets_are_processed_and_evaluated(stack, tmp_path, capsys):
    truth = tmp_path / "truth.csv"

    code = main(["generate", "--count", "30", "--seed", "9", "--truth", str(truth), "--json"])
    sent = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (sent["sent"], sent["failed"], sent["stream"]) == (30, 0, stack.info.stream_name)

    stack.wait_idle(timeout=300)
    code = main(["eval", "--truth", str(truth), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["records"] == 30
    assert report["rules"]["priority_valid"]["violations"] == 0
    assert report["sentiment"]["matched"] == 30
    assert report["sentiment"]["agreement"] >= 0.9


@pytest.mark.integration
def test_missing_stream_exits_non_zero_with_a_clear_message(stack, capsys):
    code = main(["generate", "--count", "3", "--stream", "no-such-stream"])
    assert code == 2
    assert "Kinesis stream 'no-such-stream' does not exist" in capsys.readouterr().err


def test_unknown_product_exits_non_zero_with_a_clear_message(capsys):
    code = main(["generate", "--count", "3", "--dry-run", "--product", "Amazon Nothing"])
    assert code == 2
    assert "unknown product(s): 'Amazon Nothing'" in capsys.readouterr().err


def test_malformed_truth_file_exits_non_zero_with_a_clear_message(tmp_path, capsys):
    bad = tmp_path / "truth.json"
    bad.write_text("{oops")
    records = tmp_path / "records.jsonl"
    records.write_text("")
    code = main(["eval", "--input", str(records), "--truth", str(bad)])
    assert code == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_out_writes_valid_events_and_the_truth_instead_of_sending(tmp_path, capsys):
    out, truth = tmp_path / "events.jsonl", tmp_path / "truth.json"
    code = main(["generate", "--count", "25", "--seed", "4", "--out", str(out), "--truth", str(truth)])
    assert code == 0
    events = [TicketSubmitted.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(events) == 25
    assert set(json.loads(truth.read_text())) == {e.ticketId for e in events}
    assert "nothing sent" in capsys.readouterr().out


def _script(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMS_") and k != "AWS_ENDPOINT_URL"}
    env[names.ENV_STATE_DIR] = str(tmp_path)  # no recorded local stack
    return subprocess.run(
        [sys.executable, "scripts/generate_ticket.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_script_dry_run_from_the_repo_root(tmp_path):
    result = _script("--count", "5", "--seed", "1", "--dry-run", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["generated"] == 5


def test_script_without_a_stack_exits_non_zero_and_says_how_to_start_one(tmp_path):
    result = _script("--count", "5", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "tms local up" in result.stderr


def test_script_rejects_a_non_positive_count(tmp_path):
    result = _script("--count", "0", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "--count: must be at least 1" in result.stderr
