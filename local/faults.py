"""Fault injection for the local adapters, configured by environment (never by domain code).

`TMS_FAULTS="llm_throttle:0.3,sentiment_error:0.05"` makes 30 % of reply-model calls raise a throttling
error and 5 % of sentiment calls fail. `TMS_FAULTS_SEED` makes the sequence of faults reproducible.
"""

from __future__ import annotations

import functools
import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from contract import names
from contract.errors import ConfigurationError

# Every fault a local adapter or the local runtime knows how to inject.
KNOWN_FAULTS: tuple[str, ...] = (
    "llm_throttle",  # reply model raises LlmThrottledError
    "llm_unavailable",  # reply model raises LlmUnavailableError
    "llm_invalid_output",  # reply model answers something that breaks the reply policy
    "sentiment_error",  # offline Comprehend DetectSentiment answers an error (no workflow step calls it)
    "pii_error",  # offline Comprehend DetectPiiEntities answers an error
    "dynamodb_throttle",
    "s3_error",
    "slack_429",
    "notifier_crash",
)


def parse_faults(spec: str) -> dict[str, float]:
    """Parse `name:probability,...` into a mapping; raises ConfigurationError naming what is wrong."""
    faults: dict[str, float] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition(":")
        name = name.strip()
        if not sep:
            raise ConfigurationError(f"{names.ENV_FAULTS}: {item!r} must be written name:probability")
        if name not in KNOWN_FAULTS:
            raise ConfigurationError(
                f"{names.ENV_FAULTS}: unknown fault {name!r}; known faults: {', '.join(KNOWN_FAULTS)}"
            )
        if name in faults:
            raise ConfigurationError(f"{names.ENV_FAULTS}: fault {name!r} is given twice")
        try:
            probability = float(value)
        except ValueError:
            raise ConfigurationError(
                f"{names.ENV_FAULTS}: probability of {name!r} must be a number, got {value.strip()!r}"
            ) from None
        if not 0.0 <= probability <= 1.0:  # also rejects NaN
            raise ConfigurationError(
                f"{names.ENV_FAULTS}: probability of {name!r} must be within [0, 1], got {value.strip()}"
            )
        faults[name] = probability
    return faults


@dataclass
class FaultPlan:
    """Which faults fire and how often; `should_fail` is safe to call from many threads."""

    probabilities: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _rngs: dict[str, random.Random] = field(default_factory=dict, init=False, repr=False)
    _fired: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.probabilities) - set(KNOWN_FAULTS))
        if unknown:
            raise ConfigurationError(f"unknown faults {unknown}; known faults: {', '.join(KNOWN_FAULTS)}")
        for name, p in self.probabilities.items():
            if not 0.0 <= p <= 1.0:
                raise ConfigurationError(f"probability of {name!r} must be within [0, 1], got {p}")
        self.probabilities = MappingProxyType(dict(self.probabilities))
        # One stream per fault: adding a fault to the plan does not change when the others fire.
        for name in self.probabilities:
            seed = None if self.seed is None else f"{self.seed}:{name}"
            self._rngs[name] = random.Random(seed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultPlan:
        """Build the plan from TMS_FAULTS and TMS_FAULTS_SEED."""
        env = os.environ if environ is None else environ
        seed_text = env.get(names.ENV_FAULTS_SEED, "").strip()
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError:
            raise ConfigurationError(
                f"{names.ENV_FAULTS_SEED} must be an integer, got {seed_text!r}"
            ) from None
        return cls(parse_faults(env.get(names.ENV_FAULTS, "")), seed=seed)

    @property
    def enabled(self) -> bool:
        """True when at least one fault can fire."""
        return any(p > 0 for p in self.probabilities.values())

    def should_fail(self, name: str) -> bool:
        """Draw once: True when the named fault fires this time."""
        if name not in KNOWN_FAULTS:
            raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(KNOWN_FAULTS)}")
        probability = self.probabilities.get(name, 0.0)
        if probability <= 0.0:
            return False
        with self._lock:
            fired = self._rngs[name].random() < probability
            if fired:
                self._fired[name] = self._fired.get(name, 0) + 1
        return fired

    def fired(self) -> dict[str, int]:
        """How many times each fault has fired so far (for chaos-test reports)."""
        with self._lock:
            return dict(self._fired)


@functools.cache
def active_plan() -> FaultPlan:
    """The process-wide plan from the environment, read once (`active_plan.cache_clear()` to reread)."""
    return FaultPlan.from_env()
