"""Reading Lambda events and answering stream batches (contract/lambda_events.py): what the event source
mapping sees when some, all or none of a batch's records fail."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from contract.lambda_events import (
    BatchFailed,
    KinesisRecord,
    kinesis_records,
    process_batch,
    sns_attribute,
    sns_messages,
    stream_sequence_number,
)


def _kinesis_event(*payloads: bytes) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tickets",
                "kinesis": {
                    "partitionKey": f"TKT-{i}",
                    "sequenceNumber": str(1000 + i),
                    "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": 1764979200.25,
                },
            }
            for i, data in enumerate(payloads)
        ]
    }


def _fail_on(bad: set[bytes]):
    def handle(record: KinesisRecord) -> str:
        if record.data in bad:
            raise ValueError(f"cannot handle {record.data.decode()}")
        return record.data.decode()

    return handle


def test_a_kinesis_record_is_read_with_its_data_decoded_and_its_position():
    (record,) = kinesis_records(_kinesis_event(b'{"ticket": 1}'))

    assert record == KinesisRecord(
        data=b'{"ticket": 1}',
        partition_key="TKT-0",
        sequence_number="1000",
        event_source_arn="arn:aws:kinesis:us-east-1:123456789012:stream/tickets",
        approximate_arrival=1764979200.25,
    )


def test_failed_records_are_named_by_sequence_number_and_the_rest_still_run(caplog):
    records = kinesis_records(_kinesis_event(b"a", b"b", b"c", b"d"))
    log = logging.getLogger("test-batch")

    with caplog.at_level(logging.WARNING, logger="test-batch"):
        batch = process_batch(records, _fail_on({b"b", b"d"}), lambda r: r.sequence_number, log)

    assert batch.results == ["a", "c"]
    assert batch.response() == {"batchItemFailures": [{"itemIdentifier": "1001"}, {"itemIdentifier": "1003"}]}
    # Each failure is logged with its traceback and position, so a retried record can be traced.
    failures = [r for r in caplog.records if r.message.startswith("record failed")]
    assert [(r.item, str(r.exc_info[1])) for r in failures] == [  # type: ignore[attr-defined,index]
        ("1001", "cannot handle b"),
        ("1003", "cannot handle d"),
    ]


def test_a_batch_that_entirely_failed_raises_so_the_mapping_retries_it():
    records = kinesis_records(_kinesis_event(b"a", b"b"))

    with pytest.raises(
        BatchFailed, match=r"all 2 records .*ValueError: cannot handle a.*cannot handle b"
    ) as err:
        process_batch(records, _fail_on({b"a", b"b"}), lambda r: r.sequence_number)

    assert [str(e) for e in err.value.errors] == ["cannot handle a", "cannot handle b"]


def test_an_empty_batch_answers_with_no_failures():
    batch = process_batch(kinesis_records({"Records": []}), _fail_on(set()), lambda r: r.sequence_number)

    assert batch.results == []
    assert batch.response() == {"batchItemFailures": []}


def test_a_dynamodb_stream_record_is_named_by_its_sequence_number():
    raw = {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "4200", "Keys": {"pk": {"S": "T-1"}}}}

    def boom(record: dict[str, Any]) -> str:
        raise RuntimeError("sink down")

    ok = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "4199"}}
    batch = process_batch([ok, raw], lambda r: boom(r) if r is raw else "written", stream_sequence_number)

    assert batch.response() == {"batchItemFailures": [{"itemIdentifier": "4200"}]}


def test_sns_messages_are_read_with_their_attributes():
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "MessageId": "m-1",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:tickets",
                    "Subject": None,
                    "Message": '{"ticket_id": "T-1"}',
                    "MessageAttributes": {"event_type": {"Type": "String", "Value": "TicketTriaged"}},
                },
            }
        ]
    }

    (sns,) = sns_messages(event)

    assert sns["Message"] == '{"ticket_id": "T-1"}'
    assert sns_attribute(sns, "event_type") == "TicketTriaged"
    assert sns_attribute(sns, "not_sent") == ""
    assert sns_messages({}) == []
