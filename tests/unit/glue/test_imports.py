"""The Glue job depends on pyspark and the contract's stdlib-only modules: never pydantic or our runtimes."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.paths import REPO_ROOT

REPO = REPO_ROOT

PROBE = """
import json, sys
sys.modules["pydantic"] = None  # Glue 5 has no pydantic: importing it must fail loudly
import glue.job, glue.schema, glue.transforms
ours = sorted(m for m in sys.modules if m.split(".")[0] in {"contract", "pipeline", "bot", "local", "tools", "infra"})
print(json.dumps(ours))
"""


def test_the_glue_job_imports_without_pydantic_and_only_the_contract_manifest_format() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == ["contract", "contract.manifests"]
