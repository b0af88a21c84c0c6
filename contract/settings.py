"""`EnvSettings`: a pydantic model read from the environment, for the functions' settings.

The functions used pydantic-settings' `BaseSettings` for one thing, its environment source. Importing
pydantic-settings costs every cold start ~40-60 ms of CPU on this machine beyond pydantic itself (its CLI,
dotenv, secrets-dir and cloud sources, asyncio, an entry-point scan), about a fifth of what a handler's
imports add to `import boto3`. This base keeps the part used, with the same rules:

- a field is read from its validation alias (each choice of an `AliasChoices`, in order), or from its name
  when it has no alias or the model populates by name; the first variable set wins;
- names match case-insensitively (pydantic-settings' default `case_sensitive=False`);
- keyword arguments win over the environment; `env_ignore_empty = True` skips empty values;
- defaults are validated (`validate_default=True`, as in `BaseSettings`).

Values are passed as strings and validated by pydantic as usual (lax mode turns "14" into 14.0). No field
here is a nested model, list or dict, so pydantic-settings' JSON decoding of complex values is not needed;
a subclass with one is refused at class creation such a field rather than reading it wrong.
"""

from __future__ import annotations

import os
import re
import typing
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict
from pydantic.fields import FieldInfo


def _env_names(name: str, field: FieldInfo, by_name: bool) -> list[str]:
    """The variables that set `field`, in pydantic-settings' order (aliases, then the name)."""
    alias = field.validation_alias
    names: list[str] = []
    if isinstance(alias, AliasChoices):
        names += [choice for choice in alias.choices if isinstance(choice, str)]
    elif isinstance(alias, str):
        names.append(alias)
    if not names or by_name:
        names.append(name)
    return names


class EnvSettings(BaseModel):
    """Settings validated from `os.environ` when the model is built (once per cold start, cached)."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    # pydantic-settings' `env_ignore_empty`: an empty variable counts as unset (the field keeps its default).
    env_ignore_empty: ClassVar[bool] = False

    def __init__(self, **values: Any) -> None:
        super().__init__(**(self._from_environ(values) | values))

    @classmethod
    def _from_environ(cls, given: dict[str, Any]) -> dict[str, Any]:
        environ = {
            key.lower(): value for key, value in os.environ.items() if value or not cls.env_ignore_empty
        }
        by_name = bool(cls.model_config.get("validate_by_name") or cls.model_config.get("populate_by_name"))
        found: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            keys = _env_names(name, field, by_name)
            if name in given or any(key in given for key in keys):
                continue
            for key in keys:
                value = environ.get(key.lower())
                if value is not None:
                    found[key] = value
                    break
        return found

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        complex_fields = [name for name, field in cls.model_fields.items() if _is_complex(field.annotation)]
        if complex_fields:
            raise TypeError(
                f"{cls.__name__}: EnvSettings reads strings only, not {', '.join(complex_fields)}"
            )


def _is_complex(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, dict, set, tuple, frozenset):
        return True
    if origin is not None:
        return any(_is_complex(arg) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


MASK = "***"
_QUERY_SECRET = re.compile(r"(?i)((?:^|[?&;])(?:password|passwd|pwd|secret|token|api_key)=)[^&;#]*")
_KEYWORD_SECRET = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*(?:'(?:[^'\\]|\\.)*'|\S+)")


def masked_url(url: str) -> str:
    """`url` as it may be shown or logged: the password of its user info (postgresql://u:***@h/db), any
    password-like query parameter and a libpq keyword `password=` replaced by ***. Everything else stays,
    so the reader still sees which server and database are meant."""
    if "://" not in url:  # a libpq keyword/value string: host=h user=u password=secret
        return _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", url)
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable: show only the scheme, never guess which part is secret
        return url.split("://", 1)[0] + "://" + MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + MASK
        netloc = f"{userinfo}@{host}"
    query = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    # Rebuilt by hand: urlunsplit drops an empty authority ("duckdb:///path" would lose its "//").
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )
