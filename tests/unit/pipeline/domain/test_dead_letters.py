"""The DLQ, read back: rejects are explained and kept; failed batches are redriven once, then deleted."""

from __future__ import annotations

from typing import Any

from pipeline.adapters.aws import RecordsExpiredError
from pipeline.domain.dead_letters import DeadLetterKind, classify, redrive_batches, summarize


def _batch(shard: str, start: str, end: str, size: int, fn: str = "trigger") -> dict[str, Any]:
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": f"arn:...:{fn}"},
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "batchSize": size,
        },
    }


REJECT = {
    "stage": "intake-filter",
    "reason": "record: not JSON (Expecting value at line 1 column 1)",
    "problems": ["record: not JSON (Expecting value at line 1 column 1)"],
}


def test_messages_are_told_apart_and_summarized_by_reason():
    bodies = [REJECT, REJECT, _batch("s0", "1", "3", 3), {"raw": "???"}]
    assert [classify(b) for b in bodies] == [
        DeadLetterKind.REJECTED,
        DeadLetterKind.REJECTED,
        DeadLetterKind.BATCH,
        DeadLetterKind.UNKNOWN,
    ]
    summary = summarize(bodies)
    assert (summary["total"], summary["rejected"], summary["batches"], summary["unknown"]) == (4, 2, 1, 1)
    assert summary["batch_records"] == 3
    assert summary["reasons"] == {"record: not JSON": 2}
    assert summary["batch_conditions"] == {"RetryAttemptsExhausted": 1}


class Stream:
    def __init__(self, records: dict[str, list[tuple[str, bytes]]], expired: set[str] = frozenset()) -> None:
        self.records, self.expired = records, expired
        self.put: list[tuple[str, bytes]] = []
        self.reads = 0

    def read(self, shard: str, start: str, end: str) -> list[tuple[str, bytes]]:
        self.reads += 1
        if start in self.expired:
            raise RecordsExpiredError("gone")
        return self.records[start]

    def put_all(self, records: list[tuple[str, bytes]]) -> int:
        self.put.extend(records)
        return len(records)


def test_a_failed_batch_is_put_back_once_even_when_both_mappings_reported_it():
    stream = Stream({"1": [("k1", b"a"), ("k2", b"b")]})
    deleted: list[str] = []
    messages = [("r1", _batch("s0", "1", "2", 2)), ("r2", _batch("s0", "1", "2", 2, "audit")), ("r3", REJECT)]

    report = redrive_batches(messages, stream.read, stream.put_all, deleted.append)

    assert stream.put == [("k1", b"a"), ("k2", b"b")] and stream.reads == 1
    assert deleted == ["r1", "r2"]  # the reject stays: replaying bad data would fail the same way
    assert (report.batches, report.records, report.messages_deleted, report.left) == (1, 2, 2, [])


def test_expired_incomplete_or_unaccepted_batches_keep_their_message_with_the_reason():
    stream = Stream({"5": [("k", b"x")], "7": [("k", b"y")]}, expired={"1"})
    deleted: list[str] = []
    messages = [
        ("gone", _batch("s0", "1", "2", 2)),
        ("short", _batch("s0", "5", "6", 2)),
        ("refused", _batch("s0", "7", "7", 1)),
    ]

    report = redrive_batches(messages, stream.read, lambda records: 0, deleted.append)

    assert deleted == [] and report.batches == 0
    assert [left.split(": ", 1)[1] for left in report.left] == [
        "gone",
        "the stream returned 1 of 2 records",
        "only 0 of 1 records were accepted; run it again",
    ]
