"""`tms local up` refuses a second-opinion setting the local reply model cannot honour, before any ticket runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract.errors import ConfigurationError
from local.runtime import check_incident_judge
from pipeline.adapters import link_judge, llm


@pytest.fixture(autouse=True)
def fresh_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("TMS_INCIDENT_JUDGE", "TMS_LLM_PROVIDER", "TMS_LLM_BASE_URL", "TMS_MODEL_ID"):
        monkeypatch.delenv(name, raising=False)
    llm.reply_model.cache_clear()
    link_judge.link_judge.cache_clear()
    yield
    llm.reply_model.cache_clear()
    link_judge.link_judge.cache_clear()


def test_off_by_default_and_when_said(monkeypatch: pytest.MonkeyPatch) -> None:
    check_incident_judge()  # nothing set: off
    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "off")
    check_incident_judge()


def test_a_misspelt_setting_stops_the_start_naming_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "yes")
    with pytest.raises(ConfigurationError, match="TMS_INCIDENT_JUDGE='yes': expected off or reply-model"):
        check_incident_judge()


def test_the_offline_reply_model_cannot_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "reply-model")
    with pytest.raises(ConfigurationError, match="needs a chat reply model"):
        check_incident_judge()


def test_an_openai_compatible_endpoint_can(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "reply-model")
    monkeypatch.setenv("TMS_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("TMS_MODEL_ID", "llama3.1")
    check_incident_judge()  # builds the judge without calling the endpoint
    assert link_judge.link_judge().model_id == "openai:llama3.1"
