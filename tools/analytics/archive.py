"""The S3 side of the local ETL: copy the selected objects (contract/manifests.py chose them) to a local
directory (Spark cannot read the local endpoint through s3a), and write quarantined records back under
`quarantine/`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract import names
from contract.clients import StackEndpoint, aws_client
from local.iam_record import in_context

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

COPY_THREADS = 8
# Many tiny files are slow in Spark: pack the copies into a few JSON Lines files.
RECORDS_PER_FILE = 20_000


def s3_client(stack: StackEndpoint) -> S3Client:
    """The ETL's S3 client for the stack (its endpoint, region and credentials; the long-read profile)."""
    client: S3Client = aws_client("s3", stack, profile="etl")
    return client


@dataclass(frozen=True)
class Staged:
    """The copied batch: the local files Spark reads and how many records they hold."""

    files: list[Path]
    records: int
    sources: list[str]


def _lines(body: bytes) -> Iterator[str]:
    text = body.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    # An empty object is still a record: it must be quarantined, not silently skipped.
    yield from lines or [text]


def copy_objects(client: S3Client, bucket: str, keys: Iterable[str], directory: Path) -> Staged:
    """Download `keys` and pack them into JSON Lines files of {"source", "value"} records. A key that is
    gone (a marker outliving a deleted object; nothing in tms deletes one) is skipped."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = list(keys)

    def fetch(key: str) -> tuple[str, bytes | None]:
        try:
            return key, client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return key, None

    files: list[Path] = []
    count = 0
    out: Any = None
    with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
        for key, body in pool.map(in_context(fetch), keys):  # each read as the job's role
            if body is None:
                continue
            for line in _lines(body):
                if out is None or count % RECORDS_PER_FILE == 0:
                    if out is not None:
                        out.close()
                    files.append(directory / f"part-{len(files):05d}.jsonl")
                    out = files[-1].open("w", encoding="utf-8")
                out.write(json.dumps({"source": f"s3://{bucket}/{key}", "value": line}) + "\n")
                count += 1
    if out is not None:
        out.close()
    return Staged(files, count, [f"s3://{bucket}/{key}" for key in keys])


def write_quarantine(client: S3Client, bucket: str, run_id: str, rejects: list[dict[str, str]]) -> str | None:
    """Put the batch's rejected records (source, reason, record) as one JSON Lines object; its key."""
    if not rejects:
        return None
    key = f"{names.QUARANTINE_PREFIX}etl/run={run_id}/rejects.jsonl"
    body = "".join(json.dumps(r) + "\n" for r in rejects).encode("utf-8")
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
    return key
