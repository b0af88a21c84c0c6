"""Conditional PutObject on the local endpoint (issue 30.2: kb/index.json has several writers).

moto 5.2.5 in server mode, as the local stack runs it, honours If-Match and If-None-Match='*' on PutObject.
What it does not do is apply them atomically: it checks the ETag, then stores, with no lock, so writers that
read the same ETag can all pass the check. The `s3-conditional-puts` emulation patch makes one put at a time,
as S3 does; the last test shows moto's own code losing writes, so an upgrade that fixes it is noticed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.moto import emulation, patching

BUCKET, KEY = "tms-cond", "kb/index.json"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=BUCKET)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    client.put_object(Bucket=BUCKET, Key=KEY, Body=b"v1")
    return client


def _code(e: ClientError) -> str:
    return str(e.response["Error"]["Code"])


def test_moto_server_refuses_a_put_whose_etag_or_absence_no_longer_holds(s3: Any) -> None:
    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v2", IfMatch=etag)

    with pytest.raises(ClientError) as stale:
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v3", IfMatch=etag)
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"v3", IfNoneMatch="*")

    assert _code(stale.value) == _code(exists.value) == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"v2"
    s3.put_object(Bucket=BUCKET, Key="kb/new.json", Body=b"first", IfNoneMatch="*")  # absent: accepted


def _race(s3: Any, writers: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`writers` threads put with the one ETag they all read; each one's outcome ("ok" or the error code).
    moto's lookup of the stored object is slowed so that every unlocked check reads before any store."""
    from moto.s3.models import S3Backend

    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    slow_get = S3Backend.get_object

    def get_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        found = slow_get(self, *args, **kwargs)
        time.sleep(0.05)  # after the lookup: what was found is stale by the time it is compared
        return found

    monkeypatch.setattr(S3Backend, "get_object", get_object)
    start = threading.Barrier(writers)
    outcomes: list[str] = []

    def write(n: int) -> None:
        start.wait()
        try:
            s3.put_object(Bucket=BUCKET, Key=KEY, Body=f"writer {n}".encode(), IfMatch=etag)
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append(_code(e))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_of_writers_racing_on_one_etag_exactly_one_wins_with_the_emulation_patch(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with patching.applied(emulation.S3_CONDITIONAL_PUTS):
        outcomes = _race(s3, 4, monkeypatch)

    assert sorted(outcomes) == ["PreconditionFailed"] * 3 + ["ok"]


def test_moto_itself_lets_writers_racing_on_one_etag_all_win(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    was_applied = patching.is_applied(emulation.S3_CONDITIONAL_PUTS)
    patching.revert(emulation.S3_CONDITIONAL_PUTS)
    try:
        outcomes = _race(s3, 4, monkeypatch)
    finally:
        if was_applied:
            patching.apply(emulation.S3_CONDITIONAL_PUTS)

    # If this fails after a moto upgrade, moto checks and stores atomically: the patch can go.
    assert outcomes.count("ok") > 1
