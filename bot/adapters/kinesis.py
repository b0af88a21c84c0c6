"""Kinesis adapter: one TicketSubmitted event per record, partitioned by ticket id."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from bot.errors import TicketWriteError
from contract.models import TicketSubmitted


class TicketWriter(Protocol):
    """Port: hands a validated ticket event to the pipeline."""

    def put(self, event: TicketSubmitted) -> None:
        """Write the event durably or raise TicketWriteError."""


class KinesisTicketWriter:
    """Writes ticket events to the tickets stream."""

    def __init__(self, stream_name: str, client: Any):
        self._stream = stream_name
        self._client = client

    def put(self, event: TicketSubmitted) -> None:
        """Write the event durably or raise TicketWriteError."""
        try:
            self._client.put_record(
                StreamName=self._stream,
                Data=event.to_record_bytes(),
                PartitionKey=event.ticketId,
            )
        except (ClientError, BotoCoreError) as e:
            raise TicketWriteError(f"could not write ticket {event.ticketId} to {self._stream}") from e
