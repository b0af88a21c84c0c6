"""Local warehouse adapters: DuckDB (a file under the state dir, the default) and PostgreSQL
(`TMS_WAREHOUSE_URL=postgresql://...`). Both load a batch through a staging table and run the same
MERGE script as Redshift (sql/010_merge.sql)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from contract import erasure, names
from contract.errors import ConfigurationError
from contract.settings import masked_url
from glue.schema import TableSpec, merge_statements, spec
from local.stack import state_dir

LOCAL_SQL_DIR = names.SQL_DIR / "local"
DUCKDB_FILE = "warehouse.duckdb"


def split_sql(text: str) -> list[str]:
    """Statements of a SQL file (comments dropped; statements end with ';' at a line end)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip()]


# Redshift -> local (DuckDB, PostgreSQL 15): the only construct the views use that the local engines lack.
_LOCAL_DIALECT = (
    (
        re.compile(r"DATEDIFF\(\s*millisecond\s*,\s*(\w+)\s*,\s*(\w+)\s*\)", re.IGNORECASE),
        r"(EXTRACT(EPOCH FROM (\2 - \1)) * 1000)",
    ),
)


def to_local_dialect(sql: str) -> str:
    """Redshift SQL rewritten for the local engines; anything still Redshift-only is an error."""
    for pattern, replacement in _LOCAL_DIALECT:
        sql = pattern.sub(replacement, sql)
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())  # comments may name anything
    leftover = re.search(r"\b(DATEDIFF|DATEADD|GETDATE|NVL|DISTKEY|SORTKEY|ENCODE)\b", code, re.IGNORECASE)
    if leftover:
        raise ConfigurationError(f"no local translation for Redshift's {leftover.group(1)} in the views")
    return sql


LOCAL_TABLE_FILES = ("001_tickets.sql", "002_ticket_lifecycle.sql")


def local_ddl() -> list[str]:
    """The local dialect's DDL (tickets, ticket_lifecycle), then the Redshift views (sql/020_views.sql)
    translated to it."""
    return local_tables() + local_views()


def local_tables() -> list[str]:
    """The local dialect's CREATE TABLE statements."""
    return [stmt for name in LOCAL_TABLE_FILES for stmt in split_sql((LOCAL_SQL_DIR / name).read_text())]


def local_views() -> list[str]:
    """The Redshift views translated to the local dialect."""
    return split_sql(to_local_dialect((names.SQL_DIR / "020_views.sql").read_text()))


_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)\s*$", re.IGNORECASE | re.DOTALL)


def declared_columns() -> dict[str, list[tuple[str, str]]]:
    """Every local table's columns as declared (name, type without NULL/NOT NULL), in order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for stmt in local_tables():
        m = _CREATE_TABLE.match(stmt)
        if m is None:
            continue
        cols: list[tuple[str, str]] = []
        for line in m.group(2).splitlines():
            parts = line.strip().rstrip(",").split()
            if len(parts) < 2 or parts[0].upper() in ("PRIMARY", "UNIQUE", "CONSTRAINT"):
                continue
            type_ = " ".join(p for p in parts[1:] if p.upper() not in ("NOT", "NULL"))
            cols.append((parts[0], type_))
        out[m.group(1)] = cols
    return out


def upgrade_statements(existing: dict[str, set[str]]) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for every declared column an existing local table lacks: a warehouse made
    by an older tms keeps its rows and gains the new columns (NULL for the rows it already has)."""
    out = []
    for table, cols in declared_columns().items():
        have = existing.get(table)
        if not have:
            continue  # just created: nothing to add
        out += [f"ALTER TABLE {table} ADD COLUMN {name} {type_}" for name, type_ in cols if name not in have]
    return out


_COLUMNS_SQL = "SELECT table_name, column_name FROM information_schema.columns"


def _existing_columns(rows: list[tuple[Any, ...]]) -> dict[str, set[str]]:
    have: dict[str, set[str]] = {}
    for table, column in rows:
        have.setdefault(str(table), set()).add(str(column))
    return have


@dataclass(frozen=True)
class Batch:
    """One load: staged rows as Parquet files, the rejected records and every source object read."""

    parquet_glob: str | None
    rejects: list[dict[str, str]]
    sources_file: Path | None


