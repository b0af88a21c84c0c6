"""The scenario catalog: AWS products, their issue types and the weighted sentiment targets.

The catalog is data (`pipeline/data/catalog.json`); this module loads it once and checks its shape, so a
typo in the file fails at import with a message rather than producing odd tickets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pipeline.errors import ConfigurationError, TmsError
from pipeline.models import ISSUE_TYPE_MAX, PRODUCT_MAX

SENTIMENT_TARGET_NAMES = ("NEGATIVE", "SLIGHTLY NEGATIVE", "NEUTRAL", "SLIGHTLY POSITIVE", "POSITIVE")


class UnknownProductError(TmsError):
    """A product or issue type that is not in the scenario catalog."""


@dataclass(frozen=True)
class Scenario:
    """One product/issue pair with the neutral facts the generator builds a ticket from."""

    product: str
    issue_type: str
    resource: str
    topic: str
    symptoms: tuple[str, ...]
    tried: str


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigurationError(f"scenario catalog: {message}")


def parse_catalog(raw: dict[str, Any]) -> tuple[tuple[Scenario, ...], dict[str, float]]:
    """Validate the catalog document and return its scenarios and sentiment weights."""
    weights = raw.get("sentiment_targets")
    if not isinstance(weights, dict):
        raise ConfigurationError("scenario catalog: sentiment_targets must be an object")
    _require(
        tuple(weights) == SENTIMENT_TARGET_NAMES,
        f"sentiment_targets must list {', '.join(SENTIMENT_TARGET_NAMES)} in that order",
    )
    _require(abs(sum(weights.values()) - 1.0) < 1e-9, "sentiment target weights must sum to 1")
    scenarios: list[Scenario] = []
    seen: set[tuple[str, str]] = set()
    for entry in raw.get("products", []):
        product = entry.get("product", "")
        _require(bool(product) and len(product.encode()) <= PRODUCT_MAX, f"bad product name {product!r}")
        _require(bool(entry.get("issues")), f"{product} has no issue types")
        for issue in entry["issues"]:
            issue_type = issue.get("issue_type", "")
            _require(
                bool(issue_type) and len(issue_type.encode()) <= ISSUE_TYPE_MAX,
                f"bad issue type {issue_type!r} for {product}",
            )
            _require((product, issue_type) not in seen, f"duplicate pair {product} / {issue_type}")
            _require(bool(issue.get("symptoms")), f"{product} / {issue_type} has no symptoms")
            seen.add((product, issue_type))
            scenarios.append(
                Scenario(
                    product=product,
                    issue_type=issue_type,
                    resource=entry.get("resource", "{name}"),
                    topic=issue.get("topic") or issue_type.lower(),
                    symptoms=tuple(issue["symptoms"]),
                    tried=issue.get("tried", ""),
                )
            )
    _require(bool(scenarios), "no scenarios")
    return tuple(scenarios), dict(weights)


@cache
def _load() -> tuple[tuple[Scenario, ...], dict[str, float]]:
    text = resources.files("pipeline").joinpath("data/catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


SCENARIOS: tuple[Scenario, ...] = _load()[0]
SENTIMENT_WEIGHTS: dict[str, float] = _load()[1]


def products() -> list[str]:
    """Every product in the catalog, in catalog order."""
    return list(dict.fromkeys(s.product for s in SCENARIOS))


def issue_types(product: str) -> list[str]:
    """The issue types of `product`; an unknown product raises UnknownProductError."""
    found = [s.issue_type for s in SCENARIOS if s.product == product]
    if not found:
        raise UnknownProductError(f"unknown product {product!r}; known products: {', '.join(products())}")
    return found


def scenarios_for(product_names: list[str] | None) -> tuple[Scenario, ...]:
    """The scenarios of the given products (all when None); unknown names raise UnknownProductError."""
    if not product_names:
        return SCENARIOS
    known = set(products())
    unknown = [p for p in product_names if p not in known]
    if unknown:
        raise UnknownProductError(
            f"unknown product(s): {', '.join(map(repr, unknown))}; see `tms generate --list-products`"
        )
    wanted = set(product_names)
    return tuple(s for s in SCENARIOS if s.product in wanted)
