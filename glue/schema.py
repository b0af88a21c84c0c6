"""The warehouse schema as the Glue job sees it: read from glue/schema.json (generated from
`contract.models`), turned into Spark types and the staging + MERGE statements.

Depends only on the standard library and pyspark, so the script runs on Glue without our package's
dependencies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_JSON = Path(__file__).with_name("schema.json")
# The ticket_lifecycle table (contract.models.TicketLifecycle): one row per ticket, the latest revision.
LIFECYCLE_SCHEMA_JSON = Path(__file__).with_name("lifecycle_schema.json")
CORRUPT_COLUMN = "_corrupt_record"


@dataclass(frozen=True)
class ColumnSpec:
    """One warehouse column with the validation rules of its model field."""

    name: str
    kind: str  # varchar | timestamp | double | bigint | boolean
    max_bytes: int | None
    nullable: bool
    required: bool
    default: Any = None
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    non_blank: bool = False


@dataclass(frozen=True)
class TableSpec:
    """The target table: its columns, merge key and version column."""

    table: str
    staging_table: str
    key: str
    version_column: str
    columns: tuple[ColumnSpec, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]


def table_spec(doc: dict[str, Any]) -> TableSpec:
    """A TableSpec from a schema document (the parsed glue/schema.json)."""
    cols = tuple(
        ColumnSpec(
            name=c["name"],
            kind=c["kind"],
            max_bytes=c.get("max_bytes"),
            nullable=c["nullable"],
            required=c["required"],
            default=c.get("default"),
            allowed=tuple(c.get("allowed", ())),
            pattern=c.get("pattern"),
            minimum=c.get("minimum"),
            maximum=c.get("maximum"),
            non_blank=c.get("non_blank", False),
        )
        for c in doc["columns"]
    )
    return TableSpec(doc["table"], doc["staging_table"], doc["key"], doc["version_column"], cols)


@cache
def load_document(path: Path | None = None, name: str = SCHEMA_JSON.name) -> dict[str, Any]:
    """A parsed schema document, glue/schema.json by default (read as package data, so it also loads from
    Glue's --extra-py-files zip)."""
    if path is not None:
        text = path.read_text()
    else:
        from importlib import resources

        text = resources.files(__package__ or "glue").joinpath(name).read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def spec() -> TableSpec:
    """The shipped tickets table spec."""
    return table_spec(load_document())


def lifecycle_spec() -> TableSpec:
    """The shipped ticket_lifecycle table spec."""
    return table_spec(load_document(name=LIFECYCLE_SCHEMA_JSON.name))


def _spark_kinds() -> dict[str, Any]:
    from pyspark.sql import types as T

    return {
        "varchar": T.StringType(),
        "timestamp": T.TimestampNTZType(),
        "double": T.DoubleType(),
        "bigint": T.LongType(),
        "boolean": T.BooleanType(),
    }


def spark_schema(table: TableSpec | None = None) -> Any:
    """The typed Spark StructType of a warehouse row (timestamps are UTC wall-clock, TIMESTAMP_NTZ)."""
    from pyspark.sql import types as T

    kinds = _spark_kinds()
    table = table or spec()
    return T.StructType([T.StructField(c.name, kinds[c.kind], c.nullable) for c in table.columns])


def raw_schema(table: TableSpec | None = None) -> Any:
    """Every column as a string, plus the corrupt-record column: what a JSON line is parsed into first."""
    from pyspark.sql import types as T

    table = table or spec()
    fields = [T.StructField(c.name, T.StringType(), True) for c in table.columns]
    return T.StructType([*fields, T.StructField(CORRUPT_COLUMN, T.StringType(), True)])


def merge_statements(doc: dict[str, Any] | None = None, table: TableSpec | None = None) -> list[str]:
    """Staging → target: drop staged rows that are not newer, then MERGE on the key.

    The same text runs on Redshift, PostgreSQL 15 and DuckDB. Redshift's MERGE takes no extra condition
    on WHEN MATCHED, so "only a newer processed_at wins" is the DELETE before it.
    """
    t = table or table_spec(doc or load_document())
    tgt, stg, key, ver = t.table, t.staging_table, t.key, t.version_column
    others = [n for n in t.names if n != key]
    sets = ",\n    ".join(f"{n} = {stg}.{n}" for n in others)
    cols = ", ".join(t.names)
    vals = ", ".join(f"{stg}.{n}" for n in t.names)
    # Identifiers only, all from schema.json (generated from the model): nothing user-supplied.
    return [
        f"DELETE FROM {stg}\nUSING {tgt}\nWHERE {stg}.{key} = {tgt}.{key}\n  AND {tgt}.{ver} >= {stg}.{ver}",  # noqa: S608
        f"MERGE INTO {tgt}\nUSING {stg}\nON {tgt}.{key} = {stg}.{key}\n"  # noqa: S608
        f"WHEN MATCHED THEN UPDATE SET\n    {sets}\n"
        f"WHEN NOT MATCHED THEN INSERT ({cols})\n    VALUES ({vals})",
    ]


def merge_script(doc: dict[str, Any] | None = None) -> str:
    """The text of sql/010_merge.sql (or, for the lifecycle document, sql/011_merge_lifecycle.sql)."""
    d = doc or load_document()
    header = (
        f"-- Staging -> target upsert on {d['key']} (the newest {d['version_column']} wins). Generated from\n"
        "-- contract/models/ by `python -m tools.analytics.contract`; a contract test fails when it\n"
        "-- drifts. Runs unchanged on Redshift, PostgreSQL 15 and DuckDB, after the batch (deduplicated: one\n"
        f"-- row per {d['key']}) is loaded into {d['staging_table']}. Re-runs and older replays change nothing.\n"
    )
    body = ";\n\n".join(merge_statements(d)) + ";\n"
    return header + "\n" + body
