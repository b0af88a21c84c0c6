"""Build the Lambda dependency layer: wheels for the functions' runtime, pinned by requirements.lock.

    python -m infra.layer [DEST]        (make layer: DEST = build/lambda-layer)
    python -m infra.layer --python      (prints a Python of the functions' version: make's .venv-lambda)

The functions run python3.13 on Amazon Linux 2023 (glibc 2.34, x86_64; contract.names.LAMBDA_PYTHON), so
only wheels tagged manylinux_2_34 or older can load there; pip is told exactly that. Every version comes
from requirements.lock (what the tests ran with), except the overrides below (none today). The bytecode of
the layer and of the code asset is compiled by a Python of the runtime's version (`lambda_python`).
"""

from __future__ import annotations

import functools
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
GLIBC_MINOR = 34  # Lambda python3.12+ = Amazon Linux 2023 = glibc 2.34
# Every tag a wheel for glibc <= 2.34 may carry. Listed, because pip (23, as venv bundles it) does not
# expand one manylinux_2_34 tag to the older ones.
PLATFORMS = (
    "manylinux1_x86_64",
    "manylinux2010_x86_64",
    "manylinux2014_x86_64",
    *(f"manylinux_2_{minor}_x86_64" for minor in range(5, GLIBC_MINOR + 1)),
)
PYTHON_VERSION = names.LAMBDA_PYTHON
BYTECODE = "bytecode: the runtime's only, unchecked-hash, PYTHONHASHSEED=0, /opt/python"
# Pins whose locked release has no wheel for the Lambda platform, replaced by a range that has one. Empty
# since the move to Amazon Linux 2023: numpy was held below 2.3 only because numpy >= 2.3 ships
# manylinux_2_28 wheels, which Amazon Linux 2 (glibc 2.26) could not load. Every locked pin of the layer has
# a cp313 (or pure-Python) wheel for manylinux_2_34 (tests/integration/test_lambda_layer.py builds it).
OVERRIDES: dict[str, str] = {}
# A Python of the runtime's version, if set; else .venv-lambda's (make test creates it), the one running, a
# `python3.13` on PATH that answers (pyenv's shim fails unless that version is active), pyenv's, Debian's.
LAMBDA_PYTHON_ENV = "TMS_LAMBDA_PYTHON"


class LayerBuildError(RuntimeError):
    """pip could not assemble the layer (a package without a wheel for the Lambda platform, a conflict)."""


class NoLambdaPythonError(LayerBuildError):
    """No interpreter of the functions' Python version was found to compile their bytecode."""


def _python_candidates(version: str) -> list[str]:
    exe = f"python{version}"
    candidates = [
        os.environ.get(LAMBDA_PYTHON_ENV, ""),
        str(names.REPO_ROOT / ".venv-lambda" / "bin" / "python"),
    ]
    candidates += [sys.executable, shutil.which(exe) or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/{exe}"))
    candidates += [f"/usr/bin/{exe}", f"/usr/local/bin/{exe}"]
    return [c for c in candidates if c]


@functools.cache
def lambda_python(version: str = PYTHON_VERSION) -> str | None:
    """A Python interpreter of the functions' version (it answers, and says that version), or None."""
    for candidate in _python_candidates(version):
        if not Path(candidate).is_file():
            continue
        try:
            probe = subprocess.run(  # noqa: S603 - a path we chose, no shell
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def require_lambda_python(version: str = PYTHON_VERSION) -> str:
    """lambda_python(), or NoLambdaPythonError saying how to get one."""
    python = lambda_python(version)
    if python is None:
        raise NoLambdaPythonError(
            f"no Python {version} found (the Lambda functions' version): install it (Debian 13: apt-get "
            f"install python{version}; or pyenv install {version}) or point {LAMBDA_PYTHON_ENV} at one"
        )
    return python


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
        "--only-binary=:all:", "--no-compile", "--target", str(site),
        *layer_requirements(), "-c", str(constraints),
    ]  # fmt: skip
    # --no-compile: pip would compile for its own Python (the project's), whose .pyc Lambda's never reads;
    # compile_for_lambda writes the runtime's.
    result = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603 - our argv, no shell
    if result.returncode != 0:
        output = (result.stdout + result.stderr).splitlines()
        errors = [ln for ln in output if ln.strip() and not ln.startswith("WARNING: Location")]
        raise LayerBuildError("pip could not build the Lambda layer:\n" + "\n".join(errors[-25:]))
    compile_for_lambda(site, "/opt/python", python=require_lambda_python())
    stamp.write_text(digest)  # last: only a finished build is ever reused
    return dest


def compile_for_lambda(root: Path, runtime_dir: str, *, python: str | None = None) -> int:
    """Precompile every module under `root` for the functions' Python; return how many .pyc were written.

    Lambda's /var/task and /opt are read-only, so a package without bytecode compiles every module it
    imports at every cold start. Hash-based .pyc that are never re-validated (UNCHECKED_HASH): the asset is
    immutable, and timestamp-based ones would not match the times the deployment zip gives the sources.
    The compiler is an interpreter of the runtime's version (`python`, else `lambda_python()`): another
    version's .pyc would sit where Python 3.13 never looks. Without one, nothing is compiled and 0 returned.
    `runtime_dir` is where `root` is on Lambda (/var/task, /opt/python): tracebacks name the files there, and
    the bytes do not depend on the build directory."""
    python = python or lambda_python()
    if python is None:
        return 0
    # A fresh interpreter with a fixed hash seed: set and frozenset constants are marshalled in hash order,
    # so only then are the bytes the same on every build and the asset hash moves only with the code.
    # -I: neither the caller's PYTHON* variables nor its site-packages reach the compiler.
    cmd = [python, "-I", "-m", "compileall", "-q", "-f", "-j", "1", "--invalidation-mode", "unchecked-hash"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    argv = [*cmd, "-d", runtime_dir, str(root)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env)  # noqa: S603 - our argv, no shell
    if result.returncode != 0:
        raise LayerBuildError(f"could not precompile {root}:\n{(result.stdout + result.stderr)[-2000:]}")
    return sum(1 for _ in root.rglob("*.pyc"))


def main(argv: list[str] | None = None) -> int:
    """Entry point: build the layer into argv[0] (default build/lambda-layer)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--python"]:
        try:
            print(require_lambda_python())
        except NoLambdaPythonError as e:
            print(f"tms: {e}", file=sys.stderr)
            return 1
        return 0
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
