"""The folder of help-centre documents the knowledge base follows: kb/docs/ of the stack bucket (issue 30.1).

No numpy here: the sync function lists and compares ETags before it loads the index and an embedder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract.clients import aws_client
from pipeline.domain.kb_sync import SourceObject


class S3DocumentSource:
    """DocumentSource on a prefix of an S3 bucket: ListObjectsV2 (paginated) and GetObject."""

    def __init__(self, bucket: str, prefix: str, s3: Any = None) -> None:
        self.bucket, self.prefix = bucket, prefix
        self._s3 = s3 if s3 is not None else aws_client("s3")

    def uri(self, key: str) -> str:
        """s3://bucket/key: where the document came from (its origin), never its link."""
        return f"s3://{self.bucket}/{key}"

    def objects(self) -> Iterator[SourceObject]:
        """Every object under the prefix, page by page (1,000 keys a LIST request)."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield SourceObject(key=obj["Key"], etag=obj["ETag"], size=int(obj.get("Size", 0)))

    def read(self, key: str) -> tuple[bytes, str]:
        """The object's body and the ETag of that version."""
        got = self._s3.get_object(Bucket=self.bucket, Key=key)
        return got["Body"].read(), str(got["ETag"])
