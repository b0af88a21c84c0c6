"""The scenario catalog (products and issue types) for the /ticket form, read from its JSON file.

Read lazily (at first form open) and once per process, by the one catalog reader of the contract.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.errors import CatalogUnavailableError
from contract.catalog import catalog_pairs
from contract.errors import ConfigurationError


@dataclass(frozen=True)
class Catalog:
    """Products and issue types, in file order, without duplicates."""

    products: tuple[str, ...]
    issue_types: tuple[str, ...]


def parse_catalog(raw: object) -> Catalog:
    """Products and issue types, read by the one catalog reader (contract/catalog.py)."""
    try:
        pairs = catalog_pairs(raw)
    except ConfigurationError as e:
        raise CatalogUnavailableError(str(e)) from e
    return Catalog(
        tuple(dict.fromkeys(product for product, _, _ in pairs)),
        tuple(dict.fromkeys(issue_type for _, issue_type, _ in pairs)),
    )


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
