"""One synthesized tms stack per test session: synth is the slow part (seconds), assertions are cheap."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from contract import names
from infra.config import read_cdk_json_context
from tests.infra.template import Synth

# Deterministic, obviously fake deployment values (no environment leaks into the test synth).
TEST_EMAILS = ["oncall@example.com", "lead@example.com"]
TEST_CONTEXT_OVERRIDES: dict[str, Any] = {
    "notification_emails": TEST_EMAILS,
    "email_priorities": ["HIGH"],
    "account": "123456789012",
    "region": "us-east-1",
    # Precedents on (issue 30.2): the lifecycle function's knowledge-base grants are synthesized, nag-checked
    # and proven sufficient (tests/infra/test_iam_sufficiency.py); cdk.json leaves them off.
    "precedent_base_url": "https://support.example.com/tickets",
}
GLUE_STUB = "# stand-in for glue/job.py until it lands; the real script is used when present\n"


def synthesize(workdir: Path, **overrides: Any) -> Synth:
    """Synthesize the app with cdk-nag, exactly as `make synth` does, from cdk.json plus the test config and
    `overrides` (a field of the tms context each)."""
    from infra.app import build_app

    tms_context = {**read_cdk_json_context()["tms"], **TEST_CONTEXT_OVERRIDES, **overrides}
    if not names.GLUE_SCRIPT_PATH.exists():
        stub = workdir / "job.py"
        stub.write_text(GLUE_STUB)
        tms_context["glue_script_path"] = str(stub)
    app, stack = build_app(
        context={"tms": tms_context},
        environ={},
        outdir=str(workdir / "cdk.out"),
        layer_dir=workdir / "no-layer-built",
    )
    assembly = app.synth()
    template_path = Path(assembly.directory) / assembly.get_stack_by_name(stack.stack_name).template_file
    return Synth(
        raw=json.loads(template_path.read_text()),
        template_path=template_path,
        outdir=Path(assembly.directory),
        stack_name=stack.stack_name,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """Synthesize the app once, with cdk-nag, exactly as `make synth` does (plus test config)."""
    yield synthesize(tmp_path_factory.mktemp("cdk"))
