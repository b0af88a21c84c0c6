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


def test_the_json_gives_dynamodbs_numbers_as_numbers_and_keeps_strings_strings() -> None:
    import json
    from decimal import Decimal

    from tools.cli.mail import item_json

    item = {
        "ticket_id": "TKT-20261207-5WBPTD9WH2",
        "retrieval_confidence": Decimal("0.8664"),
        "usage_llm_input_tokens": Decimal("1238"),
        "slack_ts": "1796640221.231365",  # Slack's id: a string, never a number
        "csat_rating": "5",
        "labels": {"b", "a"},
    }

    shown = json.loads(item_json(item))

    assert shown["retrieval_confidence"] == 0.8664 and shown["usage_llm_input_tokens"] == 1238
    assert isinstance(shown["usage_llm_input_tokens"], int)
    assert shown["slack_ts"] == "1796640221.231365" and shown["csat_rating"] == "5"
    assert shown["labels"] == ["a", "b"]
