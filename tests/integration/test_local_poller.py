"""The local Kinesis poller keeps the event-source-mapping contract (against moto's Kinesis)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import names
from local.poller import MappingConfig
from local.runtime import LocalStack
from tests.integration.conftest import drain

pytestmark = pytest.mark.integration


class RecordingTrigger:
    """A stand-in trigger function: fails chosen payloads, remembers every batch it saw."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.poison: set[bytes] = set()
        self.partial: dict[bytes, int] = {}  # payload -> how many times to report it as an item failure
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        datas = [base64.b64decode(r["kinesis"]["data"]) for r in event["Records"]]
        with self.lock:
            self.batches.append(datas)
        if any(d in self.poison for d in datas):
            raise RuntimeError("poison in batch")
        failures = []
        for r, d in zip(event["Records"], datas, strict=True):
            if self.partial.get(d, 0) > 0:
                self.partial[d] -= 1
                failures.append({"itemIdentifier": r["kinesis"]["sequenceNumber"]})
        return {"batchItemFailures": failures}

    def seen(self) -> list[bytes]:
        return [d for b in self.batches for d in b]


@pytest.fixture
def stack_and_trigger(tmp_path: Path) -> Iterator[tuple[LocalStack, RecordingTrigger]]:
    mapping = MappingConfig(batch_size=10, max_retries=2, retry_delay_s=0.01, filter_event_names=None)
    with LocalStack.start(outbox=tmp_path / "o.jsonl", mapping=mapping) as stack:
        trigger = RecordingTrigger()
        stack.lambdas.register(names.FN_TRIGGER, trigger)
        yield stack, trigger


def _put_one_shard(stack: LocalStack, payloads: list[bytes]) -> None:
    stack.client("kinesis").put_records(
        StreamName=stack.info.stream_name,
        Records=[{"Data": p, "PartitionKey": "same-shard"} for p in payloads],
    )


def test_partial_batch_failure_retries_from_the_first_failed_record(stack_and_trigger):
    stack, trigger = stack_and_trigger
    payloads = [f"r{i}".encode() for i in range(5)]
    trigger.partial[b"r2"] = 1
    _put_one_shard(stack, payloads)
    stack.wait_idle(timeout=30)
    # first delivery: r0..r4; retry: r2..r4 (r0, r1 were checkpointed)
    assert trigger.batches == [payloads, payloads[2:]]


def test_a_poison_record_is_bisected_out_sent_to_the_dlq_and_never_blocks_the_shard(stack_and_trigger):
    stack, trigger = stack_and_trigger
    payloads = [f"r{i}".encode() for i in range(8)]
    trigger.poison.add(b"r5")
    _put_one_shard(stack, payloads)
    _put_one_shard(stack, [b"after"])
    stack.wait_idle(timeout=30)

    assert b"after" in trigger.seen()  # the shard moved on
    ok_once = {d for b in trigger.batches if b"r5" not in b for d in b}
    assert ok_once >= {p for p in payloads if p != b"r5"}
    letters = drain(stack, stack.info.dlq_url)
    assert len(letters) == 1
    info = letters[0]["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and letters[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert stack.poller.stats.bisections >= 3


@pytest.fixture
def quiet_stack(tmp_path: Path) -> Iterator[tuple[LocalStack, RecordingTrigger]]:
    """A stack whose mapping backs off without limit on a quiet shard (waits of 0.05 s, doubling)."""
    mapping = MappingConfig(
        batch_size=10, filter_event_names=None, poll_interval_s=0.05, idle_poll_interval_s=60
    )
    with LocalStack.start(outbox=tmp_path / "o.jsonl", mapping=mapping) as stack:
        trigger = RecordingTrigger()
        stack.lambdas.register(names.FN_TRIGGER, trigger)
        yield stack, trigger


def test_a_record_put_to_a_quiet_stream_is_delivered_at_once_not_after_the_idle_wait(quiet_stack):
    stack, trigger = quiet_stack
    last_read = [time.monotonic()]
    stack.poller.kinesis.meta.events.register(
        "before-call.kinesis.GetRecords", lambda **_: last_read.__setitem__(0, time.monotonic())
    )
    # No shard read for 1.75 s: each is in a wait of 3.2 s or more, with at least 1.45 s of it left.
    deadline = time.monotonic() + 30
    while time.monotonic() - last_read[0] < 1.75 and time.monotonic() < deadline:
        time.sleep(0.05)
    _put_one_shard(stack, [b"wake up"])
    deadline = time.monotonic() + 1.25  # the write wakes the shard; its timer would not ring in this time
    while b"wake up" not in trigger.seen() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert trigger.seen() == [b"wake up"]


def test_a_quiet_stream_is_read_about_once_a_second_per_shard(stack_and_trigger):
    stack, _ = stack_and_trigger
    reads: dict[int, list[float]] = {}  # poller thread (one per shard) -> its GetRecords times
    stack.poller.kinesis.meta.events.register(
        "before-call.kinesis.GetRecords",
        lambda **_: reads.setdefault(threading.get_ident(), []).append(time.monotonic()),
    )
    stack.wait_idle(timeout=30)

    def waited_for(predicate, seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while not predicate() and time.monotonic() < deadline:
            time.sleep(0.05)
        return predicate()

    def at_ceiling() -> bool:  # every shard's last wait was the idle one: a condition, not a clock
        return bool(reads) and all(len(t) > 1 and t[-1] - t[-2] >= 0.9 for t in list(reads.values()))

    assert waited_for(at_ceiling)
    start = {thread: len(times) for thread, times in reads.items()}
    assert waited_for(lambda: all(len(reads[t]) >= n + 3 for t, n in start.items()))
    for thread, n in start.items():
        window = reads[thread][n - 1 :]
        rate = (len(window) - 1) / (window[-1] - window[0])
        # 0.1 s polling would read a shard ~10 times a second; an idle mapping reads it about once.
        assert rate <= 1.3, f"{rate:.1f} reads a second on one shard"
