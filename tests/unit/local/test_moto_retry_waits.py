"""The local stack scales the ASL's Retry waits by configuration; the ASL itself never changes."""

from __future__ import annotations

import pytest

from contract import names
from contract.errors import ConfigurationError
from local.moto import emulation, patching


@pytest.mark.parametrize("raw", ["fast", "-1", "nan", "inf"])
def test_a_wait_scale_that_is_not_a_number_of_at_least_zero_is_refused_by_name(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(names.ENV_LOCAL_RETRY_WAIT_SCALE, raw)
    with pytest.raises(
        ConfigurationError, match=f"{names.ENV_LOCAL_RETRY_WAIT_SCALE}=.*expected a number >= 0"
    ):
        emulation.retry_wait_scale()


def test_without_the_setting_the_waits_are_the_asls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(names.ENV_LOCAL_RETRY_WAIT_SCALE, raising=False)
    assert emulation.retry_wait_scale() == 1.0


def test_moto_retry_sleeps_the_declared_interval_times_the_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    slept: list[float] = []
    patching.apply(emulation.RETRY_WAITS)
    monkeypatch.setattr(emulation.time, "sleep", slept.append)
    monkeypatch.setattr(emulation.STATE, "retry_wait_scale", 0.25)
    retrier_decl.time.sleep(8)  # what moto's Retrier calls with the interval it computed from the ASL
    assert slept == [2.0]


def test_a_stack_refused_for_its_configuration_leaves_the_environment_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from local.runtime import LocalStack

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    before = dict(os.environ)
    with (
        pytest.raises(ConfigurationError, match=names.ENV_LOCAL_RETRY_WAIT_SCALE),
        LocalStack.start(extra_env={names.ENV_LOCAL_RETRY_WAIT_SCALE: "fast"}),
    ):
        pass
    assert dict(os.environ) == before  # no endpoint or dummy credentials left for the next client
