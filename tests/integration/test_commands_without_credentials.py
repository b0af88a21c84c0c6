"""Issue 12: every `tms` command that talks to the stack works on a fresh machine, one with no AWS
credentials anywhere (no AWS_* credential variables, no ~/.aws), against `tms local up` in another
process. Reported: `tms etl` failed with NoCredentialsError while `tms generate` worked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import names
from tests.conftest import SUITE_SPARK_JAVA_OPTIONS

pytestmark = pytest.mark.integration
TMS = [sys.executable, "-m", "tools.cli"]
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture(scope="module")
def fresh_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    root = tmp_path_factory.mktemp("fresh")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TMS_"))}
    assert not set(CREDENTIAL_VARIABLES) & set(env)
    env.update(
        HOME=str(home),  # an empty home: no ~/.aws/credentials or config to fall back on
        TMS_STATE_DIR=str(root / "state"),
        # Not a credential: without it boto3 would spend seconds asking for an EC2 instance role.
        AWS_EC2_METADATA_DISABLED="true",
    )
    # Not a credential either: the suite's JVM options for `tms etl`'s Spark (tests/conftest.py).
    env[names.ENV_SPARK_JAVA_OPTIONS] = SUITE_SPARK_JAVA_OPTIONS
    env.pop("XDG_STATE_HOME", None)
    log = (root / "local-up.log").open("w")  # a file, not a pipe: a full pipe would stall the stack
    up = subprocess.Popen([*TMS, "local", "up"], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = up.stdout.readline() if up.stdout else ""
        assert line, (root / "local-up.log").read_text()[-2000:]
        yield env, root
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=120)
        log.close()


def _tms(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*TMS, *args], env=env, capture_output=True, text=True, timeout=900, input=input)
    assert "NoCredentialsError" not in done.stderr and "Unable to locate credentials" not in done.stderr, (
        f"tms {' '.join(args)}:\n{done.stderr[-3000:]}"
    )
    return done


def test_every_command_that_talks_to_the_stack_runs_without_aws_credentials(fresh_machine):
    env, root = fresh_machine

    submitted = _tms(
        env,
        "submit",
        "--subject", "Export fails",
        "--description", "The nightly export to S3 fails with AccessDenied since yesterday.",
        "--name", "Ana Silva",
        "--email", "ana@example.com",
        "--product", "Amazon S3",
        "--issue-type", "Access Denied",
        "--json",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    ticket_id = json.loads(submitted.stdout)["ticket_id"]

    thesis = Path(__file__).parents[1] / "events" / "thesis_record.json"
    from_stdin = _tms(env, "submit", "--file", "-", input=thesis.read_text())
    assert from_stdin.returncode == 0 and from_stdin.stdout.strip() == "TKT-20250312-4821", from_stdin.stderr

    generated = _tms(env, "generate", "--count", "3", "--seed", "7", "--truth", str(root / "truth.json"))
    assert generated.returncode == 0, generated.stderr[-2000:]

    # waits for its tickets; the etl below loads the warehouse (one Spark start, not two)
    demo = _tms(env, "demo", "--tickets", "3", "--seed", "8", "--no-etl", "--json")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert json.loads(demo.stdout)["processed"] == 3

    etl = _tms(env, "etl", "--full", "--json")
    assert etl.returncode == 0, etl.stderr[-2000:]
    assert json.loads(etl.stdout)["read"] >= 5

    # The report's and cost's fixed parts from a tiny template: no synth in this test (a synth of the CDK app
    # took ~20 s of the report's 25 s here and reads no credentials).
    template = root / "template.json"
    template.write_text(json.dumps({"Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {}}}}))
    report = _tms(env, "report", "--out", str(root / "report.html"), "--template", str(template))
    assert report.returncode == 0 and (root / "report.html").stat().st_size > 0, report.stderr[-2000:]

    evaluation = _tms(env, "eval", "--json")
    assert evaluation.returncode in (0, 1), evaluation.stderr[-2000:]  # 1 = a reply broke the policy
    json.loads(evaluation.stdout)

    retry = _tms(env, "retry", ticket_id, "--json")  # not FAILED: refused with a reason, not a crash
    assert retry.returncode == 1, retry.stderr[-2000:]
    assert json.loads(retry.stdout)["results"][0]["ticket_id"] == ticket_id

    dlq = _tms(env, "dlq", "--json")
    assert dlq.returncode == 0, dlq.stderr[-2000:]
    assert "dlq" in json.loads(dlq.stdout)

    shown = _tms(env, "ticket", "show", ticket_id, "--json")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert json.loads(shown.stdout)["ticket_id"] == ticket_id

    incidents = _tms(env, "incidents", "--json")
    assert incidents.returncode == 0, incidents.stderr[-2000:]
    json.loads(incidents.stdout)

    cost = _tms(env, "cost", "--from", "stack", "--template", str(template), "--json")
    assert cost.returncode == 0, cost.stderr[-2000:]
    assert (
        json.loads(cost.stdout)["tickets_measured"] >= 5
    )  # the stack's items, usage recorded by the workflow

    answer = Path(__file__).parents[1] / "events" / "mail" / "reply_plain.eml"
    received = _tms(env, "mail", "receive", str(answer), "--json")
    assert received.returncode == 0, received.stderr[-2000:]
    assert json.loads(received.stdout)["outcome"] in ("appended", "new_ticket")


def test_submit_names_every_problem_and_sends_nothing(fresh_machine):
    env, _root = fresh_machine

    done = _tms(env, "submit", "--subject", "x", "--email", "not-an-email", "--id", "has space")

    assert done.returncode == 2
    assert "nothing was sent" in done.stderr
    assert (
        "ticketId" in done.stderr
        and "data.customer.email" in done.stderr
        and "data.description" in done.stderr
    )
