"""`tms ticket show --json` says how a ticket ended and what its customer thought (issue 32)."""

from __future__ import annotations

from tools.cli.mail import with_outcome


def test_an_auto_closed_and_rated_ticket_shows_its_close_reason_and_csat() -> None:
    item = {
        "ticket_id": "TKT-20250107-BILL000002",
        "status": "CLOSED",
        "close_reason": "no_answer",
        "csat_rating": "2",
        "csat_comment": "Nobody read my last mail, call me on [PHONE]",
        "csat_at": "2025-01-15T07:45:00.000Z",
    }

    shown = with_outcome(item)

    assert shown["close_reason"] == "no_answer"
    assert shown["csat"] == {
        "rating": "2",
        "comment": "Nobody read my last mail, call me on [PHONE]",
        "at": "2025-01-15T07:45:00.000Z",
    }


def test_a_resolved_ticket_without_an_answer_yet_and_an_open_one() -> None:
    resolved = with_outcome({"ticket_id": "TKT-20250106-BILL000001", "status": "RESOLVED"})
    waiting = with_outcome({"ticket_id": "TKT-20250109-L0GIN00004", "status": "WAITING_CUSTOMER"})

    assert (resolved["close_reason"], resolved["csat"]) == ("resolved", None)
    assert (waiting["close_reason"], waiting["csat"]) == (None, None)
