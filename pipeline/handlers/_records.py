"""What both Kinesis-fed handlers (trigger, intake audit) read off a record besides its data."""

from __future__ import annotations

from contract.lambda_events import KinesisRecord
from pipeline.domain.intake import RecordMeta


def record_meta(record: KinesisRecord) -> RecordMeta:
    """Where a record came from, so a dead letter can be traced back to its shard position."""
    return RecordMeta(
        partition_key=record.partition_key,
        sequence_number=record.sequence_number,
        event_source_arn=record.event_source_arn,
        approximate_arrival=record.approximate_arrival,
    )
