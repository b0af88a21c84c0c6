"""Implementations of our ports that are installed beside tms rather than shipped with it.

The local runtime's offline reply model, its OpenAI-compatible adapter and its offline embedder are laptop
code (`local/`): the deployable factories must not import them, yet configuration
(`TMS_LLM_PROVIDER=offline`) must be able to choose them. They are registered as Python entry points
(`pyproject.toml`, groups `tms.reply_models` and `tms.embedders`) and looked up here by name. A Lambda
asset carries no distribution metadata, so there the lookup finds nothing and says how to configure it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from contract.errors import ConfigurationError


def installed(group: str) -> list[str]:
    """The names of the implementations installed for an entry-point group."""
    return sorted(ep.name for ep in entry_points(group=group))


def load_plugin(group: str, name: str) -> Callable[..., Any]:
    """The factory registered as `name` in `group`; ConfigurationError when nothing is."""
    found = list(entry_points(group=group, name=name))
    if not found:
        available = ", ".join(installed(group)) or "none"
        raise ConfigurationError(
            f"no {group} implementation named {name!r} is installed here (installed: {available}); "
            "the offline and OpenAI-compatible ones come with the local runtime (`make install`)"
        )
    factory: Callable[..., Any] = found[0].load()
    return factory
