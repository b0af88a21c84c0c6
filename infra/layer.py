"""Build the Lambda dependency layer: wheels for the functions' runtime, pinned by requirements.lock.

    python -m infra.layer [DEST]        (make layer: DEST = build/lambda-layer)

The functions run python3.11 on Amazon Linux 2 (glibc 2.26, x86_64), so only wheels tagged
manylinux_2_26 or older can load there; pip is told exactly that. Every version comes from
requirements.lock (what the tests ran with), except the overrides below.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from contract import names

PYPROJECT = names.REPO_ROOT / "pyproject.toml"


def layer_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """What the functions import: pyproject.toml's runtime `dependencies` (never the local/dev extras)."""
    import tomllib

    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


LOCK = names.REPO_ROOT / "requirements.lock"
DEFAULT_DEST = names.REPO_ROOT / "build" / "lambda-layer"
GLIBC_MINOR = 26  # Lambda python3.11 = Amazon Linux 2 = glibc 2.26
# Every tag a wheel for glibc <= 2.26 may carry. Listed, because pip (23, as venv bundles it) does not
# expand one manylinux_2_26 tag to the older ones.
PLATFORMS = (
    "manylinux1_x86_64",
    "manylinux2010_x86_64",
    "manylinux2014_x86_64",
    *(f"manylinux_2_{minor}_x86_64" for minor in range(5, GLIBC_MINOR + 1)),
)
PYTHON_VERSION = "3.11"
BYTECODE = "bytecode: unchecked-hash, PYTHONHASHSEED=0, /opt/python"
# Pins whose locked release has no wheel for glibc 2.26. numpy >= 2.3 ships manylinux_2_28 wheels only;
# langchain-aws requires numpy, but only its embeddings and vector stores import it, never the chat
# model the draft-reply function uses (tests/integration/test_lambda_layer.py checks that).
OVERRIDES = {"numpy": "numpy<2.3"}


class LayerBuildError(RuntimeError):
    """pip could not assemble the layer (a package without a wheel for the Lambda platform, a conflict)."""


def layer_constraints(lock_text: str, overrides: dict[str, str] = OVERRIDES) -> str:
    """requirements.lock as pip constraints, with the overridden packages' pins replaced."""
    kept = [
        line
        for line in lock_text.splitlines()
        if not any(re.match(rf"{re.escape(name)}\s*==", line.strip(), re.IGNORECASE) for name in overrides)
    ]
    return "\n".join([*kept, *overrides.values()]) + "\n"


def layer_inputs_digest() -> str:
    """A digest of everything the build is given: the requirements, the constraints, the target platform,
    and how the bytecode is made (a layer built before it was precompiled is rebuilt)."""
    parts = [
        BYTECODE,
        "\n".join(layer_requirements()),
        layer_constraints(LOCK.read_text()),
        PYTHON_VERSION,
        *PLATFORMS,
    ]
    return hashlib.sha256("\n--\n".join(parts).encode()).hexdigest()


def build_layer(dest: Path = DEFAULT_DEST, *, python: str = sys.executable, reuse: bool = False) -> Path:
    """Install the layer's packages into dest/python (the layout Lambda expects) and return dest.
    With `reuse`, a layer already finished in dest from the same inputs is kept as it is."""
    site = dest / "python"
    digest = layer_inputs_digest()
    stamp = dest.parent / f"{dest.name}-inputs.sha256"  # beside the layer, never inside its asset
    if reuse and site.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return dest
    stamp.unlink(missing_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    constraints = dest.parent / f"{dest.name}-constraints.txt"
    constraints.write_text(layer_constraints(LOCK.read_text()))
    cmd = [
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        *(arg for tag in PLATFORMS for arg in ("--platform", tag)),
        "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--only-binary=:all:", "--target", str(site),
        *layer_requirements(), "-c", str(constraints),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - our argv, no shell
    if result.returncode != 0:
        output = (result.stdout + result.stderr).splitlines()
        errors = [ln for ln in output if ln.strip() and not ln.startswith("WARNING: Location")]
        raise LayerBuildError("pip could not build the Lambda layer:\n" + "\n".join(errors[-25:]))
    compile_for_lambda(site, "/opt/python")
    stamp.write_text(digest)  # last: only a finished build is ever reused
    return dest


def compile_for_lambda(root: Path, runtime_dir: str) -> int:
    """Precompile every module under `root` for the functions' Python; return how many .pyc were written.

    Lambda's /var/task and /opt are read-only, so a package without bytecode compiles every module it
    imports at every cold start. Hash-based .pyc that are never re-validated (UNCHECKED_HASH): the asset is
    immutable, and timestamp-based ones would not match the times the deployment zip gives the sources.
    A build on another Python version writes none (that interpreter's .pyc would be ignored on Lambda).
    `runtime_dir` is where `root` is on Lambda (/var/task, /opt/python): tracebacks name the files there, and
    the bytes do not depend on the build directory."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        return 0
    # A fresh interpreter with a fixed hash seed: set and frozenset constants are marshalled in hash order,
    # so only then are the bytes the same on every build and the asset hash moves only with the code.
    cmd = [sys.executable, "-m", "compileall", "-q", "-f", "-j", "1", "--invalidation-mode", "unchecked-hash"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    argv = [*cmd, "-d", runtime_dir, str(root)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env)  # noqa: S603 - our argv, no shell
    if result.returncode != 0:
        raise LayerBuildError(f"could not precompile {root}:\n{(result.stdout + result.stderr)[-2000:]}")
    return sum(1 for _ in root.rglob("*.pyc"))


def main(argv: list[str] | None = None) -> int:
    """Entry point: build the layer into argv[0] (default build/lambda-layer)."""
    args = sys.argv[1:] if argv is None else argv
    dest = Path(args[0]) if args else DEFAULT_DEST
    try:
        build_layer(dest)
    except LayerBuildError as e:
        print(f"make layer: {e}", file=sys.stderr)
        return 1
    packages = sorted(p.name.split("-")[0] for p in (dest / "python").glob("*.dist-info"))
    print(f"layer built in {dest}: {len(packages)} packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
