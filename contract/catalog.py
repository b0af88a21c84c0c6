"""The scenario catalog: AWS products, their issue types and the weighted sentiment targets.

The catalog is data (`contract/data/catalog.json`); this module loads it once and checks its shape, so a
typo in the file fails at import with a message rather than producing odd tickets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from contract import defaults
from contract.errors import ConfigurationError, TmsError
from contract.models import ISSUE_TYPE_MAX, PRODUCT_MAX

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


def catalog_pairs(raw: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (product, issue type, issue entry) of a catalog document, in file order: the one reading of
    its shape, for the /ticket form (bot/adapters/catalog.py) and the generator (parse_catalog below)."""
    _require(isinstance(raw, dict) and isinstance(raw.get("products"), list), "no products list")
    pairs: list[tuple[str, str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for entry in raw["products"]:
        product = str(entry.get("product", "")).strip() if isinstance(entry, dict) else ""
        _require(bool(product) and len(product.encode()) <= PRODUCT_MAX, f"bad product name {product!r}")
        issues = entry.get("issues")
        _require(isinstance(issues, list) and bool(issues), f"{product} has no issue types")
        for issue in issues:
            issue_type = str(issue.get("issue_type", "")).strip() if isinstance(issue, dict) else ""
            _require(
                bool(issue_type) and len(issue_type.encode()) <= ISSUE_TYPE_MAX,
                f"bad issue type {issue_type!r} for {product}",
            )
            _require((product, issue_type) not in seen, f"duplicate pair {product} / {issue_type}")
            seen.add((product, issue_type))
            pairs.append((product, issue_type, issue))
    _require(bool(pairs), "no scenarios")
    return pairs


def parse_catalog(raw: dict[str, Any]) -> tuple[tuple[Scenario, ...], dict[str, float]]:
    """Validate the catalog document and return its scenarios and sentiment weights."""
    weights = raw.get("sentiment_targets") if isinstance(raw, dict) else None
    if not isinstance(weights, dict):
        raise ConfigurationError("scenario catalog: sentiment_targets must be an object")
    _require(
        tuple(weights) == SENTIMENT_TARGET_NAMES,
        f"sentiment_targets must list {', '.join(SENTIMENT_TARGET_NAMES)} in that order",
    )
    _require(abs(sum(weights.values()) - 1.0) < 1e-9, "sentiment target weights must sum to 1")
    resources_by_product = {
        e.get("product", "").strip(): e.get("resource", "{name}") for e in raw["products"]
    }
    scenarios: list[Scenario] = []
    for product, issue_type, issue in catalog_pairs(raw):
        _require(bool(issue.get("symptoms")), f"{product} / {issue_type} has no symptoms")
        scenarios.append(
            Scenario(
                product=product,
                issue_type=issue_type,
                resource=resources_by_product.get(product, "{name}"),
                topic=issue.get("topic") or issue_type.lower(),
                symptoms=tuple(issue["symptoms"]),
                tried=issue.get("tried", ""),
            )
        )
    return tuple(scenarios), dict(weights)


def read_catalog_file(path: Path | None = None) -> Any:
    """The catalog document: the file at `path`, else the one shipped in this package."""
    if path is None:
        text = resources.files("contract").joinpath(defaults.CATALOG_RESOURCE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _load() -> tuple[tuple[Scenario, ...], dict[str, float]]:
    return parse_catalog(read_catalog_file())


def __getattr__(name: str) -> Any:
    # SCENARIOS and SENTIMENT_WEIGHTS load on first use: the bot imports this module for catalog_pairs and
    # must not parse the whole file at every cold start.
    if name == "SCENARIOS":
        return _load()[0]
    if name == "SENTIMENT_WEIGHTS":
        return _load()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def products() -> list[str]:
    """Every product in the catalog, in catalog order."""
    return list(dict.fromkeys(s.product for s in _load()[0]))


def issue_types(product: str) -> list[str]:
    """The issue types of `product`; an unknown product raises UnknownProductError."""
    found = [s.issue_type for s in _load()[0] if s.product == product]
    if not found:
        raise UnknownProductError(f"unknown product {product!r}; known products: {', '.join(products())}")
    return found


def scenarios_for(product_names: list[str] | None) -> tuple[Scenario, ...]:
    """The scenarios of the given products (all when None); unknown names raise UnknownProductError."""
    if not product_names:
        return _load()[0]
    known = set(products())
    unknown = [p for p in product_names if p not in known]
    if unknown:
        raise UnknownProductError(
            f"unknown product(s): {', '.join(map(repr, unknown))}; see `tms generate --list-products`"
        )
    wanted = set(product_names)
    return tuple(s for s in _load()[0] if s.product in wanted)