class Warehouse(Protocol):
    """A warehouse the ETL can load and the report can read."""

    url: str

    def ensure_schema(self) -> None: ...

    def load(self, batch: Batch, table: TableSpec | None = None) -> tuple[int, int]:
        """Stage and merge a batch into `table` (default: tickets) in one transaction; (staged, merged)."""
        ...

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        """Delete a customer's rows (erasure); rows deleted per store name of contract/erasure.py."""
        ...

    def close(self) -> None: ...


def _counts(wh: Warehouse) -> dict[str, int]:
    _, rows = wh.query("SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM tickets_quarantine)")
    return {"warehouse_rows": int(rows[0][0]), "quarantined_rows": int(rows[0][1])}


# Erasure (contract/erasure.py): the customer's rows are deleted outright, not merged away. Their tickets are
# the ids erasure found plus every row carrying the address; quarantined records that mention either go too.
# `?` placeholders; PostgreSQL gets them as %s.
_ERASE_IDS = "SELECT ticket_id FROM tickets WHERE LOWER(customer_email) = ?"


# Retention (the local sweeper): rows processed (tickets) or changed (lifecycle) before the cutoff; the same
# definition Redshift's scheduled DELETEs are built from (contract/erasure.py RETAINED_TABLES).
_SWEEP = tuple(erasure.retention_statements("?"))


def _erase_statements(ids: list[str], address: str) -> list[tuple[str, str, list[Any]]]:
    """(store, DELETE, parameters): lifecycle rows, ticket rows, quarantined records of the customer."""
    marks = ", ".join("?" for _ in ids) or "NULL"
    quarantine_like = " OR ".join(["LOWER(record) LIKE ?"] + ["record LIKE ?" for _ in ids])
    like_params = [f"%{address}%"] + [f"%{t}%" for t in ids]
    return [
        (erasure.WAREHOUSE_LIFECYCLE, f"DELETE FROM ticket_lifecycle WHERE ticket_id IN ({marks})", ids),  # noqa: S608
        (erasure.WAREHOUSE_TICKETS, f"DELETE FROM tickets WHERE ticket_id IN ({marks})", ids),  # noqa: S608
        (
            erasure.WAREHOUSE_QUARANTINE,
            f"DELETE FROM tickets_quarantine WHERE {quarantine_like}",  # noqa: S608
            like_params,
        ),
    ]


