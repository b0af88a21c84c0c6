"""Pure DataFrame -> DataFrame steps of the tickets ETL. No I/O here: the same functions run on Glue and
on local Spark.

Input contract: a DataFrame with `value` (one raw JSON line) and `source` (the object it came from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from glue.schema import CORRUPT_COLUMN, ColumnSpec, TableSpec, raw_schema, spec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Session settings the transforms rely on; the Glue job and the local session both apply them.
# Constraint propagation: the optimizer infers constraints from every alias of the ~70 validation
# expressions and runs out of memory planning the dedupe window (seen on Spark 3.5.9 with 1 GB).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.constraintPropagation.enabled": "false",
}

REASON = "reason"
SOURCE = "source"
VALUE = "value"
MALFORMED = "malformed JSON: not one JSON object"
EMPTY = "empty record"


def parse_lines(lines: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """Parse each JSON line into string columns (one per warehouse column); malformed lines keep nulls."""
    table = table or spec()
    parsed = F.from_json(
        F.col(VALUE),
        raw_schema(table),
        {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN},
    )
    # inline(array(struct)) turns the struct into columns through a generator, which the optimizer does not
    # see through: a plain `parsed.field` select gets collapsed into one from_json per field reference
    # (40 parses per record once the checks are added).
    return lines.select(
        F.coalesce(F.col(VALUE), F.lit("")).alias(VALUE),
        F.col(SOURCE),
        F.inline(F.array(parsed)),
    )


def _typed(c: ColumnSpec) -> Column:
    raw = F.col(c.name)
    if c.kind == "timestamp":
        # Parsed as an instant (the session time zone is UTC), stored as UTC wall-clock like Redshift's TIMESTAMP.
        return raw.cast("timestamp").cast("timestamp_ntz")
    if c.kind == "double":
        return raw.cast("double")
    if c.kind == "bigint":
        # Through decimal: a plain cast of "1.5" to long truncates it to 1 instead of refusing it.
        exact = raw.cast("decimal(38,0)")
        return F.when(exact == raw.cast("decimal(38,10)"), exact.cast("long"))
    if c.kind == "boolean":
        flag = F.when(F.lower(F.trim(raw)).isin("true", "false"), F.lower(F.trim(raw)) == F.lit("true"))
        return F.coalesce(flag, F.lit(c.default)) if c.default is not None else flag
    value = F.trim(raw)  # the model strips surrounding whitespace before it checks anything
    if c.default is not None:
        value = F.coalesce(value, F.lit(c.default))
    return value


def _problems(c: ColumnSpec, typed: Column) -> list[Column]:
    raw = F.col(c.name)
    name = c.name
    checks: list[Column] = []
    if c.required:
        checks.append(F.when(raw.isNull(), F.lit(f"{name}: missing")))
    if c.kind == "timestamp":
        checks.append(F.when(raw.isNotNull() & typed.isNull(), F.lit(f"{name}: not an ISO-8601 timestamp")))
    elif c.kind == "boolean":
        # Checked on the raw text: the typed value already holds the default in place of a bad one.
        flag_text = F.lower(F.trim(raw))
        checks.append(
            F.when(raw.isNotNull() & ~flag_text.isin("true", "false"), F.lit(f"{name}: not true or false"))
        )
    elif c.kind in ("double", "bigint"):
        what = "a number" if c.kind == "double" else "an integer"
        checks.append(F.when(raw.isNotNull() & typed.isNull(), F.lit(f"{name}: not {what}")))
        if c.minimum is not None:
            checks.append(F.when(typed < F.lit(c.minimum), F.lit(f"{name}: below {c.minimum}")))
        if c.maximum is not None:
            checks.append(F.when(typed > F.lit(c.maximum), F.lit(f"{name}: above {c.maximum}")))
    else:
        if c.non_blank:
            checks.append(F.when(raw.isNotNull() & (typed == F.lit("")), F.lit(f"{name}: blank")))
        if c.allowed:
            checks.append(
                F.when(
                    raw.isNotNull() & ~typed.isin(*c.allowed),
                    F.concat(
                        F.lit(f"{name}: not one of {', '.join(c.allowed)}: "), F.substring(typed, 1, 40)
                    ),
                )
            )
        if c.pattern:
            checks.append(F.when(raw.isNotNull() & ~typed.rlike(c.pattern), F.lit(f"{name}: bad format")))
        if c.max_bytes is not None:
            size = F.octet_length(typed)
            checks.append(
                F.when(
                    size > F.lit(c.max_bytes),
                    F.concat(F.lit(f"{name}: "), size.cast("string"), F.lit(f" bytes, over {c.max_bytes}")),
                )
            )
    return checks


def _typed_name(name: str) -> str:
    return f"_typed_{name}"


def validate(parsed: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """Cast every column to its warehouse type and add `reason` (null when the record is valid)."""
    table = table or spec()
    # Cast once into their own columns: the checks then read a column instead of re-expanding each cast,
    # which keeps the generated code small (and fast to compile).
    typed = parsed.select(
        VALUE,
        SOURCE,
        CORRUPT_COLUMN,
        *[F.col(c.name) for c in table.columns],
        *[_typed(c).alias(_typed_name(c.name)) for c in table.columns],
    )
    problems = [p for c in table.columns for p in _problems(c, F.col(_typed_name(c.name)))]
    joined = F.concat_ws("; ", *problems)
    reason = (
        F.when(F.trim(F.col(VALUE)) == F.lit(""), F.lit(EMPTY))
        .when(F.col(CORRUPT_COLUMN).isNotNull(), F.lit(MALFORMED))
        .when(joined == F.lit(""), F.lit(None).cast("string"))
        .otherwise(joined)
    )
    return typed.select(
        VALUE,
        SOURCE,
        *[F.col(_typed_name(c.name)).alias(c.name) for c in table.columns],
        reason.alias(REASON),
    )


def valid_rows(validated: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """The records without a problem, as typed warehouse rows (plus `source`)."""
    table = table or spec()
    return validated.where(F.col(REASON).isNull()).select(*table.names, SOURCE)


def rejected_rows(validated: DataFrame) -> DataFrame:
    """The records with a problem: where they came from, why, and the raw line."""
    return validated.where(F.col(REASON).isNotNull()).select(SOURCE, REASON, VALUE)


def dedupe_latest(rows: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """One row per ticket_id: the latest processed_at wins (ties broken by source, so runs agree)."""
    table = table or spec()
    order = Window.partitionBy(table.key).orderBy(F.col(table.version_column).desc(), F.col(SOURCE).desc())
    return rows.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") == 1).drop("_rank")


def to_warehouse(rows: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """Only the warehouse columns, in table order, with their declared types."""
    table = table or spec()
    return rows.select(*table.names)


def for_staging(validated: DataFrame, table: TableSpec | None = None) -> DataFrame:
    """Validated records -> the staging batch: valid, one per ticket_id, warehouse columns only."""
    table = table or spec()
    return to_warehouse(dedupe_latest(valid_rows(validated, table), table), table)


def prepare(lines: DataFrame, table: TableSpec | None = None) -> tuple[DataFrame, DataFrame]:
    """Raw lines -> (the staging batch; rejected rows with reasons). Cache `validate` yourself to reuse it."""
    table = table or spec()
    validated = validate(parse_lines(lines, table), table)
    return for_staging(validated, table), rejected_rows(validated)
