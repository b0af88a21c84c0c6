"""The Glue 5 job (Spark 3.5, Python 3.11): new archive objects -> validate -> Redshift via staging + MERGE,
then (with --lifecycle_path) the new lifecycle records -> ticket_lifecycle the same way, each with its own
bookmark.

Which objects are new is decided by contract/manifests.py, the same code `tms etl` runs locally: the manifest
markers the writers put under --manifest_path since the feed's bookmark (one listing that follows the new
data, not the history; a re-processed old ticket has a new marker), or the whole prefix on a full load (no
bookmark yet, `--full true`, or a bookmark older than the markers' retention). The bookmarks are ours, JSON
objects under --state_path, saved after each feed's MERGE committed; Glue's own job bookmark is disabled
(it can only filter a full listing by last-modified time).

Arguments, I/O and bookmarks live here; every DataFrame step is in glue/transforms.py. Ship glue/ as the
job's --extra-py-files (it needs schema.json next to schema.py). Locally the same transforms run through
tools/analytics/runner.py, which replaces only the I/O (S3 copy, local bookmark, DuckDB/PostgreSQL).

Job arguments: --JOB_NAME --source_path s3://bucket/tickets/ --quarantine_path s3://bucket/quarantine/etl/
--redshift_connection <Glue connection> --redshift_database <db> --TempDir s3://bucket/glue-temp/
--manifest_path s3://bucket/manifests/ --state_path s3://bucket/etl-state/
Optional: --redshift_schema, --redshift_table, --lifecycle_path s3://bucket/lifecycle/, --full true
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from contract.manifests import S3BookmarkStore, Selection, s3_lister, select
from glue import transforms
from glue.schema import TableSpec, lifecycle_spec, merge_statements, spec

REQUIRED_ARGS = [
    "JOB_NAME",
    "source_path",
    "quarantine_path",
    "redshift_connection",
    "redshift_database",
    "TempDir",
    "manifest_path",
    "state_path",
]


def resolve_args(argv: list[str], names: list[str]) -> dict[str, str]:
    """Glue's getResolvedOptions when awsglue is installed, else the same `--name value` parsing."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return _parse_args(argv, names)
    resolved: dict[str, str] = getResolvedOptions(argv, names)
    return resolved


def _parse_args(argv: list[str], names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    it = iter(argv[1:])
    for token in it:
        if token.startswith("--"):
            key, eq, value = token[2:].partition("=")
            found[key] = value if eq else next(it, "")
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"missing job arguments: {', '.join('--' + m for m in missing)}")
    return {n: found[n] for n in names}


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix/ -> ("bucket", "some/prefix/")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def select_objects(s3: Any, source_path: str, args: dict[str, str], now: datetime) -> Selection:
    """The feed's objects to read this run and its next bookmark (contract/manifests.py, shared with tms etl)."""
    bucket, feed_prefix = split_s3_url(source_path)
    manifest_bucket, manifest_prefix = split_s3_url(args["manifest_path"])
    state_bucket, state_prefix = split_s3_url(args["state_path"])
    if {manifest_bucket, state_bucket} != {bucket}:
        raise ValueError("--manifest_path and --state_path must be in the archive's bucket")
    bookmark = S3BookmarkStore(s3, bucket, state_prefix).load(feed_prefix)
    full = args.get("full", "").lower() in ("true", "1", "yes")
    return select(
        s3_lister(s3, bucket), feed_prefix, bookmark, now, full=full, manifest_prefix=manifest_prefix
    )


def save_bookmark(s3: Any, source_path: str, args: dict[str, str], selection: Selection) -> None:
    """Persist the feed's bookmark; call only after its MERGE committed."""
    bucket, feed_prefix = split_s3_url(source_path)
    _bucket, state_prefix = split_s3_url(args["state_path"])
    S3BookmarkStore(s3, bucket, state_prefix).save(feed_prefix, selection.bookmark)


def read_paths(source_path: str, selection: Selection) -> list[str]:
    """What Spark reads: the prefix itself on a full load, else exactly the selected objects."""
    if selection.full:
        return [source_path]
    bucket, _prefix = split_s3_url(source_path)
    return [f"s3://{bucket}/{key}" for key in selection.keys]


def load_lines(glue_context: Any, paths: list[str]) -> Any:
    """The objects at `paths` as (value, source) lines (no Glue bookmark: contract/manifests.py selected them)."""
    from pyspark.sql import functions as F

    # CSV with a separator and quote that never occur yields one untouched string per JSON line, so a
    # malformed record becomes a quarantined row instead of a failed read.
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": paths, "recurse": True},
        format="csv",
        format_options={
            "separator": "\u0001",
            "quoteChar": -1,
            "withHeader": False,
            "attachFilename": "source",
        },
    )
    df = frame.toDF()
    return df.select(F.col(df.columns[0]).alias(transforms.VALUE), F.col("source").alias(transforms.SOURCE))


