"""Concurrency of the bot: provisioned (issue 17) off by default, an alias with it serving the function URL
when on; reserved (issue 27.5) always, so a flood on the public URL is capped at the bot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import names
from infra.config import load_config, read_cdk_json_context
from tests.infra.conftest import synthesize
from tests.infra.template import Synth, function_by_name, resources
from tests.infra.test_checkov import _checkov

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def with_concurrency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """The stack synthesized with bot_provisioned_concurrency 2 (cdk-nag registered, as `make synth`)."""
    synthesized = synthesize(
        tmp_path_factory.mktemp("cdk-pc"), bot_provisioned_concurrency=2, bot_reserved_concurrency=4
    )
    yield synthesized.raw, synthesized.outdir


def test_provisioned_concurrency_is_off_in_cdk_json_and_a_validated_field() -> None:
    context = read_cdk_json_context()
    assert context["tms"]["bot_provisioned_concurrency"] == 0
    with pytest.raises(ValueError, match="bot_provisioned_concurrency"):
        load_config({"tms": {**context["tms"], "bot_provisioned_concurrency": -1}}, {})


def test_by_default_the_url_serves_the_function_and_nothing_is_provisioned(synth: Synth) -> None:
    bot_id, _ = function_by_name(synth.raw, names.FN_BOT)
    (url,) = (
        u
        for u in resources(synth.raw, "AWS::Lambda::Url").values()
        if u["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [bot_id, "Arn"]}
    )
    assert "Qualifier" not in url["Properties"]
    assert resources(synth.raw, "AWS::Lambda::Alias") == {}


def test_with_provisioned_concurrency_an_alias_keeps_environments_warm_behind_the_url(
    with_concurrency: tuple[dict[str, Any], Path],
) -> None:
    raw, _ = with_concurrency
    bot_id, _ = function_by_name(raw, names.FN_BOT)

    (_, alias), *others = resources(raw, "AWS::Lambda::Alias").items()
    assert others == []
    assert alias["Properties"]["FunctionName"] == {"Ref": bot_id}
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    urls = [
        u["Properties"] for u in resources(raw, "AWS::Lambda::Url").values() if "Qualifier" in u["Properties"]
    ]
    assert len(urls) == 1 and urls[0]["Qualifier"] == "live"


def test_with_provisioned_concurrency_the_stack_stays_nag_and_checkov_clean(
    with_concurrency: tuple[dict[str, Any], Path],
) -> None:
    _, outdir = with_concurrency
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = (p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions")
    assert [v["ruleName"] for v in nag["violations"]] == []

    template = next(outdir.glob("*.template.json"))
    (result,) = _checkov(template)
    failed = [(f["check_id"], f["resource"]) for f in result["results"]["failed_checks"]]
    assert failed == []


def test_reserved_concurrency_is_in_cdk_json_and_bounds_provisioned_concurrency() -> None:
    tms = read_cdk_json_context()["tms"]
    assert tms["bot_reserved_concurrency"] == 10
    assert (
        load_config(
            {"tms": {k: v for k, v in tms.items() if k != "bot_reserved_concurrency"}}, {}
        ).bot_reserved_concurrency
        == 10
    )
    for bad in (0, -1, 1001):
        with pytest.raises(ValueError, match="bot_reserved_concurrency"):
            load_config({"tms": {**tms, "bot_reserved_concurrency": bad}}, {})
    with pytest.raises(ValueError, match="exceeds bot_reserved_concurrency"):
        load_config({"tms": {**tms, "bot_provisioned_concurrency": 5, "bot_reserved_concurrency": 4}}, {})


def test_the_bot_function_has_its_reserved_concurrency(synth: Synth) -> None:
    _, bot = function_by_name(synth.raw, names.FN_BOT)
    assert bot["Properties"]["ReservedConcurrentExecutions"] == 10


def test_with_provisioned_concurrency_the_reserved_concurrency_is_the_configured_one(
    with_concurrency: tuple[dict[str, Any], Path],
) -> None:
    raw, _ = with_concurrency
    _, bot = function_by_name(raw, names.FN_BOT)
    assert bot["Properties"]["ReservedConcurrentExecutions"] == 4


def _synth_with(tmp_path_factory: pytest.TempPathFactory, name: str, **fields: Any) -> dict[str, Any]:
    return synthesize(tmp_path_factory.mktemp(name), **fields).raw


@pytest.fixture(scope="module")
def with_snapstart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack synthesized with bot_snapstart on."""
    return _synth_with(tmp_path_factory, "cdk-snapstart", bot_snapstart=True)


def test_snapstart_is_off_in_cdk_json_and_off_by_default(synth: Synth) -> None:
    tms = read_cdk_json_context()["tms"]
    assert tms["bot_snapstart"] is False
    assert (
        load_config({"tms": {k: v for k, v in tms.items() if k != "bot_snapstart"}}, {}).bot_snapstart
        is False
    )
    _, bot = function_by_name(synth.raw, names.FN_BOT)
    assert "SnapStart" not in bot["Properties"]


def test_with_snapstart_the_bot_snapshots_published_versions_and_the_url_serves_the_alias(
    with_snapstart: dict[str, Any],
) -> None:
    raw = with_snapstart
    bot_id, bot = function_by_name(raw, names.FN_BOT)
    assert bot["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    # Only the bot: the other functions keep their plain cold start.
    for fn in names.HANDLERS:
        if fn != names.FN_BOT:
            assert "SnapStart" not in function_by_name(raw, fn)[1]["Properties"], fn

    (version_id, version), *more_versions = resources(raw, "AWS::Lambda::Version").items()
    assert more_versions == []
    assert version["Properties"]["FunctionName"] == {"Ref": bot_id}
    # Each cached snapshot is billed while its version exists: the one a deploy replaces is deleted (CDK's
    # default for current_version; a Retain here would keep paying for every past deploy's snapshot).
    assert version.get("DeletionPolicy", "Delete") == "Delete"
    (_, alias), *others = resources(raw, "AWS::Lambda::Alias").items()
    assert others == []
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]  # SnapStart alone, no fixed price
    (url,) = (
        u["Properties"]
        for u in resources(raw, "AWS::Lambda::Url").values()
        if u["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [bot_id, "Arn"]}
    )
    assert url["Qualifier"] == "live"


def test_snapstart_with_provisioned_concurrency_is_refused_at_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from infra.config import ConfigError

    with pytest.raises(ConfigError, match=r"bot_snapstart .* bot_provisioned_concurrency is 2.*choose one"):
        _synth_with(tmp_path_factory, "cdk-both", bot_snapstart=True, bot_provisioned_concurrency=2)
