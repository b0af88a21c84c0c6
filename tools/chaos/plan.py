"""The load plan of a chaos run: valid tickets, poison records of every kind, redeliveries, and sending them."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.errors import TmsError
from contract.models import DESCRIPTION_MAX, TicketSubmitted
from tools import ingest
from tools.chaos.faults import DEFAULT_FAULTS

REDELIVER_FRACTION = 0.10
POISON_FRACTION = 0.01
# Incident bursts in the load (tools.generator.generated_load): the grouping is reconciled with their truth.
CHAOS_INCIDENTS = 5
REPLAY_BATCH = 50  # records per replayed batch (half the redeliveries are whole batches)
POISON_KINDS = (
    "bad_json",
    "wrong_event_name",
    "missing_fields",
    "oversized_description",
    "invalid_utf8",
    "empty_body",
)
POISON_KEY_PREFIX = "poison-"


@dataclass(frozen=True)
class ChaosConfig:
    """One chaos run: how many tickets, which faults, how much redelivery and poison."""

    tickets: int
    seed: int = 7
    faults: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FAULTS))
    redeliver: float = REDELIVER_FRACTION
    poison: float = POISON_FRACTION
    incidents: int = CHAOS_INCIDENTS
    timeout_s: float = 3600.0
    alarm_period_s: float = 15.0
    etl: bool = True

    def faults_spec(self) -> str:
        """The TMS_FAULTS value."""
        return ",".join(f"{k}:{v:g}" for k, v in self.faults.items())


@dataclass(frozen=True)
class Record:
    """One Kinesis record: partition key and payload."""

    partition_key: str
    data: bytes


@dataclass(frozen=True)
class Poison:
    """A record that can never become a ticket, and why."""

    kind: str
    record: Record


def poison_count(tickets: int, fraction: float = POISON_FRACTION) -> int:
    """`fraction` of the tickets, and at least one of each kind."""
    return max(len(POISON_KINDS), math.ceil(tickets * fraction)) if fraction > 0 else 0


def make_poison(count: int, template: TicketSubmitted, rng: random.Random) -> list[Poison]:
    """`count` poison records cycling through every kind, built from a valid ticket's shape."""
    valid = json.loads(template.to_record_bytes())
    out = []
    for i in range(count):
        kind = POISON_KINDS[i % len(POISON_KINDS)]
        doc = json.loads(json.dumps(valid))
        doc["ticketId"] = f"{template.ticketId[:13]}{rng.randrange(36**10):010d}"[:23]
        if kind == "bad_json":
            data = json.dumps(doc).encode()[: rng.randint(10, 60)]
        elif kind == "wrong_event_name":
            doc["eventName"] = "TicketUpdated"
            data = json.dumps(doc).encode()
        elif kind == "missing_fields":
            del doc["data"]["subject"]
            del doc["data"]["customer"]["email"]
            data = json.dumps(doc).encode()
        elif kind == "oversized_description":
            doc["data"]["description"] = "x" * (DESCRIPTION_MAX + 1)
            data = json.dumps(doc).encode()
        elif kind == "invalid_utf8":
            data = json.dumps(doc).encode().replace(b'"description": "', b'"description": "\xff\xfe\xc3(', 1)
        else:
            data = b""
        out.append(Poison(kind, Record(f"{POISON_KEY_PREFIX}{kind}-{i}", data)))
    return out


def plan_redeliveries(
    records: Sequence[Record], fraction: float, rng: random.Random, batch: int = REPLAY_BATCH
) -> tuple[list[Record], int]:
    """About `fraction` of `records` again: half as whole contiguous batches replayed, half one by one.
    Returns the records to resend and the number of whole batches among them."""
    target = round(len(records) * fraction)
    if target == 0 or not records:
        return [], 0
    chosen: set[int] = set()
    out: list[Record] = []
    batches = 0
    size = max(1, min(batch, target // 2))
    while target // 2 - len(out) >= size:
        start = rng.randrange(0, max(1, len(records) - size + 1))
        span = range(start, min(len(records), start + size))
        if any(i in chosen for i in span):
            continue
        chosen.update(span)
        out.extend(records[i] for i in span)
        batches += 1
    singles = [i for i in range(len(records)) if i not in chosen]
    rng.shuffle(singles)
    out.extend(records[i] for i in singles[: target - len(out)])
    return out, batches


def put_records(kinesis: Any, stream_name: str, records: Sequence[Record], attempts: int = 8) -> int:
    """Send `records` in order with the ingest sender (batched PutRecords, only failed entries resent,
    `attempts` tries each); returns records accepted, or raises when any could not be put."""
    report = ingest.put_records(
        ((r.partition_key, r.data) for r in records),
        stream_name=stream_name,
        client=kinesis,
        max_retries=attempts - 1,
        total=len(records),
    )
    if report.failed:
        raise TmsError(f"{report.failed} records could not be put on {stream_name}")
    return report.sent
