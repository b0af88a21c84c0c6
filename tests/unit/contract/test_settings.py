"""EnvSettings reads the environment as pydantic-settings' BaseSettings did, without importing it.

pydantic-settings stays a dev dependency for this comparison only: the functions no longer import it
(tests/unit/test_cold_start.py guards that).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from contract.settings import EnvSettings

DEFAULT_PATH = Path("/opt/catalog.json")


class Ours(EnvSettings):
    model_config = ConfigDict(populate_by_name=True)

    token: SecretStr | None = Field(None, validation_alias=AliasChoices("TMS_TOKEN", "TMS_OLD_TOKEN"))
    stream: str = Field(validation_alias="TMS_STREAM", min_length=3)
    days: float = Field(14, ge=0, le=365, validation_alias="TMS_DAYS")
    limit: int = Field(10, validation_alias="TMS_LIMIT")
    kind: str | None = Field(None, validation_alias="TMS_KIND")
    catalog_path: Path = DEFAULT_PATH


class Theirs(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    token: SecretStr | None = Field(None, validation_alias=AliasChoices("TMS_TOKEN", "TMS_OLD_TOKEN"))
    stream: str = Field(validation_alias="TMS_STREAM", min_length=3)
    days: float = Field(14, ge=0, le=365, validation_alias="TMS_DAYS")
    limit: int = Field(10, validation_alias="TMS_LIMIT")
    kind: str | None = Field(None, validation_alias="TMS_KIND")
    catalog_path: Path = DEFAULT_PATH


class OursIgnoringEmpty(Ours):
    env_ignore_empty = True


class TheirsIgnoringEmpty(Theirs):
    model_config = SettingsConfigDict(env_ignore_empty=True)


CASES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "required only": ({"TMS_STREAM": "tickets"}, {}),
    "every variable": (
        {"TMS_STREAM": "s1x", "TMS_TOKEN": "t", "TMS_DAYS": "2.5", "TMS_LIMIT": "7", "TMS_KIND": "k"},
        {},
    ),
    "first alias choice wins": ({"TMS_STREAM": "abc", "TMS_TOKEN": "new", "TMS_OLD_TOKEN": "old"}, {}),
    "second alias choice": ({"TMS_STREAM": "abc", "TMS_OLD_TOKEN": "old"}, {}),
    "names are case-insensitive": ({"tms_stream": "lower", "Tms_Days": "3"}, {}),
    "a field without alias is read by its name": ({"TMS_STREAM": "abc", "CATALOG_PATH": "/tmp/c.json"}, {}),
    "populate_by_name also reads the field name": ({"STREAM": "by-name"}, {}),
    "the alias wins over the field name": ({"TMS_STREAM": "alias", "STREAM": "name"}, {}),
    "keywords win over the environment": (
        {"TMS_STREAM": "env", "TMS_DAYS": "1"},
        {"days": 9, "stream": "kw-"},
    ),
    "keywords by alias win too": ({"TMS_STREAM": "env"}, {"TMS_STREAM": "kw-alias"}),
    "an empty variable is a value": ({"TMS_STREAM": "abc", "TMS_KIND": ""}, {}),
    "missing required": ({}, {}),
    "too short": ({"TMS_STREAM": "ab"}, {}),
    "out of range": ({"TMS_STREAM": "abc", "TMS_DAYS": "400"}, {}),
    "not a number": ({"TMS_STREAM": "abc", "TMS_LIMIT": "many"}, {}),
    "unrelated variables are ignored": ({"TMS_STREAM": "abc", "TMS_OTHER": "x", "HOME": "/root"}, {}),
}


def _outcome(cls: type, env: dict[str, str], kwargs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        for key in [k for k in os.environ if k.upper().startswith(("TMS_", "STREAM", "CATALOG"))]:
            m.delenv(key)
        for key, value in env.items():
            m.setenv(key, value)
        try:
            return cls(**kwargs).model_dump(mode="json")
        except ValidationError as e:
            return [(err["type"], err["loc"]) for err in e.errors()]


@pytest.mark.parametrize("case", list(CASES))
def test_the_environment_is_read_as_pydantic_settings_reads_it(case, monkeypatch):
    env, kwargs = CASES[case]

    assert _outcome(Ours, env, kwargs, monkeypatch) == _outcome(Theirs, env, kwargs, monkeypatch)


@pytest.mark.parametrize("case", list(CASES))
def test_env_ignore_empty_is_read_as_pydantic_settings_reads_it(case, monkeypatch):
    env, kwargs = CASES[case]
    env = env | {"TMS_KIND": "", "TMS_DAYS": ""}

    ours = _outcome(OursIgnoringEmpty, env, kwargs, monkeypatch)

    assert ours == _outcome(TheirsIgnoringEmpty, env, kwargs, monkeypatch)


def test_an_invalid_default_is_refused_as_basesettings_refuses_it(monkeypatch):
    class BadOurs(EnvSettings):
        n: int = Field("x", validation_alias="TMS_N")  # type: ignore[assignment]

    class BadTheirs(BaseSettings):
        n: int = Field("x", validation_alias="TMS_N")  # type: ignore[assignment]

    assert _outcome(BadOurs, {}, {}, monkeypatch) == _outcome(BadTheirs, {}, {}, monkeypatch) != {"n": "x"}


def test_a_field_that_would_need_json_decoding_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="reads strings only, not hosts"):

        class Hosts(EnvSettings):
            hosts: list[str] = Field(default_factory=list, validation_alias="TMS_HOSTS")