def save_quarantine(rejected: Any, quarantine_path: str, run_id: str) -> None:
    """Rejected records (source, reason, raw line) as JSON Lines under quarantine/."""
    rejected.coalesce(1).write.mode("append").json(f"{quarantine_path.rstrip('/')}/run={run_id}/")


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")
OPTIONAL_ARGS = ["redshift_schema", "redshift_table", "lifecycle_path", "full"]


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"--{what} must be a plain SQL identifier, got {value!r}")
    return value


def target_spec(args: dict[str, str]) -> TableSpec:
    """The configured target (`--redshift_table`, default from schema.json) and its staging table."""
    base = spec()
    table = _identifier(args.get("redshift_table") or base.table, "redshift_table")
    return replace(base, table=table, staging_table=f"{table}_staging")


def _preactions(target: str, staging: str, schema: str | None) -> str:
    # search_path keeps the MERGE text identical to sql/010_merge.sql, with unqualified names.
    path = f"SET search_path TO {schema}; " if schema else ""
    return f"{path}CREATE TABLE IF NOT EXISTS {staging} (LIKE {target}); DELETE FROM {staging};"  # noqa: S608


def save_to_redshift(
    glue_context: Any,
    batch: Any,
    args: dict[str, str],
    table: TableSpec | None = None,
    ctx: str = "write_tickets",
) -> None:
    """Load the batch into the staging table of `table` (default: the configured tickets table) and MERGE it,
    all in the connector's one transaction."""
    from awsglue.dynamicframe import DynamicFrame

    table = table or target_spec(args)
    schema = _identifier(args["redshift_schema"], "redshift_schema") if args.get("redshift_schema") else None
    glue_context.write_dynamic_frame.from_jdbc_conf(
        frame=DynamicFrame.fromDF(batch, glue_context, "batch"),
        catalog_connection=args["redshift_connection"],
        connection_options={
            "database": args["redshift_database"],
            "dbtable": f"{schema}.{table.staging_table}" if schema else table.staging_table,
            # DELETE, not TRUNCATE: TRUNCATE commits, which would split the load from the MERGE.
            # Identifiers come from our own schema.json, never from input.
            "preactions": _preactions(table.table, table.staging_table, schema),
            "postactions": "; ".join([*merge_statements(table=table), f"DELETE FROM {table.staging_table}"])  # noqa: S608
            + ";",
        },
        redshift_tmp_dir=args["TempDir"],
        transformation_ctx=ctx,
    )


def main(argv: list[str]) -> None:
    """Glue entry point."""
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    optional = [name for name in OPTIONAL_ARGS if f"--{name}" in argv]
    args = resolve_args(argv, REQUIRED_ARGS + optional)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    for key, value in transforms.SPARK_CONF.items():
        spark.conf.set(key, value)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    import boto3

    # On Glue only glue/ is shipped, so not contract.clients: the job role's default chain.
    s3 = boto3.client("s3")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    feeds: list[tuple[str, TableSpec, str, str]] = [
        (args["source_path"], target_spec(args), run_id, "write_tickets")
    ]
    if args.get("lifecycle_path"):
        # The lifecycle records after the tickets: the SLA view joins both, and a ticket's lifecycle row
        # never waits a whole schedule period for its tickets row.
        feeds.append((args["lifecycle_path"], lifecycle_spec(), f"{run_id}-lifecycle", "write_lifecycle"))
    for source_path, table, quarantine_run, ctx in feeds:
        selection = select_objects(s3, source_path, args, datetime.now(UTC))
        print(
            f"{source_path}: {'full load (' + selection.reason + ')' if selection.full else 'incremental'}, "
            f"{selection.listed} keys listed, {len(selection.keys)} objects to read"
        )
        if selection.keys:
            lines = load_lines(glue_context, read_paths(source_path, selection))
            validated = transforms.validate(transforms.parse_lines(lines, table), table).cache()
            save_quarantine(transforms.rejected_rows(validated), args["quarantine_path"], quarantine_run)
            save_to_redshift(
                glue_context, transforms.for_staging(validated, table), args, table=table, ctx=ctx
            )
        # Reached only when the feed's load committed: a failed run keeps the bookmark, and the MERGE makes
        # the re-read harmless.
        save_bookmark(s3, source_path, args, selection)
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