class DuckDbWarehouse:
    """The embedded warehouse: one DuckDB file that survives restarts."""

    def __init__(self, path: Path):
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.url = f"duckdb://{path}"
        self._con = duckdb.connect(str(path))

    def ensure_schema(self) -> None:
        """Create tables when missing, add the columns an older warehouse lacks, then (re)create the views."""
        for stmt in local_tables():
            self._con.execute(stmt)
        have = _existing_columns(self._con.execute(_COLUMNS_SQL).fetchall())
        for stmt in upgrade_statements(have) + local_views():
            self._con.execute(stmt)

    def load(self, batch: Batch, table: TableSpec | None = None) -> tuple[int, int]:
        """Stage the Parquet batch, MERGE it into `table` (default: tickets), record the rejects; one
        transaction."""
        con = self._con
        t = table or spec()
        tgt, stg = t.table, t.staging_table  # identifiers from our own schema documents, never input
        cols = ", ".join(t.names)
        now = datetime.now(UTC).replace(tzinfo=None)
        con.begin()
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {stg} AS SELECT * FROM {tgt} LIMIT 0")  # noqa: S608
            if batch.parquet_glob:
                con.execute(
                    f"INSERT INTO {stg} ({cols}) SELECT {cols} FROM read_parquet(?)",  # noqa: S608
                    [batch.parquet_glob],
                )
            staged = int(_one(con, f"SELECT COUNT(*) FROM {stg}"))  # noqa: S608
            delete_stale, merge = merge_statements(table=t)
            con.execute(delete_stale)
            merged = int(_one(con, f"SELECT COUNT(*) FROM {stg}"))  # noqa: S608
            if merged:
                con.execute(merge).fetchall()
            if batch.sources_file:
                con.execute(
                    "DELETE FROM tickets_quarantine WHERE source IN "
                    "(SELECT source FROM read_csv(?, header = false, columns = {'source': 'VARCHAR'}, "
                    "delim = '\t', quote = '', escape = ''))",
                    [str(batch.sources_file)],
                )
            if batch.rejects:
                con.executemany(
                    "INSERT OR REPLACE INTO tickets_quarantine VALUES (?, ?, ?, ?)",
                    [(r["source"], r["reason"], r["record"], now) for r in batch.rejects],
                )
            con.execute(f"DROP TABLE {stg}")
            con.commit()
        except Exception:
            con.rollback()
            raise
        return staged, merged

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""
        cur = self._con.execute(sql)
        rows = cur.fetchall()
        return [d[0] for d in cur.description or []], rows

    def sweep(self, cutoff: datetime) -> dict[str, int]:
        """Delete the rows past their retention (`cutoff`: naive UTC); rows deleted per store."""
        con = self._con
        out: dict[str, int] = {}
        for store, sql in _SWEEP:
            out[store] = int(
                con.execute("SELECT COUNT(*)" + sql.removeprefix("DELETE"), [cutoff]).fetchall()[0][0]
            )
            con.execute(sql, [cutoff])
        return out

    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        """Delete the customer's rows in one transaction; rows deleted per store."""
        con = self._con
        con.begin()
        try:
            found = {str(r[0]) for r in con.execute(_ERASE_IDS, [address]).fetchall()}
            out: dict[str, int] = {}
            for store, sql, params in _erase_statements(sorted(found | ticket_ids), address):
                count = "SELECT COUNT(*)" + sql.removeprefix("DELETE")
                out[store] = int(con.execute(count, params).fetchall()[0][0])
                con.execute(sql, params)
            con.commit()
        except Exception:
            con.rollback()
            raise
        return out

    def counts(self) -> dict[str, int]:
        """Rows in the warehouse and in the local quarantine table."""
        return _counts(self)

    def close(self) -> None:
        """Close the file (DuckDB allows one writing process at a time)."""
        self._con.close()


def _one(con: Any, sql: str) -> Any:
    row = con.execute(sql).fetchall()  # fetchall, not fetchone: DuckDB keeps a half-read result open
    return row[0][0]


