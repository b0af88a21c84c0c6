"""Bulk ingest: tickets onto the Kinesis stream with batched PutRecords.

PutRecords is not all-or-nothing: the call succeeds while single entries fail (throttling, internal
errors), reported per entry. Only those entries are sent again, with capped exponential backoff and full
jitter (tenacity); SDK-level throttling of the whole call is retried by botocore's own retry config.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt, wait_random_exponential

from contract.errors import TmsError
from contract.models import EVENT_NAME, Source, TicketSubmitted, format_utc, new_ticket_id

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

# Kinesis PutRecords limits: https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024  # data + partition keys of the whole request
MAX_RECORD_BYTES = 1024 * 1024  # data + partition key of one record
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 5.0


class StreamNotFoundError(TmsError):
    """The target Kinesis stream does not exist (or is not active) at the configured endpoint."""


class IngestError(TmsError):
    """A PutRecords call failed as a whole; `report` says what was sent before it."""

    def __init__(self, message: str, report: SendReport):
        self.report = report
        super().__init__(message)


@dataclass
class SendReport:
    """What a bulk send did: records accepted, records given up on, and the achieved rate."""

    sent: int
    failed: int
    elapsed_s: float
    rate: float
    failed_ids: list[str] = field(default_factory=list)
    batches: int = 0
    retried: int = 0  # entries sent again after a per-entry failure

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "elapsed_s": round(self.elapsed_s, 3),
            "rate": round(self.rate, 1),
            "batches": self.batches,
            "retried": self.retried,
            "failed_ids": self.failed_ids,
        }


@cache
def kinesis_client() -> KinesisClient:
    """The process-wide Kinesis client (region and endpoint from the standard AWS variables)."""
    from contract.clients import aws_client

    client: KinesisClient = aws_client("kinesis", profile="ingest")
    return client


@dataclass(frozen=True)
class _Entry:
    ticket_id: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data) + len(self.ticket_id.encode())

    def request(self) -> PutRecordsRequestEntryTypeDef:
        return {"Data": self.data, "PartitionKey": self.ticket_id}


def batches(entries: Iterable[_Entry], max_records: int = MAX_BATCH_RECORDS) -> Iterator[list[_Entry]]:
    """Group entries into PutRecords requests within the record-count and byte limits."""
    batch: list[_Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) >= max_records or size + entry.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


class _Pacer:
    """Caps the send rate: a batch waits until `sent / rate` seconds have passed since the start."""

    def __init__(self, rate: float | None, clock: Callable[[], float], sleep: Callable[[float], None]):
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start = clock()
        self._dispatched = 0

    def wait_for(self, n: int) -> None:
        if self._rate:
            due = self._start + self._dispatched / self._rate
            delay = due - self._clock()
            if delay > 0:
                self._sleep(delay)
        self._dispatched += n


def ensure_stream(client: Any, stream_name: str) -> None:
    """Raise StreamNotFoundError unless `stream_name` exists and accepts writes."""
    try:
        summary = client.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "?")
            raise StreamNotFoundError(f"Kinesis stream {stream_name!r} does not exist at {endpoint}") from e
        raise
    if summary.get("StreamStatus") not in ("ACTIVE", "UPDATING"):
        raise StreamNotFoundError(
            f"Kinesis stream {stream_name!r} is {summary.get('StreamStatus')}, not ACTIVE"
        )


def _progress_bar(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="rec", desc="PutRecords", disable=not (enabled and sys.stderr.isatty()))


def put_tickets(
    events: Iterable[TicketSubmitted],
    *,
    stream_name: str,
    client: Any = None,
    rate: float | None = None,
    progress: bool = False,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send `events` with batched PutRecords (partition key = ticket id), retrying only failed entries.

    `rate` caps records per second. A missing stream raises StreamNotFoundError before anything is sent;
    a whole-call failure raises IngestError carrying the report of what was sent before it.
    """
    total = len(events) if hasattr(events, "__len__") else None  # type: ignore[arg-type]
    return put_records(
        ((e.ticketId, e.to_record_bytes()) for e in events),
        stream_name=stream_name,
        client=client,
        rate=rate,
        progress=progress,
        max_retries=max_retries,
        sleep=sleep,
        clock=clock,
        total=total,
    )


