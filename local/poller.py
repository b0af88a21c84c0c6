"""A Kinesis poller with the Lambda event-source-mapping contract (moto never fires mappings).

Per shard, in order: read up to `batch_size` records, invoke the function with a Kinesis event, then
- success: move on;
- partial batch failure (`batchItemFailures`): retry from the first failed sequence number;
- function error: bisect the batch and retry each half (when `bisect_on_error`) down to single records;
- records the mapping's filter does not match (data not a JSON object with eventName TicketSubmitted)
  are dropped before the function runs, exactly as Lambda's event filtering does on AWS (the runtime
  runs a second, unfiltered mapping for the intake audit, which dead-letters them);
- a record that keeps failing past `max_retries` (or older than `max_record_age_s`) is sent, as batch
  metadata like AWS's on-failure destination, to the DLQ, and the shard moves on: it never blocks.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contract.models import EVENT_NAME
from local.iam_record import acting_as, function
from pipeline.domain.intake import matches_trigger_filter

log = logging.getLogger("tms.local.poller")

InvokeFn = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, bool]]  # (response, function_error)


@dataclass(frozen=True)
class MappingConfig:
    batch_size: int = 100
    max_retries: int = 3
    bisect_on_error: bool = True
    max_record_age_s: float = 3600.0
    # Reads of a shard are at least `poll_interval_s` apart. After empty reads the wait doubles up to
    # `idle_poll_interval_s` (Lambda reads a quiet Kinesis shard about once a second), and a write to the
    # stream ends it early (the local stack's moto patch calls `notify_write`): an idle stack no longer
    # spends a quarter of a core asking empty shards for records, and a new record still waits at most
    # `poll_interval_s`.
    poll_interval_s: float = 0.1
    idle_poll_interval_s: float = 1.0
    retry_delay_s: float = 0.2
    # The mapping's filter (CDK: {"data": {"eventName": [...]}}): records whose data is not a JSON object
    # with one of these event names are dropped before the function runs, as Lambda does. None: no filter.
    filter_event_names: tuple[str, ...] | None = (EVENT_NAME,)


@dataclass
class PollerStats:
    batches: int = 0
    records: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    retries: int = 0
    bisections: int = 0
    sent_to_dlq: int = 0
    filtered: int = 0


@dataclass
class KinesisPoller:
    kinesis: Any
    sqs: Any
    stream_name: str
    dlq_url: str
    invoke: InvokeFn
    region: str = "us-east-1"
    function_name: str = "trigger"
    config: MappingConfig = field(default_factory=MappingConfig)
    stats: PollerStats = field(default_factory=PollerStats)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _busy: dict[str, bool] = field(default_factory=dict)
    _behind: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stream_arn: str = ""
    # shard id -> sequence number of the last record handled (delivered, filtered out or dead-lettered): a
    # restarted stack's mapping reads after it instead of from the trim horizon.
    checkpoints: dict[str, str] = field(default_factory=dict)
    # (function, shard id, sequence number) -> None after a checkpoint moved (a durable stack journals it).
    on_checkpoint: Callable[[str, str, str], None] | None = None
    # Writes notified so far: a shard that saw the count change since its last read reads again at once.
    _writes: int = field(default=0, init=False, repr=False)

    thread_label = "poller"

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    def start(self) -> None:
        """Start one thread per shard. A mapping reads with its function's role (as on AWS)."""
        with acting_as(function(self.function_name)):
            shards = self._shards()
        for sid in shards:
            self._busy[sid] = True
            self._behind[sid] = 1
            t = threading.Thread(
                target=self._run_shard,
                args=(sid,),
                name=f"tms-{self.thread_label}-{self.function_name}-{sid}",
                daemon=True,
            )
            t.start()
            self._threads.append(t)

    # --- what differs between stream kinds (DynamoStreamPoller overrides these) ------------------
    def _shards(self) -> list[str]:
        desc = self.kinesis.describe_stream(StreamName=self.stream_name)["StreamDescription"]
        self.stream_arn = desc["StreamARN"]
        return [shard["ShardId"] for shard in desc["Shards"]]

    def _first_iterator(self, shard_id: str) -> str:
        return str(
            self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard_id, **self._start_position(shard_id)
            )["ShardIterator"]
        )

    # The parameter naming the sequence number: Kinesis and DynamoDB Streams spell it differently.
    sequence_parameter = "StartingSequenceNumber"
    # Where the on-failure record puts the batch's metadata, and what the log calls its records.
    batch_info_key = "KinesisBatchInfo"
    records_noun = "record(s)"

    def _start_position(self, shard_id: str) -> dict[str, str]:
        after = self.checkpoints.get(shard_id)
        if after is None:
            return {"ShardIteratorType": "TRIM_HORIZON"}
        return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", self.sequence_parameter: after}

    def _sequence(self, raw: dict[str, Any]) -> str:
        return str(raw["SequenceNumber"])

    def _behind_after(self, resp: dict[str, Any], raw: list[dict[str, Any]]) -> int:
        return 1 if raw else int(resp.get("MillisBehindLatest", 0) or 0)

    def _batch(self, shard_id: str, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records the function receives: the mapping's filter applied."""
        return self._filter(shard_id, raw)

    @property
    def source(self) -> tuple[str, str]:
        """What this mapping reads, as the write notifications name it: (service, stream name)."""
        return ("kinesis", self.stream_name)

    def notify_write(self) -> None:
        """Records were just written to the stream: the shards are behind until read, and a waiting
        shard reads now rather than at the end of its idle wait."""
        with self._changed:
            self._writes += 1
            for shard_id in self._behind:
                self._behind[shard_id] = max(self._behind[shard_id], 1)
            self._changed.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    @property
    def idle(self) -> bool:
        """True when every shard has been read to its tip and no batch is in flight."""
        with self._lock:
            return not any(self._busy.values()) and not any(self._behind.values())

    # --- per shard ------------------------------------------------------------------------------
    def _run_shard(self, shard_id: str) -> None:
        with acting_as(function(self.function_name)):
            self._read_shard(shard_id)

    def _read_shard(self, shard_id: str) -> None:
        iterator = self._first_iterator(shard_id)
        wait = self.config.poll_interval_s
        while not self._stop.is_set():
            with self._lock:
                seen = self._writes
            try:
                resp = self.kinesis.get_records(ShardIterator=iterator, Limit=self.config.batch_size)
            except Exception:  # the endpoint is going away or briefly unreachable: retry the same read
                if self._stop.is_set():
                    return
                log.warning("get_records failed on %s; retrying", shard_id, exc_info=True)
                time.sleep(self.config.poll_interval_s)
                continue
            raw = resp.get("Records", [])
            iterator = resp.get("NextShardIterator") or iterator
            with self._lock:
                self._busy[shard_id] = bool(raw)
                # A write notified while this read was in flight may be past what it returned: the shard
                # stays behind until a read that started after the write.
                behind = self._behind_after(resp, raw)
                self._behind[shard_id] = behind if self._writes == seen else max(behind, 1)
            if not raw:
                self._idle_wait(seen, wait)
                wait = min(wait * 2, max(self.config.idle_poll_interval_s, self.config.poll_interval_s))
                continue
            wait = self.config.poll_interval_s
            self.stats.batches += 1
            self.stats.records += len(raw)
            records = self._batch(shard_id, raw)
            if records:
                self._deliver(shard_id, records, attempt=0)
            done = self._sequence(raw[-1])
            with self._lock:
                self.checkpoints[shard_id] = done
                self._busy[shard_id] = False
            if self.on_checkpoint is not None:  # after the checkpoint moved: a snapshot never misses it
                self.on_checkpoint(self.function_name, shard_id, done)

    def _idle_wait(self, seen: int, wait: float) -> None:
        """After an empty read: `poll_interval_s` at least (records written meanwhile form one batch),
        then the rest of `wait` unless a write is notified or the mapping stops."""
        if self._stop.wait(self.config.poll_interval_s):
            return
        with self._changed:
            self._changed.wait_for(
                lambda: self._writes != seen or self._stop.is_set(),
                timeout=max(0.0, wait - self.config.poll_interval_s),
            )

    def _filter(self, shard_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Lambda's event filtering: non-matching records count as processed and are not delivered."""
        names = self.config.filter_event_names
        if names is None:
            return records
        kept = []
        for r in records:
            if passes_filter(r["Data"], names):
                kept.append(r)
            else:
                self.stats.filtered += 1
                log.warning("record %s on %s dropped by the mapping filter", r["SequenceNumber"], shard_id)
        return kept

    def _event(self, shard_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r["PartitionKey"],
                        "sequenceNumber": r["SequenceNumber"],
                        "data": base64.b64encode(r["Data"]).decode("ascii"),
                        "approximateArrivalTimestamp": _ts(r.get("ApproximateArrivalTimestamp")),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{shard_id}:{r['SequenceNumber']}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": f"arn:aws:iam::123456789012:role/tms-local-{self.function_name}",
                    "awsRegion": self.region,
                    "eventSourceARN": self.stream_arn,
                }
                for r in records
            ]
        }

    def _deliver(self, shard_id: str, records: list[dict[str, Any]], attempt: int) -> None:
        while records and not self._stop.is_set():
            too_old = (
                time.time() - _ts(records[0].get("ApproximateArrivalTimestamp"))
                > self.config.max_record_age_s
            )
            if attempt > self.config.max_retries or too_old:
                self._on_failure(
                    shard_id, records, attempt, "RecordAgeExceeded" if too_old else "RetryAttemptsExhausted"
                )
                return
            if attempt:
                self.stats.retries += 1
                time.sleep(min(self.config.retry_delay_s * 2 ** (attempt - 1), 5.0))
            response, function_error = self.invoke(self._event(shard_id, records))
            if function_error:
                self.stats.function_errors += 1
                if self.config.bisect_on_error and len(records) > 1:
                    # Splitting spends no retry: halves shrink to the poison record, which alone then
                    # uses up its retries, so a good record never lands in the DLQ beside a bad one.
                    self.stats.bisections += 1
                    mid = len(records) // 2
                    self._deliver(shard_id, records[:mid], attempt)
                    self._deliver(shard_id, records[mid:], attempt)
                    return
                attempt += 1
                continue
            failures = (response or {}).get("batchItemFailures") or []
            if not failures:
                return
            self.stats.partial_failures += 1
            failed = {f.get("itemIdentifier") for f in failures}
            first = next((i for i, r in enumerate(records) if r["SequenceNumber"] in failed), 0)
            records = records[first:]  # checkpoint: everything before the first failure is done
            attempt += 1

    def _on_failure(self, shard_id: str, records: list[dict[str, Any]], attempt: int, condition: str) -> None:
        """AWS's on-failure destination record: batch metadata (under `batch_info_key`), not the data itself."""
        self.stats.sent_to_dlq += 1
        first, last = records[0], records[-1]
        body = {
            "requestContext": {
                "requestId": f"local-{shard_id}-{first['SequenceNumber']}",
                "functionArn": f"arn:aws:lambda:{self.region}:123456789012:function:{self.function_name}",
                "condition": condition,
                "approximateInvokeCount": attempt,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            self.batch_info_key: {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": datetime.fromtimestamp(
                    _ts(first.get("ApproximateArrivalTimestamp")), UTC
                ).isoformat(),
                "approximateArrivalOfLastRecord": datetime.fromtimestamp(
                    _ts(last.get("ApproximateArrivalTimestamp")), UTC
                ).isoformat(),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        log.warning(
            "sending %d %s of %s to the DLQ: %s", len(records), self.records_noun, shard_id, condition
        )
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(body))


def passes_filter(data: bytes, event_names: tuple[str, ...] | None) -> bool:
    """Whether the mapping's {"data": {"eventName": [...]}} filter lets a record through (None: no filter)."""
    return event_names is None or matches_trigger_filter(data, event_names)


def _ts(value: Any) -> float:
    if value is None:
        return time.time()
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


@dataclass
class DynamoStreamPoller(KinesisPoller):
    """The same event-source-mapping contract over a DynamoDB stream (moto stores stream records but never
    runs mappings): batches in shard order, partial batch failures, bisect, bounded retries, and an
    on-failure record with DDBStreamBatchInfo in the DLQ. `kinesis` is a dynamodbstreams client and
    `stream_name` the table's LatestStreamArn."""

    function_name: str = "ticket-lifecycle"
    config: MappingConfig = field(default_factory=lambda: MappingConfig(filter_event_names=None))

    thread_label = "streams"
    sequence_parameter = "SequenceNumber"
    batch_info_key = "DDBStreamBatchInfo"
    records_noun = "stream record(s)"

    @property
    def source(self) -> tuple[str, str]:
        # arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>
        return ("dynamodb", self.stream_name.split(":table/", 1)[-1].split("/", 1)[0])

    def _shards(self) -> list[str]:
        self.stream_arn = self.stream_name
        desc = self.kinesis.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in desc["Shards"]]

    def _first_iterator(self, shard_id: str) -> str:
        return str(
            self.kinesis.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **self._start_position(shard_id)
            )["ShardIterator"]
        )

    def _sequence(self, raw: dict[str, Any]) -> str:
        return str(raw["dynamodb"]["SequenceNumber"])

    def _behind_after(self, resp: dict[str, Any], raw: list[dict[str, Any]]) -> int:
        return 1 if raw else 0  # the streams API has no MillisBehindLatest: an empty read is the tip

    def _batch(self, shard_id: str, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stream records in the shape the shared delivery code uses (sequence number, arrival, data)."""
        return [
            {
                "SequenceNumber": r["dynamodb"]["SequenceNumber"],
                "ApproximateArrivalTimestamp": r["dynamodb"].get("ApproximateCreationDateTime"),
                "Data": r,
            }
            for r in raw
        ]

    def _event(self, shard_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        out = []
        for r in records:
            data = r["Data"]
            change = dict(data["dynamodb"])
            # Lambda delivers the creation time as epoch seconds, the streams API as a timestamp.
            change["ApproximateCreationDateTime"] = _ts(change.get("ApproximateCreationDateTime"))
            out.append(
                {
                    "eventID": data.get("eventID", f"{shard_id}:{r['SequenceNumber']}"),
                    "eventName": data.get("eventName"),
                    "eventVersion": data.get("eventVersion", "1.1"),
                    "eventSource": "aws:dynamodb",
                    "awsRegion": self.region,
                    "dynamodb": change,
                    "eventSourceARN": self.stream_arn,
                }
            )
        return {"Records": out}
