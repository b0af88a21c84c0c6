"""The scenario catalog (products and issue types) for the /ticket form, read from its JSON file.

bot/ may not import pipeline/ beyond the models, so the file is read directly, lazily (at first form open)
and once per process.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.errors import CatalogUnavailableError


@dataclass(frozen=True)
class Catalog:
    """Products and issue types, in file order, without duplicates."""

    products: tuple[str, ...]
    issue_types: tuple[str, ...]


def parse_catalog(raw: object) -> Catalog:
    """Products from `products[].product`, issue types from `products[].issues[].issue_type`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), list):
        raise CatalogUnavailableError("catalog has no products list")
    products: dict[str, None] = {}
    issue_types: dict[str, None] = {}
    for entry in raw["products"]:
        name = str(entry.get("product", "")).strip()
        if name:
            products[name] = None
        for issue in entry.get("issues", []):
            issue_type = str(issue.get("issue_type", "")).strip()
            if issue_type:
                issue_types[issue_type] = None
    if not products or not issue_types:
        raise CatalogUnavailableError("catalog lists no products or no issue types")
    return Catalog(tuple(products), tuple(issue_types))


class FileCatalog:
    """Loads the catalog file at first use and keeps it."""

    def __init__(self, path: str | Path):
        self._path = Path(path)
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None

    def get(self) -> Catalog:
        """The catalog, or CatalogUnavailableError when the file is missing or malformed."""
        with self._lock:
            if self._catalog is None:
                try:
                    raw = json.loads(self._path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as e:
                    raise CatalogUnavailableError(f"cannot read the catalog at {self._path}") from e
                self._catalog = parse_catalog(raw)
            return self._catalog
