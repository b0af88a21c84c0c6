"""Deployment config validation, asset staging and construct preconditions (no full synth)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from contract import names
from contract.models import Priority
from infra.config import ConfigError, PriorityName, TmsConfig, load_config, read_cdk_json_context

pytestmark = pytest.mark.infra


def _context(**overrides: Any) -> dict[str, Any]:
    return {"tms": {**read_cdk_json_context()["tms"], **overrides}}


def test_cdk_json_context_is_a_valid_config() -> None:
    config = load_config(_context(), {})
    assert config.project_name == names.PROJECT
    assert config.shards == "on-demand"
    assert config.email_priorities == ("HIGH",)
    assert config.etl_schedule == "rate(2 hours)"


@pytest.mark.parametrize("name", ["TMS", "t", "tms_prod", "-tms", "tms-", "tms--prod", "9tms", "a" * 21])
def test_project_names_breaking_aws_naming_rules_are_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match="project_name"):
        load_config(_context(project_name=name), {})


def test_a_hyphenated_project_name_is_accepted() -> None:
    assert load_config(_context(project_name="tms-prod2"), {}).name("tickets") == "tms-prod2-tickets"


def test_environment_overrides_context_values() -> None:
    environ = {
        "TMS_DEPLOY_NOTIFICATION_EMAILS": "a@example.com, b@example.com",
        "TMS_DEPLOY_EMAIL_PRIORITIES": "HIGH,MEDIUM",
        "TMS_DEPLOY_SHARDS": "4",
        "TMS_DEPLOY_REDSHIFT": json.dumps({"table": "tickets_v2"}),
    }
    config = load_config(_context(), environ)
    assert config.notification_emails == ("a@example.com", "b@example.com")
    assert config.email_priorities == ("HIGH", "MEDIUM")
    assert config.shards == 4
    assert config.redshift.table == "tickets_v2"
    assert config.redshift.schema_name == "support"


def test_region_and_account_fall_back_to_the_cdk_cli_environment() -> None:
    context = _context()
    del context["tms"]["region"]
    config = load_config(context, {"CDK_DEFAULT_REGION": "eu-west-1", "CDK_DEFAULT_ACCOUNT": "123456789012"})
    assert (config.region, config.account) == ("eu-west-1", "123456789012")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slack_channel_id", "general"),
        ("notification_emails", ["not-an-email"]),
        ("email_priorities", ["URGENT"]),
        ("email_priorities", []),
        ("shards", 0),
        ("etl_schedule", "every 2 hours"),
        ("region", "mars-1"),
        ("model_id", "claude"),
        ("unknown_field", 1),
    ],
)
def test_invalid_values_fail_with_the_field_named(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=field):
        load_config(_context(**{field: value}), {})


def test_email_priority_names_match_the_ticket_contract() -> None:
    assert set(get_args(PriorityName)) == {p.value for p in Priority}


@pytest.mark.parametrize(
    ("schedule", "explicit", "expected"),
    [
        ("rate(2 hours)", None, 108),
        ("rate(30 minutes)", None, 27),
        ("rate(1 day)", None, 1296),
        ("cron(0 3 * * ? *)", 45, 45),
    ],
)
def test_glue_timeout_ends_before_the_next_scheduled_run(
    schedule: str, explicit: int | None, expected: int
) -> None:
    config = load_config(_context(etl_schedule=schedule, etl_timeout_minutes=explicit), {})
    assert config.glue_timeout_minutes == expected


def test_a_cron_schedule_without_a_timeout_is_rejected() -> None:
    with pytest.raises(ConfigError, match="etl_timeout_minutes"):
        load_config(_context(etl_schedule="cron(0 3 * * ? *)"), {})


@pytest.mark.parametrize(
    ("model_id", "profile", "foundation"),
    [
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", True, "anthropic.claude-3-5-haiku-20241022-v1:0"),
        ("anthropic.claude-3-haiku-20240307-v1:0", False, "anthropic.claude-3-haiku-20240307-v1:0"),
        ("amazon.nova-lite-v1:0", False, "amazon.nova-lite-v1:0"),
    ],
)
def test_model_id_tells_inference_profiles_from_foundation_models(
    model_id: str, profile: bool, foundation: str
) -> None:
    config = load_config(_context(model_id=model_id), {})
    assert (config.uses_inference_profile, config.foundation_model_id) == (profile, foundation)


def test_config_is_frozen() -> None:
    config = load_config(_context(), {})
    with pytest.raises(ValueError):
        config.project_name = "other"  # type: ignore[misc]
    assert isinstance(config, TmsConfig)


def test_staged_code_is_the_deployable_folders_whole(tmp_path: Path) -> None:
    from infra.components.lambdas import stage_code

    staged = stage_code(tmp_path / "code")
    assert sorted(p.name for p in staged.iterdir()) == ["bot", "contract", "pipeline"]
    assert (staged / "contract" / "models" / "ticket.py").is_file()
    assert (staged / "bot" / "__init__.py").is_file()
    assert not (staged / "tests").exists() and not (staged / ".venv").exists()


def test_staged_code_ships_bytecode_lambda_uses_without_writing_any(tmp_path: Path) -> None:
    import subprocess

    from contract import names
    from infra.components.lambdas import stage_code
    from infra.layer import require_lambda_python

    # Given an interpreter of the functions' Python (make install provides one in .venv-lambda)
    python = require_lambda_python()
    probe = (
        "import importlib.util, sys; print(importlib.util.MAGIC_NUMBER.hex(), sys.implementation.cache_tag)"
    )
    magic_hex, cache_tag = subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert cache_tag == "cpython-" + names.LAMBDA_PYTHON.replace(".", "")

    # When the code asset is staged twice, in two directories
    first = stage_code(tmp_path / "one")
    second = stage_code(tmp_path / "two")

    # Then every module has its .pyc where the runtime's Python looks for it, and no other version's
    sources = sorted(p.relative_to(first) for p in first.rglob("*.py"))
    expected = {source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc" for source in sources}
    assert {p.relative_to(first) for p in first.rglob("*.pyc")} == expected
    for pyc in expected:
        header = (first / pyc).read_bytes()[:16]
        assert header[:4] == bytes.fromhex(magic_hex), pyc
        # flags 0b01: hash-based and never checked against the source (the zip's file times do not matter)
        assert int.from_bytes(header[4:8], "little") == 1, pyc
    # Same bytes whatever the build directory: the asset hash changes only when the code does.
    digest = [
        sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*.pyc")) for root in (first, second)
    ]
    assert digest[0] == digest[1]


def test_missing_layer_gets_a_placeholder_unless_required(tmp_path: Path) -> None:
    from infra.app import stage_assets
    from infra.components.lambdas import MissingLayerError

    config = load_config(_context(), {})
    assets = stage_assets(config, tmp_path / "a", layer_dir=tmp_path / "nothing")
    assert not assets.layer_built
    assert (assets.lambda_layer / "python").is_dir()
    with pytest.raises(MissingLayerError, match="make layer"):
        stage_assets(
            config.model_copy(update={"require_layer": True}), tmp_path / "b", layer_dir=tmp_path / "nothing"
        )


def test_a_built_layer_is_used_as_is(tmp_path: Path) -> None:
    from infra.app import stage_assets

    layer = tmp_path / "layer"
    (layer / "python" / "pydantic").mkdir(parents=True)
    assets = stage_assets(load_config(_context(require_layer=True), {}), tmp_path / "a", layer_dir=layer)
    assert (assets.layer_built, assets.lambda_layer) == (True, layer)
    assert (assets.glue_library / "glue" / "transforms.py").is_file()


def test_one_new_ticket_limit_in_cdk_json_reaches_the_trigger_and_the_inbound_mail_function() -> None:
    config = load_config(_context(tickets_per_sender_hour=8, tickets_per_domain_hour=300_000), {})

    expected = {names.ENV_TICKETS_PER_SENDER: "8", names.ENV_TICKETS_PER_DOMAIN: "300000"}
    assert config.limits_environment() == expected
    assert config.limits_environment(mail=True) == expected


def test_the_deprecated_mail_only_limit_keys_still_reach_the_inbound_mail_function_only() -> None:
    config = load_config(_context(mail_tickets_per_sender_hour=3), {})

    assert config.limits_environment() == {}  # the trigger never read them
    assert config.limits_environment(mail=True) == {names.ENV_MAIL_TICKETS_PER_SENDER: "3"}
    assert load_config(_context(), {}).limits_environment(mail=True) == {}  # unset: the defaults
