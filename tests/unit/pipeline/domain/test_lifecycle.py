"""The ticket lifecycle after triage: allowed steps, and where a customer's answer goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract.models import TicketStatus as S
from pipeline.domain.lifecycle import ReplyRoute, Step, next_status, route_reply

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("step", "current", "expected"),
    [
        (Step.CLAIM_SEND, S.APPROVED, S.SENDING),
        (Step.SENT, S.SENDING, S.SENT),
        (Step.SEND_FAILED, S.SENDING, S.SEND_FAILED),
        (Step.DELIVERED, S.SENT, S.WAITING_CUSTOMER),
        (Step.CUSTOMER_REPLIED, S.WAITING_CUSTOMER, S.CUSTOMER_REPLIED),
        (Step.CUSTOMER_REPLIED, S.CUSTOMER_REPLIED, S.CUSTOMER_REPLIED),
        (Step.REOPENED, S.RESOLVED, S.CUSTOMER_REPLIED),
        (Step.BOUNCED, S.SENT, S.SENT),
    ],
)
def test_allowed_steps_lead_to_the_next_status(step, current, expected):
    assert next_status(step, current) == expected


@pytest.mark.parametrize(
    ("step", "current"),
    [
        (Step.CLAIM_SEND, S.TRIAGED),  # never sent without approval
        (Step.CLAIM_SEND, S.SENDING),  # a second claim (double click, redelivery) loses
        (Step.CLAIM_SEND, S.SENT),
        (Step.SENT, S.APPROVED),
        (Step.DELIVERED, S.CUSTOMER_REPLIED),  # a late delivery event does not hide the customer's answer
        (Step.CUSTOMER_REPLIED, S.PROCESSING),
        (Step.CUSTOMER_REPLIED, S.RESOLVED),  # resolved tickets are reopened, not appended to
    ],
)
def test_forbidden_steps_are_refused(step, current):
    with pytest.raises(ValueError, match="not allowed"):
        next_status(step, current)


def test_answer_to_an_open_ticket_is_appended():
    assert route_reply({"status": "WAITING_CUSTOMER"}, NOW) is ReplyRoute.APPEND


def test_answer_within_the_reopen_window_reopens():
    item = {"status": "RESOLVED", "resolved_at": "2025-02-20T12:00:00.000Z"}
    assert route_reply(item, NOW) is ReplyRoute.REOPEN


def test_answer_after_the_reopen_window_opens_a_new_ticket():
    item = {"status": "RESOLVED", "resolved_at": "2025-02-01T12:00:00.000Z"}
    assert route_reply(item, NOW) is ReplyRoute.NEW_TICKET
    assert route_reply(item, NOW, window=timedelta(days=60)) is ReplyRoute.REOPEN


def test_answer_to_a_failed_ticket_opens_a_new_ticket():
    assert route_reply({"status": "FAILED"}, NOW) is ReplyRoute.NEW_TICKET