class PostgresWarehouse:
    """PostgreSQL 15 through psycopg: COPY into a temporary staging table, then the shared MERGE."""

    def __init__(self, url: str):
        import psycopg

        # What is shown and logged (tms report, tms cost, the ETL's bookmark scope): never the password.
        self.url = masked_url(url)
        self._con = psycopg.connect(url, autocommit=False)

    def ensure_schema(self) -> None:
        """Create tables when missing, add the columns an older warehouse lacks, then (re)create the views."""
        with self._con.transaction(), self._con.cursor() as cur:
            for stmt in local_tables():
                cur.execute(stmt)  # type: ignore[call-overload]
            cur.execute(_COLUMNS_SQL + " WHERE table_schema = current_schema()")
            have = _existing_columns(cur.fetchall())
            for stmt in upgrade_statements(have) + local_views():
                cur.execute(stmt)  # type: ignore[call-overload]

    def load(self, batch: Batch, table: TableSpec | None = None) -> tuple[int, int]:
        """Stage the Parquet batch with COPY, MERGE it into `table` (default: tickets), record the rejects;
        one transaction."""
        t = table or spec()
        tgt, stg = t.table, t.staging_table  # identifiers from our own schema documents, never input
        names_ = t.names
        cols = ", ".join(names_)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._con.transaction(), self._con.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE {stg} (LIKE {tgt} INCLUDING DEFAULTS) ON COMMIT DROP")  # type: ignore[call-overload]
            if batch.parquet_glob:
                with cur.copy(f"COPY {stg} ({cols}) FROM STDIN") as copy:  # type: ignore[arg-type]
                    for row in _parquet_rows(batch.parquet_glob, names_):
                        copy.write_row(row)
            staged = _pg_one(cur, f"SELECT COUNT(*) FROM {stg}")  # noqa: S608
            delete_stale, merge = merge_statements(table=t)
            cur.execute(delete_stale)  # type: ignore[call-overload]
            merged = _pg_one(cur, f"SELECT COUNT(*) FROM {stg}")  # noqa: S608
            if merged:
                cur.execute(merge)  # type: ignore[call-overload]
            if batch.sources_file:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS etl_sources (source VARCHAR) ON COMMIT DROP")
                with cur.copy("COPY etl_sources (source) FROM STDIN") as copy:
                    for line in batch.sources_file.read_text().splitlines():
                        copy.write_row((line,))
                cur.execute("DELETE FROM tickets_quarantine WHERE source IN (SELECT source FROM etl_sources)")
            if batch.rejects:
                cur.executemany(
                    "INSERT INTO tickets_quarantine VALUES (%s, %s, %s, %s) ON CONFLICT (source) DO UPDATE "
                    "SET reason = EXCLUDED.reason, record = EXCLUDED.record, quarantined_at = EXCLUDED.quarantined_at",
                    [(r["source"], r["reason"], r["record"], now) for r in batch.rejects],
                )
        return staged, merged

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""
        with self._con.transaction(), self._con.cursor() as cur:
            cur.execute(sql)  # type: ignore[call-overload]
            rows = cur.fetchall()
            return [d.name for d in cur.description or []], rows

    def sweep(self, cutoff: datetime) -> dict[str, int]:
        """Delete the rows past their retention (`cutoff`: naive UTC); rows deleted per store."""
        out: dict[str, int] = {}
        with self._con.transaction(), self._con.cursor() as cur:
            for store, sql in _SWEEP:
                cur.execute(sql.replace("?", "%s"), [cutoff])  # type: ignore[call-overload]
                out[store] = max(cur.rowcount, 0)
        return out

    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        """Delete the customer's rows in one transaction; rows deleted per store."""
        out: dict[str, int] = {}
        with self._con.transaction(), self._con.cursor() as cur:
            cur.execute(_ERASE_IDS.replace("?", "%s"), [address])  # type: ignore[call-overload]
            found = {str(r[0]) for r in cur.fetchall()}
            for store, sql, params in _erase_statements(sorted(found | ticket_ids), address):
                cur.execute(sql.replace("?", "%s"), params)  # type: ignore[call-overload]
                out[store] = max(cur.rowcount, 0)
        return out

    def counts(self) -> dict[str, int]:
        """Rows in the warehouse and in the local quarantine table."""
        return _counts(self)

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


def _pg_one(cur: Any, sql: str) -> int:
    cur.execute(sql)
    return int(cur.fetchone()[0])


def _parquet_rows(glob: str, columns: list[str]) -> Any:
    """Rows of the staged Parquet files, read with an in-memory DuckDB (no pyarrow needed)."""
    import duckdb

    con = duckdb.connect()
    try:
        cur = con.execute(f"SELECT {', '.join(columns)} FROM read_parquet(?)", [glob])  # noqa: S608
        while chunk := cur.fetchmany(5000):
            yield from chunk
    finally:
        con.close()


def default_duckdb_path() -> Path:
    """The embedded warehouse file: <state dir>/warehouse.duckdb."""
    return state_dir() / DUCKDB_FILE


def open_warehouse(url: str | None = None) -> DuckDbWarehouse | PostgresWarehouse:
    """The warehouse for `url` (else TMS_WAREHOUSE_URL, else the embedded DuckDB file), schema ensured."""
    url = url or os.environ.get(names.ENV_WAREHOUSE_URL) or None
    wh: DuckDbWarehouse | PostgresWarehouse
    if url is None:
        wh = DuckDbWarehouse(default_duckdb_path())
    elif url.startswith(("postgresql://", "postgres://")):
        wh = PostgresWarehouse(url)
    elif url.startswith("duckdb://"):
        wh = DuckDbWarehouse(Path(url.removeprefix("duckdb://")))
    else:
        raise ConfigurationError(
            f"{names.ENV_WAREHOUSE_URL} must be postgresql://... or duckdb:///abs/path, got {url.split(':')[0]}:..."
        )
    wh.ensure_schema()
    return wh
