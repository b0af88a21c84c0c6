"""Bulk ingest: batched PutRecords within the limits, only failed entries retried, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tools.generator import generate_tickets
from tools.ingest import (
    MAX_BATCH_BYTES,
    IngestError,
    StreamNotFoundError,
    _Entry,
    batches,
    put_tickets,
)

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
STREAM = "tickets"


@pytest.fixture
def kinesis():
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName=STREAM, ShardCount=2)
        yield client


@pytest.fixture(scope="module")
def events():
    return [g.event for g in generate_tickets(1_200, seed=11, now=NOW)]


class FlakyKinesis:
    """Wraps a real (moto) client; entries whose ticket id is in `fail_times` fail that many times."""

    def __init__(
        self, inner: Any, fail_times: dict[str, int], code: str = "ProvisionedThroughputExceededException"
    ):
        self._inner = inner
        self.fail_times = dict(fail_times)
        self.code = code
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([r["PartitionKey"] for r in Records])
        keep = [r for r in Records if self.fail_times.get(r["PartitionKey"], 0) == 0]
        answer = self._inner.put_records(StreamName=StreamName, Records=keep) if keep else {"Records": []}
        accepted = iter(answer["Records"])
        results = []
        for r in Records:
            key = r["PartitionKey"]
            if self.fail_times.get(key, 0) > 0:
                self.fail_times[key] -= 1
                results.append({"ErrorCode": self.code, "ErrorMessage": "Rate exceeded for shard"})
            else:
                results.append(next(accepted))
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


def _stored(client: Any) -> list[dict[str, Any]]:
    out = []
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        out += client.get_records(ShardIterator=it["ShardIterator"], Limit=10_000)["Records"]
    return out


def test_every_ticket_lands_once_keyed_by_its_ticket_id(kinesis, events):
    report = put_tickets(events, stream_name=STREAM, client=kinesis)

    assert (report.sent, report.failed, report.failed_ids) == (1_200, 0, [])
    stored = _stored(kinesis)
    assert len(stored) == 1_200
    for record in stored:
        assert json.loads(record["Data"])["ticketId"] == record["PartitionKey"]
    assert {r["PartitionKey"] for r in stored} == {e.ticketId for e in events}


def test_records_go_in_batches_of_at_most_500(kinesis, events):
    flaky = FlakyKinesis(kinesis, {})
    report = put_tickets(events, stream_name=STREAM, client=flaky)
    assert [len(c) for c in flaky.calls] == [500, 500, 200]
    assert report.batches == 3


def test_batches_also_stop_at_five_mebibytes():
    big = [_Entry(f"TKT-20250304-{i:010d}", b"x" * (1024 * 1024 - 100)) for i in range(12)]
    groups = list(batches(big))
    assert [len(g) for g in groups] == [5, 5, 2]
    assert all(sum(e.size for e in g) <= MAX_BATCH_BYTES for g in groups)


def test_partial_failures_resend_only_the_failed_records(kinesis, events):
    failing = {events[3].ticketId: 1, events[250].ticketId: 2, events[700].ticketId: 1}
    flaky = FlakyKinesis(kinesis, failing)
    sleeps: list[float] = []

    report = put_tickets(events, stream_name=STREAM, client=flaky, sleep=sleeps.append)

    assert (report.sent, report.failed) == (1_200, 0)
    # First batch: 500 records, then retries of exactly the failed ids.
    assert [len(c) for c in flaky.calls] == [500, 2, 1, 500, 1, 200]
    assert flaky.calls[1] == [events[3].ticketId, events[250].ticketId]
    assert flaky.calls[2] == [events[250].ticketId]
    assert report.retried == 4
    assert len(sleeps) == 3 and all(0 <= s <= 5.0 for s in sleeps)
    stored = _stored(kinesis)
    assert len(stored) == 1_200  # nothing sent twice
    assert len({r["PartitionKey"] for r in stored}) == 1_200


def test_records_that_keep_failing_are_reported_not_hidden(kinesis, events):
    stuck = events[10].ticketId
    flaky = FlakyKinesis(kinesis, {stuck: 99}, code="InternalFailure")

    report = put_tickets(events[:20], stream_name=STREAM, client=flaky, max_retries=3, sleep=lambda s: None)

    assert (report.sent, report.failed, report.failed_ids) == (19, 1, [stuck])
    assert len(flaky.calls) == 4  # the first try and three retries
    assert all(c == [stuck] for c in flaky.calls[1:])


def test_missing_stream_fails_before_anything_is_sent(kinesis, events):
    flaky = FlakyKinesis(kinesis, {})
    with pytest.raises(StreamNotFoundError, match="'no-such-stream' does not exist"):
        put_tickets(events[:5], stream_name="no-such-stream", client=flaky)
    assert flaky.calls == []


def test_whole_call_failure_raises_with_what_was_sent_so_far(kinesis, events):
    class Broken(FlakyKinesis):
        def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
            if self.calls:
                raise ClientError(
                    {"Error": {"Code": "KMSAccessDeniedException", "Message": "no"}}, "PutRecords"
                )
            return super().put_records(StreamName=StreamName, Records=Records)

    with pytest.raises(IngestError, match=r"KMSAccessDeniedException.*after 500 records") as info:
        put_tickets(events, stream_name=STREAM, client=Broken(kinesis, {}))
    assert info.value.report.sent == 500


def test_rate_caps_records_per_second_with_small_batches(kinesis, events):
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    flaky = FlakyKinesis(kinesis, {})
    report = put_tickets(
        events[:50], stream_name=STREAM, client=flaky, rate=20, sleep=sleep, clock=lambda: clock[0]
    )

    # 20 records at t=0, 20 at t=1, 10 at t=2: never more than 20 within one second.
    assert [len(c) for c in flaky.calls] == [20, 20, 10]
    assert sleeps == [1.0, 1.0]
    assert report.sent == 50


def test_non_positive_rate_is_rejected(kinesis, events):
    with pytest.raises(ValueError, match="rate"):
        put_tickets(events[:1], stream_name=STREAM, client=kinesis, rate=0)
