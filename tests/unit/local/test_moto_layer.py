"""The local runtime patches only the moto it was written for, refuses another in one line, checks that
every attribute it replaces exists, and leaves every speed patch out when TMS_LOCAL_SPEED_PATCHES=off."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib

import pytest

from contract import names
from contract.errors import ConfigurationError
from local import moto as local_moto
from local.moto import emulation, patching, speed
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_the_patched_moto_is_the_one_pyproject_and_the_lock_pin():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for deps in pyproject["project"]["optional-dependencies"].values() for d in deps]
    assert f"moto[server]=={local_moto.MOTO_VERSION}" in pins
    assert f"moto=={local_moto.MOTO_VERSION}" in (ROOT / "requirements.lock").read_text().splitlines()


def test_every_patch_says_in_one_line_what_it_replaces_and_targets_what_moto_has():
    patches = emulation.PATCHES + speed.PATCHES
    assert {p.purpose for p in emulation.PATCHES} == {"emulation"}
    assert {p.purpose for p in speed.PATCHES} == {"speed"}
    assert all(p.why and "\n" not in p.why and len(p.why) <= 110 for p in patches)
    targets = [t for p in patches for t in p.targets]
    assert len(targets) == len(set(targets))  # no attribute is patched twice
    assert len({p.name for p in patches}) == len(patches)
    assert patching.missing_targets(patches) == []


def test_another_moto_version_is_refused_by_name_with_the_fix():
    with pytest.raises(local_moto.MotoPatchError) as refused:
        local_moto.check_moto(speed_patches=True, installed="5.3.0")
    assert str(refused.value) == (
        "moto 5.3.0 is installed but the local runtime's patches were written for "
        f"{local_moto.MOTO_VERSION}; run make install"
    )


def test_a_target_moto_no_longer_has_is_refused_before_anything_is_patched(monkeypatch):
    applied: list[str] = []
    gone = patching.Patch(
        "gone",
        "emulation",
        ("moto.kinesis.models:Stream.put_record", "moto.kinesis.models:Stream.put_record_renamed"),
        "a patch written for a method moto has since renamed",
        lambda: applied.append("gone"),
    )
    monkeypatch.setattr(emulation, "PATCHES", (gone,))
    monkeypatch.setattr(speed, "PATCHES", ())

    with pytest.raises(local_moto.MotoPatchError, match=r"lacks .*Stream\.put_record_renamed\)"):
        local_moto.apply_patches(speed_patches=True)
    assert applied == []
    assert patching.missing_targets([gone]) == ["moto.kinesis.models:Stream.put_record_renamed"]


def test_tms_local_up_on_another_moto_prints_one_line_and_exits_non_zero(monkeypatch, capsys):
    import signal

    from local import runtime
    from tools.cli import main

    monkeypatch.setattr(signal, "signal", lambda *_: None)  # the command's Ctrl-C handler: not pytest's
    monkeypatch.setattr(runtime, "quiet_logs", lambda *_: None)  # nor its log levels
    monkeypatch.setattr(local_moto.metadata, "version", lambda _name: "5.3.0")

    code = main(["local", "up"])

    err = capsys.readouterr().err
    assert code != 0
    assert err.splitlines() == [
        "tms local up: moto 5.3.0 is installed but the local runtime's patches were written for "
        f"{local_moto.MOTO_VERSION}; run make install"
    ]


@pytest.mark.parametrize(("raw", "enabled"), [("", True), ("on", True), ("ON", True), ("off", False)])
def test_speed_patches_are_on_unless_switched_off(raw, enabled, monkeypatch):
    monkeypatch.setenv(names.ENV_LOCAL_SPEED_PATCHES, raw)
    assert local_moto.speed_patches_enabled() is enabled


def test_a_speed_setting_that_is_not_on_or_off_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(names.ENV_LOCAL_SPEED_PATCHES, "fast")
    with pytest.raises(
        ConfigurationError, match=f"{names.ENV_LOCAL_SPEED_PATCHES}='fast': expected on or off"
    ):
        local_moto.speed_patches_enabled()


# A fresh interpreter: moto's values are recorded before anything of ours is imported, then the runtime's
# own install() runs under each setting. (The suite's workers have patched moto already.)
_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import moto.stepfunctions.parser.asl.parse.asl_parser, moto.moto_server.werkzeug_app
    from local.moto import emulation, install, patching, speed
    from local.lambdas import LocalLambdas

    def values(patches):
        out = {}
        for patch in patches:
            for target in patch.targets:
                owner, attribute = patching.resolve(target)
                out[target] = vars(owner).get(attribute)
        return out

    own_speed, own_emulation = values(speed.PATCHES), values(emulation.PATCHES)
    report = []
    for setting in sys.argv[1:]:
        os.environ["TMS_LOCAL_SPEED_PATCHES"] = setting
        install(LocalLambdas(region="us-east-1"), lambda text, language: {}, lambda _fault: False).stop()
        now_speed, now_emulation = values(speed.PATCHES), values(emulation.PATCHES)
        report.append({
            "speed_is_moto": [t for t in own_speed if now_speed[t] is own_speed[t]],
            "speed_replaced": [t for t in own_speed if now_speed[t] is not own_speed[t]],
            "emulation_replaced": [t for t in own_emulation if now_emulation[t] is not own_emulation[t]],
        })
    print(json.dumps(report))
    """
)


def test_with_speed_patches_off_every_speed_target_is_moto_s_own_and_with_them_on_none_is():
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, "off", "on", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    first_off, on, off_again = json.loads(run.stdout.splitlines()[-1])
    speed_targets = [t for p in speed.PATCHES for t in p.targets]
    emulation_targets = [t for p in emulation.PATCHES for t in p.targets]

    assert first_off == {
        "speed_is_moto": speed_targets,
        "speed_replaced": [],
        "emulation_replaced": emulation_targets,
    }
    assert on == {
        "speed_is_moto": [],
        "speed_replaced": speed_targets,
        "emulation_replaced": emulation_targets,
    }
    # Switched off again in the same process: moto's own values are put back.
    assert off_again == first_off
    assert all(re.fullmatch(r"moto[\w.]*:[\w.]+", t) for t in speed_targets + emulation_targets)