def put_records(
    records: Iterable[tuple[str, bytes]],
    *,
    stream_name: str,
    client: Any = None,
    rate: float | None = None,
    progress: bool = False,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    total: int | None = None,
) -> SendReport:
    """put_tickets for raw (partition key, data) records, e.g. records redriven from the DLQ."""
    if rate is not None and rate <= 0:
        raise ValueError("rate must be > 0")
    kinesis = client or kinesis_client()
    ensure_stream(kinesis, stream_name)

    entries = (_Entry(key, data) for key, data in records)
    # A batch never holds more than one second's worth of records, so the cap holds within each second.
    max_records = MAX_BATCH_RECORDS if rate is None else max(1, min(MAX_BATCH_RECORDS, int(rate)))
    pacer = _Pacer(rate, clock, sleep)
    report = SendReport(sent=0, failed=0, elapsed_s=0.0, rate=0.0)
    started = clock()

    def send(pending: list[_Entry]) -> list[_Entry]:
        pacer.wait_for(len(pending))
        try:
            answer = kinesis.put_records(StreamName=stream_name, Records=[e.request() for e in pending])
        except ClientError as e:
            report.elapsed_s = clock() - started
            code = e.response["Error"]["Code"]
            if code == "ResourceNotFoundException":
                raise StreamNotFoundError(
                    f"Kinesis stream {stream_name!r} disappeared during the send"
                ) from e
            raise IngestError(
                f"PutRecords failed ({code}) after {report.sent} records were sent: {e}", report
            ) from e
        report.batches += 1
        if not answer.get("FailedRecordCount"):
            accepted, failed = pending, []
        else:
            results = answer["Records"]
            accepted = [p for p, r in zip(pending, results, strict=True) if "ErrorCode" not in r]
            failed = [p for p, r in zip(pending, results, strict=True) if "ErrorCode" in r]
        report.sent += len(accepted)
        bar.update(len(accepted))
        return failed

    def count_retry(state: RetryCallState) -> None:
        report.retried += len(state.outcome.result()) if state.outcome else 0

    def give_up(state: RetryCallState) -> list[_Entry]:
        return state.outcome.result() if state.outcome else []

    retrying = Retrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=wait_random_exponential(multiplier=BACKOFF_BASE_S, max=BACKOFF_MAX_S),
        retry=retry_if_result(bool),
        before_sleep=count_retry,
        retry_error_callback=give_up,
        sleep=sleep,
        reraise=True,
    )
    with _progress_bar(total, progress) as bar:
        oversized: list[str] = []
        for batch in batches(_checked(entries, oversized), max_records):
            pending = batch

            def attempt() -> list[_Entry]:
                nonlocal pending
                pending = send(pending)  # each attempt sends only what is still failing
                return pending

            report.failed_ids.extend(e.ticket_id for e in retrying(attempt))
        report.failed_ids.extend(oversized)
    report.failed = len(report.failed_ids)
    report.elapsed_s = clock() - started
    report.rate = report.sent / report.elapsed_s if report.elapsed_s > 0 else 0.0
    return report


def _checked(entries: Iterable[_Entry], oversized: list[str]) -> Iterator[_Entry]:
    # Kinesis rejects the whole request for one record over 1 MiB; the contract keeps tickets far below,
    # so such a record is reported as failed rather than breaking its batch.
    for entry in entries:
        if entry.size > MAX_RECORD_BYTES:
            oversized.append(entry.ticket_id)
        else:
            yield entry


# --- one ticket from a person or a script (`tms submit`) ---------------------------------------------------


def submission(doc: dict[str, Any], now: datetime | None = None) -> TicketSubmitted:
    """One ticket from a record a person or a script wrote: upcast and validated exactly as the trigger
    does (InvalidTicketError names every field and why), with what a hand-written record may leave out
    filled in: eventName, a fresh ticket id in tms's format, submittedAt = now, source = api."""
    from pipeline.domain.intake import validate_ticket
    from pipeline.domain.upcast import is_thesis_shape

    now = (now or datetime.now(UTC)).astimezone(UTC)
    filled = dict(doc)
    filled.setdefault("eventName", EVENT_NAME)
    if not is_thesis_shape(filled):  # a thesis record is upcast as it is (it has its own id and time)
        filled.setdefault("submittedAt", format_utc(now))
        filled.setdefault("source", Source.API.value)
        if "ticketId" not in filled:
            filled["ticketId"] = new_ticket_id(_submitted_day(filled["submittedAt"], now))
    return validate_ticket(filled)


def _submitted_day(value: Any, now: datetime) -> datetime:
    # Our own ids carry the submission date: mint the id for the day the record says it was submitted.
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return now
    return parsed if parsed.tzinfo else now


def submit_ticket(ticket: TicketSubmitted, *, stream_name: str, client: Any = None) -> SendReport:
    """Put one validated ticket on the stream (partition key = ticket id); IngestError if it was not sent."""
    report = put_tickets([ticket], stream_name=stream_name, client=client)
    if report.sent != 1:
        raise IngestError(f"ticket {ticket.ticketId} was not accepted by the stream", report)
    return report
