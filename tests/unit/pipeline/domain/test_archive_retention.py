"""A triaged ticket's item carries the table's TTL attribute: it expires `retention` after triage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract import names
from contract.models import SentimentResult
from local.offline_reply import OfflineReplyModel
from local.sentiment import detect_sentiment
from pipeline.domain.archive import archive_ticket
from pipeline.domain.triage import draft_reply
from tests.conftest import make_ticket


class _Store:
    def put(self, key: str, body: str) -> None:
        pass


def test_the_item_update_sets_the_ttl_attribute_from_the_retention() -> None:
    ticket = make_ticket()
    sentiment = SentimentResult.model_validate(detect_sentiment(ticket.data.sentiment_text(), "en"))
    triage = draft_reply(ticket, sentiment, OfflineReplyModel())
    now = datetime(2026, 12, 1, tzinfo=UTC)

    out = archive_ticket(ticket, sentiment, triage, _Store(), now=now, retention=timedelta(days=730))

    (placeholder,) = [k for k, v in out["attribute_names"].items() if v == names.TABLE_TTL_ATTR]
    value = out["attribute_values"][":v" + placeholder.removeprefix("#f")]
    assert value == {"N": str(int((now + timedelta(days=730)).timestamp()))}
    assert f"{placeholder} = :v{placeholder.removeprefix('#f')}" in out["update_expression"]
