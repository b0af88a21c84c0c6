"""`make layer` builds a layer the deployed functions can really run on: every handler imports under the
functions' Python (contract.names.LAMBDA_PYTHON) from the staged code asset plus the layer alone (no
site-packages), versions match the lock, the bytecode is that Python's only, and the whole fits Lambda's
250 MB unzipped limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from contract import names
from infra import layer
from infra.components.lambdas import stage_code

pytestmark = pytest.mark.integration

LAMBDA_UNZIPPED_LIMIT_MB = 250

_PROBE = """
import importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from contract import names
handlers = {}
# link-incident last: it is the one function that needs numpy (the window scan); the others must not load it.
order = sorted(names.HANDLERS.items(), key=lambda kv: kv[0] == names.FN_LINK_INCIDENT)
numpy_before_link = None
for fn, path in order:
    if fn == names.FN_LINK_INCIDENT:
        numpy_before_link = "numpy" in sys.modules
    module, attr = path.rsplit(".", 1)
    handlers[fn] = callable(getattr(importlib.import_module(module), attr))
from pipeline.adapters.llm import build_bedrock_model, load_settings
model = build_bedrock_model(load_settings())  # the Bedrock reply model, as draft-reply builds it
from pipeline.adapters.embeddings import EmbeddingSettings, build_embedder
embedder = build_embedder(EmbeddingSettings(provider="bedrock"))  # Titan through langchain-aws, as on AWS
print(json.dumps({"handlers": handlers, "model_id": model.model_id, "embedding_model_id": embedder.model_id,
                  "numpy_loaded": numpy_before_link, "python": "%d.%d" % sys.version_info[:2],
                  "site_packages": [p for p in sys.path if "site-packages" in p]}))
"""


# pip assembling ~200 MB takes minutes; a layer finished from the same inputs (lock, requirements, platform)
# is reused across runs. A fresh checkout (CI) always builds it.
LAYER_CACHE = names.REPO_ROOT / "build" / "test-lambda-layer"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lambda")
    return layer.build_layer(LAYER_CACHE, reuse=True), stage_code(root / "code")


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def test_every_handler_imports_from_the_code_asset_and_the_layer_alone(built: tuple[Path, Path]) -> None:
    layer_dir, code_dir = built
    python = layer.require_lambda_python()  # the runtime's Python, not the one running the tests
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "TMS_LLM_PROVIDER": "bedrock",
    }
    # -I -S: no site-packages, no user site, no PYTHON* variables: only the stdlib, the code and the layer.
    proc = subprocess.run(
        [python, "-I", "-S", "-c", _PROBE, str(code_dir), str(layer_dir / "python")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert probe["site_packages"] == []
    assert probe["python"] == names.LAMBDA_PYTHON
    assert probe["handlers"] and all(probe["handlers"].values()), probe["handlers"]
    assert probe["model_id"]
    # numpy is in the layer because langchain-aws declares it; only link-incident loads it (its window scan).
    assert probe["numpy_loaded"] is False
    assert probe["embedding_model_id"] == "amazon.titan-embed-text-v2:0"


def test_layer_versions_are_the_locked_ones_except_the_declared_overrides(built: tuple[Path, Path]) -> None:
    layer_dir, _ = built
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", layer.LOCK.read_text(), re.MULTILINE))
    locked = {k.lower().replace("_", "-"): v for k, v in locked.items()}
    installed = {}
    for info in (layer_dir / "python").glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-")] = version
    assert {"boto3", "pydantic", "langchain-aws", "slack-bolt", "aws-lambda-powertools"} <= set(installed)
    drifted = {
        name: (locked.get(name), version)
        for name, version in installed.items()
        if name not in layer.OVERRIDES and locked.get(name) != version
    }
    assert drifted == {}


def test_both_assets_ship_the_runtimes_bytecode_and_no_other(built: tuple[Path, Path]) -> None:
    tag = "cpython-" + names.LAMBDA_PYTHON.replace(".", "")
    for root in built:
        pyc = [p.name for p in root.rglob("*.pyc")]
        assert pyc, root
        assert [name for name in pyc if f".{tag}." not in name] == [], root


def test_code_and_layer_fit_lambdas_unzipped_size_limit(built: tuple[Path, Path]) -> None:
    layer_dir, code_dir = built
    assert _size_mb(layer_dir) + _size_mb(code_dir) < LAMBDA_UNZIPPED_LIMIT_MB


def test_constraints_replace_only_the_overridden_pins() -> None:
    text = layer.layer_constraints("boto3==1.0\nnumpy==2.4.6\nnumpydoc==1.0\n", {"numpy": "numpy<2.3"})
    assert text.splitlines() == ["boto3==1.0", "numpydoc==1.0", "numpy<2.3"]


def test_a_finished_layer_is_reused_only_while_its_inputs_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installs: list[list[str]] = []

    def fake_pip(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if "compileall" in cmd:  # the bytecode step after pip: nothing worth compiling here
            return subprocess.CompletedProcess(cmd, 0, "", "")
        installs.append(cmd)
        site = Path(cmd[cmd.index("--target") + 1])
        site.mkdir(parents=True, exist_ok=True)
        (site / "package.py").write_text("")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(layer.subprocess, "run", fake_pip)
    monkeypatch.setattr(layer, "require_lambda_python", lambda: "python-of-the-runtime")
    dest = tmp_path / "layer"
    layer.build_layer(dest, reuse=True)
    layer.build_layer(dest, reuse=True)
    assert len(installs) == 1
    monkeypatch.setattr(layer, "layer_inputs_digest", lambda: "the lock changed")
    layer.build_layer(dest, reuse=True)
    assert len(installs) == 2
    layer.build_layer(dest)  # `make layer` always builds afresh
    assert len(installs) == 3 and (dest / "python" / "package.py").exists()


def test_the_runtimes_python_is_found_past_a_shim_that_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pyenv's kind of `python3.13` shim first on PATH (it exits 127 unless 3.13 is the active version)
    # and the real interpreter under PYENV_ROOT only
    real = layer.require_lambda_python()
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / f"python{names.LAMBDA_PYTHON}"
    shim.write_text("#!/bin/sh\necho 'pyenv: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    pyenv_bin = tmp_path / "pyenv" / "versions" / f"{names.LAMBDA_PYTHON}.0" / "bin"
    pyenv_bin.mkdir(parents=True)
    (pyenv_bin / f"python{names.LAMBDA_PYTHON}").symlink_to(real)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.delenv(layer.LAMBDA_PYTHON_ENV, raising=False)
    monkeypatch.setattr(layer.names, "REPO_ROOT", tmp_path)  # no .venv-lambda there
    monkeypatch.setattr(layer.sys, "executable", str(shim))
    layer.lambda_python.cache_clear()
    try:
        # When the build looks for the functions' Python, Then the shim is passed over for pyenv's
        assert layer.lambda_python() == str(pyenv_bin / f"python{names.LAMBDA_PYTHON}")
        # And without any, the error says what to install
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "nothing"))
        layer.lambda_python.cache_clear()
        if layer.lambda_python() is None:  # a system-wide /usr/bin/python3.13 would be found, rightly
            with pytest.raises(layer.NoLambdaPythonError, match=f"no Python {names.LAMBDA_PYTHON} found"):
                layer.require_lambda_python()
    finally:
        layer.lambda_python.cache_clear()
