"""Tells the SLA timer function about first responses and new priorities: an asynchronous Lambda invoke with
the command shapes of contract.models, so the bot never waits for the scheduler inside Slack's 3 s."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.observability import logger
from contract.models import CsatAsk, Priority, SlaFirstResponse, SlaReprioritised


class LambdaSlaNotifier:
    """InvocationType=Event to the sla-timer function (on AWS and on the local stack alike)."""

    def __init__(self, function_name: str, lambda_client: Any):
        self._function = function_name
        self._lambda = lambda_client

    def _send(self, ticket_id: str, body: str) -> None:
        try:
            self._lambda.invoke(FunctionName=self._function, InvocationType="Event", Payload=body.encode())
        except (ClientError, BotoCoreError):
            # The action's own write already recorded first_response_at: a timer that still fires finds it
            # and does nothing. Deleting the schedules is housekeeping, so a failure is logged, not shown.
            logger.exception("could not notify the SLA timers", extra={"ticket_id": ticket_id})

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        """The timers can go."""
        self._send(ticket_id, SlaFirstResponse(ticket_id=ticket_id, at=at, by=by).model_dump_json())

    def reprioritised(self, ticket_id: str, priority: Priority, at: datetime) -> None:
        """The due time moves."""
        self._send(
            ticket_id, SlaReprioritised(ticket_id=ticket_id, priority=priority, at=at).model_dump_json()
        )

    def resolved(self, ticket_id: str, at: datetime) -> None:
        """The rating question goes out (the timer function sends it, like the nudge)."""
        self._send(ticket_id, CsatAsk(ticket_id=ticket_id, at=at).model_dump_json())


class NoSlaNotifier:
    """No timer function configured: timers expire on their own (and find the first response recorded)."""

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        """Nothing to tell."""

    def reprioritised(self, ticket_id: str, priority: Priority, at: datetime) -> None:
        """Nothing to tell."""

    def resolved(self, ticket_id: str, at: datetime) -> None:
        """Nothing to tell."""
