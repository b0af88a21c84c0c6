"""AWS adapters of erasure (bot/logic/erasure.py): the tickets table, the archive bucket's object versions,
the SLA schedule group and the Redshift warehouse (through the Redshift Data API: no VPC, no driver)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from bot.adapters.ticket_store import from_item
from bot.errors import ErasureError
from bot.logic.erasure import INCIDENT_MEMBERS, KEY, ObjectVersion
from contract import erasure
from contract.models.warehouse import LIFECYCLE_TABLE


class DynamoTicketTable:
    """The tickets table as erasure sees it: a scan, deletes and attribute removals."""

    def __init__(self, table_name: str, client: Any):
        self._table = table_name
        self._client = client

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item (consistent read: what the bot and the workflow wrote just before is seen)."""
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for raw in page.get("Items", []):
                yield from_item(raw)

    def delete(self, key: str) -> None:
        """Delete one item (with its history)."""
        self._client.delete_item(TableName=self._table, Key={KEY: {"S": key}})

    def keep_only(self, key: str, attributes: frozenset[str], drop_members: frozenset[str]) -> None:
        """REMOVE every other attribute of the item, and `drop_members` from its incident members."""
        raw = self._client.get_item(TableName=self._table, Key={KEY: {"S": key}}, ConsistentRead=True)
        item = raw.get("Item") or {}
        extra = sorted(a for a in item if a not in attributes)
        names = {f"#r{i}": a for i, a in enumerate(extra)}
        expression = ("REMOVE " + ", ".join(names)) if names else ""
        values: dict[str, Any] = {}
        if drop_members:
            names["#m"] = INCIDENT_MEMBERS
            values[":gone"] = {"SS": sorted(drop_members)}
            expression += " DELETE #m :gone"
        if not expression:
            return
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": key}},
            UpdateExpression=expression.strip(),
            ExpressionAttributeNames=names,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    def remove_members(self, key: str, members: frozenset[str]) -> None:
        """Take erased tickets out of an incident root's member set."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": key}},
            UpdateExpression="DELETE #m :gone",
            ExpressionAttributeNames={"#m": INCIDENT_MEMBERS},
            ExpressionAttributeValues={":gone": {"SS": sorted(members)}},
        )


# A conditional PutObject another writer won: 412, or 409 for two conditional writes of the key at once.
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class S3ObjectVersions:
    """Object versions of the archive bucket (on an unversioned bucket each key has the one version "null")."""

    def __init__(self, bucket: str, client: Any):
        self._bucket = bucket
        self._s3 = client

    def versions(self, prefix: str) -> Iterator[ObjectVersion]:
        """Every version and delete marker under `prefix`."""
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix)
        for page in pages:
            for v in page.get("Versions", []):
                yield ObjectVersion(
                    v["Key"],
                    str(v.get("VersionId") or "null"),
                    bool(v.get("IsLatest")),
                    etag=str(v.get("ETag") or ""),
                )
            for m in page.get("DeleteMarkers", []):
                yield ObjectVersion(
                    m["Key"], str(m.get("VersionId") or "null"), bool(m.get("IsLatest")), True
                )

    def read(self, version: ObjectVersion) -> bytes:
        """The body of one version."""
        resp = self._s3.get_object(Bucket=self._bucket, Key=version.key, VersionId=version.version_id)
        return bytes(resp["Body"].read())

    def delete(self, version: ObjectVersion) -> None:
        """Delete one version for good (not a delete marker)."""
        self._s3.delete_object(Bucket=self._bucket, Key=version.key, VersionId=version.version_id)

    def put(self, key: str, body: bytes) -> None:
        """Write what stays of a shared object."""
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/x-ndjson")

    def put_if_unchanged(self, key: str, body: bytes, etag: str) -> bool:
        """Write `body` only if the object's ETag is still `etag` (If-Match); False on 412 (or 409)."""
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/json", IfMatch=etag
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in _CONFLICT:
                return False
            raise
        return True


class SchedulerSchedules:
    """The SLA schedule group."""

    def __init__(self, group: str, client: Any):
        self._group = group
        self._client = client

    def delete(self, name: str) -> bool:
        """Delete a schedule; False when it already ran (and deleted itself) or never existed."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise ErasureError(f"could not delete schedule {name}: {e.response['Error']['Code']}") from e
        return True


# Redshift Data statements run asynchronously; erasure waits for each to finish to report its row count.
STATEMENT_TIMEOUT_S = 45.0  # two statements fit in the function's timeout
STATEMENT_POLL_S = 0.5
_DONE = ("FINISHED", "FAILED", "ABORTED")


class RedshiftDataRows:
    """The warehouse rows of a customer, deleted with the Redshift Data API (ExecuteStatement, with the
    loader's secret): the lifecycle rows first (found through the tickets table's address column too), then
    the tickets rows. Each DELETE is idempotent; a second run deletes 0 rows."""

    def __init__(
        self,
        client: Any,
        *,
        database: str,
        secret_arn: str,
        schema: str,
        table: str,
        cluster_identifier: str = "",
        workgroup_name: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if bool(cluster_identifier) == bool(workgroup_name):
            raise ValueError(
                "name exactly one of cluster_identifier (provisioned) or workgroup_name (serverless)"
            )
        self._client = client
        self._target = (
            {"ClusterIdentifier": cluster_identifier}
            if cluster_identifier
            else {"WorkgroupName": workgroup_name}
        )
        self._common = {"Database": database, "SecretArn": secret_arn, **self._target}
        self._tickets = f"{schema}.{table}"
        self._lifecycle = f"{schema}.{LIFECYCLE_TABLE}"
        self._sleep, self._clock = sleep, clock

    def statements(self, ticket_ids: frozenset[str]) -> list[tuple[str, str]]:
        """(store, SQL) in order; the ids and the address are bound parameters, never spliced in."""
        ids = sorted(ticket_ids)
        listed = ", ".join(f":id{i}" for i in range(len(ids)))
        by_id = f" OR ticket_id IN ({listed})" if ids else ""
        of_customer = f"SELECT ticket_id FROM {self._tickets} WHERE LOWER(customer_email) = :email"  # noqa: S608
        return [
            (
                erasure.WAREHOUSE_LIFECYCLE,
                f"DELETE FROM {self._lifecycle} WHERE ticket_id IN ({of_customer}){by_id}",  # noqa: S608
            ),
            (
                erasure.WAREHOUSE_TICKETS,
                f"DELETE FROM {self._tickets} WHERE LOWER(customer_email) = :email{by_id}",  # noqa: S608
            ),
        ]

    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        """Run the DELETEs one after the other; rows deleted per store."""
        params = [{"name": "email", "value": address}] + [
            {"name": f"id{i}", "value": t} for i, t in enumerate(sorted(ticket_ids))
        ]
        out: dict[str, int] = {}
        for store, sql in self.statements(ticket_ids):
            sid = self._client.execute_statement(Sql=sql, Parameters=params, **self._common)["Id"]
            out[store] = self._wait(sid)
        return out

    def _wait(self, statement_id: str) -> int:
        deadline = self._clock() + STATEMENT_TIMEOUT_S
        while True:
            d = self._client.describe_statement(Id=statement_id)
            if d["Status"] == "FINISHED":
                return max(int(d.get("ResultRows") or 0), 0)
            if d["Status"] in _DONE:
                raise ErasureError(f"warehouse statement {statement_id} {d['Status']}: {d.get('Error', '')}")
            if self._clock() >= deadline:
                raise ErasureError(
                    f"warehouse statement {statement_id} still {d['Status']} after the timeout"
                )
            self._sleep(STATEMENT_POLL_S)
