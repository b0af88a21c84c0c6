"""The local runtime's changes to moto, split by purpose (STYLE.md rule 16: private patches are pinned,
checked and compared with moto's own answers):

- `emulation`: moto made to behave like AWS where it cannot offline, or our handlers, offline models,
  pollers and fault injection plugged in at the AWS API edge. The local stack needs every one.
- `speed`: caches and short paths that give moto's own answers faster. `TMS_LOCAL_SPEED_PATCHES=off`
  leaves them all out.

The patches reach into moto's internals, so they are applied only to the moto they were written for
(`MOTO_VERSION`, pinned in pyproject.toml), and only when every attribute they replace exists.
`install()` is idempotent and process-wide: one local stack per process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any

from contract import names
from contract.errors import ConfigurationError
from local.lambdas import LocalLambdas
from local.moto import emulation, patching, speed
from local.moto.emulation import (
    STATE,
    AsyncInvoker,
    PatchState,
    gate_writes,
    retry_wait_scale,
    watch_schedules,
    watch_streams,
)
from local.moto.patching import MotoPatchError, Patch

__all__ = [
    "MOTO_VERSION",
    "STATE",
    "AsyncInvoker",
    "MotoPatchError",
    "Patch",
    "PatchState",
    "apply_patches",
    "check_moto",
    "gate_writes",
    "install",
    "retry_wait_scale",
    "speed_patches_enabled",
    "watch_schedules",
    "watch_streams",
]

# The moto release every patch here was written against and checked on; pyproject.toml pins the same one.
MOTO_VERSION = "5.2.5"

_install_lock = threading.Lock()


def speed_patches_enabled() -> bool:
    """TMS_LOCAL_SPEED_PATCHES: "on" (the default) or "off" (moto's own code paths, slower)."""
    raw = os.environ.get(names.ENV_LOCAL_SPEED_PATCHES, "").strip().lower()
    if raw in ("", "on"):
        return True
    if raw == "off":
        return False
    raise ConfigurationError(
        f"{names.ENV_LOCAL_SPEED_PATCHES}={raw!r}: expected on or off (off = none of moto's speed patches)"
    )


def check_moto(*, speed_patches: bool, installed: str | None = None) -> None:
    """Refuse a moto other than MOTO_VERSION, or one lacking an attribute a patch to apply replaces."""
    installed = installed or metadata.version("moto")
    if installed != MOTO_VERSION:
        raise MotoPatchError(
            f"moto {installed} is installed but the local runtime's patches were written for {MOTO_VERSION}; "
            "run make install"
        )
    wanted = emulation.PATCHES + (speed.PATCHES if speed_patches else ())
    missing = patching.missing_targets(wanted)
    if missing:
        raise MotoPatchError(
            f"moto {installed} lacks what the local runtime's patches replace ({', '.join(missing)}); "
            "the patches in local/moto/ need updating"
        )


def apply_patches(*, speed_patches: bool) -> None:
    """Every emulation patch, and the speed patches if `speed_patches` (else moto's own code back in their
    place), after checking that moto is the one they were written for. Nothing is patched if not."""
    check_moto(speed_patches=speed_patches)
    for patch in emulation.PATCHES:
        patching.apply(patch)
    for patch in speed.PATCHES:
        if speed_patches:
            patching.apply(patch)
        else:
            patching.revert(patch)


def install(
    lambdas: LocalLambdas,
    sentiment: Callable[[str, str], dict[str, Any]],
    should_fail: Callable[[str], bool],
    async_workers: int = 4,
    retry_wait_scale: float = 1.0,
    speed_patches: bool | None = None,
) -> AsyncInvoker:
    """Route moto's Lambda, SNS->Lambda and Comprehend to our local adapters, with the speed patches
    unless `speed_patches` (default: TMS_LOCAL_SPEED_PATCHES) is off (idempotent)."""
    speed_on = speed_patches_enabled() if speed_patches is None else speed_patches
    with _install_lock:
        apply_patches(speed_patches=speed_on)
        if STATE.invoker is not None:
            STATE.invoker.stop()
        STATE.lambdas = lambdas
        STATE.sentiment = sentiment
        STATE.should_fail = should_fail
        STATE.invoker = AsyncInvoker(lambdas, workers=async_workers)
        STATE.invoker.start()
        STATE.retry_wait_scale = retry_wait_scale
        return STATE.invoker
