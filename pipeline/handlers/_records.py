"""What both Kinesis-fed handlers (trigger, intake audit) read off a record besides its data."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from pipeline.domain.intake import RecordMeta


def record_meta(record: KinesisStreamRecord) -> RecordMeta:
    """Where a record came from, so a dead letter can be traced back to its shard position."""
    return RecordMeta(
        partition_key=record.kinesis.partition_key,
        sequence_number=record.kinesis.sequence_number,
        event_source_arn=record.event_source_arn,
        approximate_arrival=record.kinesis.approximate_arrival_timestamp,
    )
