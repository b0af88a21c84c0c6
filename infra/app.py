"""The tms CDK app: `python infra/app.py` (make synth) or `cdk synth` / `cdk deploy` through cdk.json.

No AWS calls at synth: configuration comes from cdk.json context and TMS_DEPLOY_* variables, and
every asset is a local directory staged here.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from contract import names
from infra.components.analytics import MissingGlueScriptError
from infra.components.lambdas import (
    LAYER_DIR,
    MissingLayerError,
    layer_is_built,
    placeholder_layer,
    stage_code,
)
from infra.components.workflow import MissingAslError
from infra.config import ConfigError, TmsConfig, load_config, read_cdk_json_context
from infra.stack import StagedAssets, TmsStack

# The Glue job's --extra-py-files: whole folders. glue/ (transforms, schema) and the contract, whose
# stdlib-only manifest-marker format the job reads; the job imports nothing else of ours and never pydantic
# (tests/unit/glue/test_glue_imports.py).
GLUE_LIBRARY_PACKAGES = ("glue", "contract")


def stage_assets(config: TmsConfig, workdir: Path, *, layer_dir: Path = LAYER_DIR) -> StagedAssets:
    """Stage the Lambda code, the layer (or its placeholder) and the Glue library into workdir."""
    built = layer_is_built(layer_dir)
    if not built and config.require_layer:
        raise MissingLayerError(f"{layer_dir} is not built: run `make layer` first")
    glue_library = workdir / "glue-library"
    for package in GLUE_LIBRARY_PACKAGES:
        shutil.copytree(
            names.REPO_ROOT / package,
            glue_library / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "job.py"),
        )
    return StagedAssets(
        lambda_code=stage_code(workdir / "lambda-code", require_bytecode=config.require_layer),
        lambda_layer=layer_dir if built else placeholder_layer(workdir / "lambda-layer"),
        layer_built=built,
        glue_library=glue_library,
    )


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    outdir: str | None = None,
    layer_dir: Path = LAYER_DIR,
) -> tuple[cdk.App, TmsStack]:
    """Build the app and its one stack with cdk-nag AwsSolutions checks registered."""
    environ = os.environ if environ is None else environ
    app_context = {**read_cdk_json_context(), **(context or {})}
    app = cdk.App(context=app_context, outdir=outdir)
    # The CLI's -c values land in the app's context, so read the merged view back from the app.
    merged = {key: app.node.try_get_context(key) for key in app_context}
    if app.node.try_get_context("tms") is not None:
        merged["tms"] = app.node.try_get_context("tms")
    config = load_config(merged, environ)

    workdir = Path(tempfile.mkdtemp(prefix="tms-cdk-assets-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    assets = stage_assets(config, workdir, layer_dir=layer_dir)

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))
    stack = TmsStack(
        app,
        config.project_name,
        config=config,
        assets=assets,
        env=cdk.Environment(account=config.account, region=config.region),
        description="tms: support-ticket triage (Kinesis, Step Functions, Bedrock, Slack, Glue to Redshift)",
    )
    cdk.Tags.of(app).add("project", config.project_name)
    return app, stack


def main() -> int:
    """Synthesize into cdk.out (or the CLI's CDK_OUTDIR); a bad config or missing file is one clear line."""
    # Under the CDK CLI, CDK_OUTDIR is set; run directly, the app would otherwise pick a temp dir.
    outdir = os.environ.get("CDK_OUTDIR") or str(names.REPO_ROOT / "cdk.out")
    try:
        app, _ = build_app(outdir=outdir)
    except (ConfigError, MissingLayerError, MissingGlueScriptError, MissingAslError) as e:
        print(f"tms synth: {e}", file=sys.stderr)
        return 2
    if not layer_is_built():
        print(
            "tms synth: WARNING build/lambda-layer is not built; the template ships an EMPTY dependency "
            "layer. Run `make layer` before deploying.",
            file=sys.stderr,
        )
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
