"""The bot over moto in-process, as the listener and reply tests start it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial

import boto3
import pytest
from moto import mock_aws

from tests.fakes.bot_harness import BotHarness, make_tables, running_bot, write_catalog

STREAM = TABLE = "tickets"


@pytest.fixture
def start_bot(tmp_path, monkeypatch) -> Iterator[Callable[..., AbstractContextManager[BotHarness]]]:
    """`running_bot` over moto (stream and table "tickets", the small catalog), open for the whole test;
    keywords go to running_bot. Other moto clients the test makes share the same mocked account."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        kinesis, dynamodb = boto3.client("kinesis"), boto3.client("dynamodb")
        make_tables(kinesis, dynamodb, STREAM, TABLE)
        yield partial(
            running_bot,
            kinesis=kinesis,
            dynamodb=dynamodb,
            stream_name=STREAM,
            table_name=TABLE,
            catalog_path=write_catalog(tmp_path),
        )
