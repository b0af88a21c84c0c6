"""The synthesized template is lint-clean, nag-clean, secret-free and complete for the ASL file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contract import names
from tests.infra.template import Synth, resources

pytestmark = pytest.mark.infra

CFN_LINT = Path(sys.executable).with_name("cfn-lint")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
SECRET_PATTERNS = {
    "slack token": re.compile(r"xox[abposr]-[0-9A-Za-z-]{8,}|xapp-\d-[0-9A-Za-z-]{8,}"),
    "aws access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws secret key": re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[0-9A-Za-z/+]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password-like literal": re.compile(
        r'"[A-Za-z_]*(?i:password|passwd|secret|token|signing_?secret|api_?key)"\s*:\s*"(?!arn:)[^"]{4,}"'
    ),
    "credentials in a URL": re.compile(r"[a-z]+://[^/\s:@\"]+:[^/\s@\"]+@"),
}


def find_secrets(text: str) -> list[tuple[str, str]]:
    """Every (pattern name, match) in text that looks like a secret value."""
    return [(name, m.group(0)) for name, pattern in SECRET_PATTERNS.items() for m in pattern.finditer(text)]


def test_synthesized_template_passes_cfn_lint(synth: Synth) -> None:
    result = subprocess.run(
        [str(CFN_LINT), "--ignore-checks", "W3005", "--", str(synth.template_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_nag_reports_no_unsuppressed_findings_and_every_suppression_has_a_reason(synth: Synth) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    (nag,) = (p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions")
    assert [v["ruleName"] for v in nag["violations"]] == []
    suppressions = json.loads((synth.outdir / f"{synth.stack_name}.metadata.json").read_text())
    reasons = re.findall(r'"AwsSolutions::AwsSolutions-[^"]+":\s*"([^"]*)"', json.dumps(suppressions))
    assert reasons and all(len(reason) > 20 for reason in reasons)


def test_secret_scanner_flags_planted_secrets() -> None:
    planted = json.dumps(
        {
            "A": "xoxb-1234567890-abcdefghij",
            "B": "AKIAABCDEFGHIJKLMNOP",
            "C": {"password": "hunter22"},
            "D": "postgres://loader:s3cret@db:5432/dev",
        }
    )
    assert {name for name, _ in find_secrets(planted)} == {
        "slack token",
        "aws access key",
        "password-like literal",
        "credentials in a URL",
    }


def test_template_contains_no_secret_values(synth: Synth) -> None:
    assert find_secrets(json.dumps(synth.raw)) == []


def test_every_asl_placeholder_gets_a_substitution(synth: Synth) -> None:
    placeholders = set(PLACEHOLDER.findall(names.ASL_PATH.read_text()))
    assert placeholders == set(names.ASL_PLACEHOLDERS)
    (machine,) = resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
    assert set(machine["Properties"]["DefinitionSubstitutions"]) == placeholders
