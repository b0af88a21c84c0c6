"""How the local runtime changes moto: each change is a `Patch` that names the attributes it replaces,
checked to exist before anything is replaced (assigning an attribute always succeeds, so a moto refactor
would otherwise un-apply a patch without a word), applied once, and revertible to moto's own value."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from contract.errors import ConfigurationError


class MotoPatchError(ConfigurationError):
    """moto is not the version, or lacks an attribute, the local runtime's patches were written for."""


@dataclass(frozen=True)
class Patch:
    """One change to moto: what it replaces (`targets`), why (one line), and the function that applies it."""

    name: str
    purpose: Literal["emulation", "speed"]
    targets: tuple[str, ...]  # "module:Class.attribute" or "module:attribute"
    why: str
    apply: Callable[[], None]


_MISSING = object()
# (owner, attribute) -> the value in the owner's own namespace before the first patch (or _MISSING).
_originals: dict[tuple[Any, str], Any] = {}
_applied: set[str] = set()


def resolve(target: str) -> tuple[Any, str]:
    """The object that holds `target`'s attribute, and the attribute's name."""
    module_name, _, path = target.partition(":")
    *owner_path, attribute = path.split(".")
    owner: Any = importlib.import_module(module_name)
    for part in owner_path:
        owner = getattr(owner, part)
    return owner, attribute


def missing_targets(patches: Iterable[Patch]) -> list[str]:
    """Every target of `patches` that the installed moto does not have."""
    missing = []
    for patch in patches:
        for target in patch.targets:
            try:
                owner, attribute = resolve(target)
            except (ImportError, AttributeError):
                missing.append(target)
                continue
            if not hasattr(owner, attribute):
                missing.append(target)
    return missing


def replace(target: str, value: Any) -> None:
    """Set `target` to `value`, remembering moto's own value the first time."""
    owner, attribute = resolve(target)
    _originals.setdefault((owner, attribute), vars(owner).get(attribute, _MISSING))
    setattr(owner, attribute, value)


def moto_value(target: str) -> Any:
    """What `target` holds in moto itself, patched or not (as found in the owner's own namespace)."""
    owner, attribute = resolve(target)
    return _originals.get((owner, attribute), vars(owner).get(attribute, _MISSING))


def is_applied(patch: Patch) -> bool:
    """Whether `patch` is in place in this process."""
    return patch.name in _applied


def apply(patch: Patch) -> None:
    """Apply `patch` unless it is in place already (patches wrap moto's value: never wrap twice)."""
    if patch.name not in _applied:
        patch.apply()
        _applied.add(patch.name)


def revert(patch: Patch) -> None:
    """Put moto's own values back in `patch`'s targets."""
    if patch.name not in _applied:
        return
    for target in patch.targets:
        owner, attribute = resolve(target)
        if (owner, attribute) not in _originals:
            continue
        original = _originals.pop((owner, attribute))
        if original is _MISSING:
            if attribute in vars(owner):
                delattr(owner, attribute)
        else:
            setattr(owner, attribute, original)
    _applied.discard(patch.name)


@contextmanager
def applied(patch: Patch) -> Iterator[None]:
    """`patch` in place for the block; reverted after unless it was in place before (a test's view)."""
    before = is_applied(patch)
    apply(patch)
    try:
        yield
    finally:
        if not before:
            revert(patch)
