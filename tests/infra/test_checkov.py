"""checkov, the second IaC scanner, finds nothing unsuppressed in the template, and every skip says why."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contract import names
from tests.infra.template import Synth

pytestmark = pytest.mark.infra

# make install puts checkov in its own environment (requirements-scan.in says why).
CHECKOV = names.REPO_ROOT / ".venv-scan" / "bin" / "checkov"
# A template that must fail: an unencrypted log group and a public function URL, no skips.
PLANTED = {
    "Resources": {
        "Plain": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Url": {
            "Type": "AWS::Lambda::Url",
            "Properties": {"AuthType": "NONE", "TargetFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"},
        },
    }
}


def _checkov(*templates: Path) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make install`")
    files = [arg for template in templates for arg in ("-f", str(template))]
    result = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json", *files],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


@pytest.fixture(scope="module")
def scan(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    planted = tmp_path_factory.mktemp("checkov") / "planted.template.json"
    planted.write_text(json.dumps(PLANTED))
    (report,) = _checkov(synth.template_path, planted)
    return report["results"]


def _in(results: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [r for r in results if Path(r["file_path"]).name == template]


def test_checkov_finds_nothing_unsuppressed_in_the_synthesized_template(
    synth: Synth, scan: dict[str, Any]
) -> None:
    failed = _in(scan["failed_checks"], synth.template_path.name)
    assert [(f["check_id"], f["resource"]) for f in failed] == []
    assert len(_in(scan["passed_checks"], synth.template_path.name)) > 100


def test_every_checkov_skip_carries_a_written_reason_in_the_template(
    synth: Synth, scan: dict[str, Any]
) -> None:
    skipped = _in(scan["skipped_checks"], synth.template_path.name)
    assert skipped
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) > 40, (
            check["check_id"],
            check["resource"],
        )
    in_template = [
        skip
        for resource in synth.raw["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert len(in_template) == len(skipped)


def test_public_slack_url_is_excused_by_the_signature_check(synth: Synth) -> None:
    (url,) = (r for r in synth.raw["Resources"].values() if r["Type"] == "AWS::Lambda::Url")
    (skip,) = url["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_258"
    assert "signature" in skip["comment"]


def test_checkov_fails_a_template_with_an_unencrypted_log_group_and_an_open_url(scan: dict[str, Any]) -> None:
    failed = {f["check_id"] for f in _in(scan["failed_checks"], "planted.template.json")}
    assert {"CKV_AWS_158", "CKV_AWS_258"} <= failed
