"""Customer satisfaction (issue 32) on moto with the real adapters: one question per ended ticket, a signed
single-use expiring link, the answer recorded once; forged, reused and expired links record nothing. The
comment goes through the same PII detector as intake (the offline one here) before it is stored or posted."""

# ruff: noqa: F811  (test functions take the `world` fixture imported from test_mailflow)
from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from contract.models import PiiResult
from local.pii import detect_pii_entities
from pipeline.domain import csat
from pipeline.domain.csat import CsatService, Verdict, form_page, result_page
from tests.unit.pipeline.domain.test_mailflow import (  # noqa: F401  (the moto world and its fixture)
    CONFIG,
    NOW,
    TID,
    World,
    world,
)

KEY = b"k" * 32
BASE = "https://rate.tms.example.com"
VALID = timedelta(days=14)


class OfflinePii:
    """The PII port on the offline detector the local stack answers DetectPiiEntities with."""

    def detect(self, text: str) -> PiiResult:
        return PiiResult.model_validate(detect_pii_entities(text, "en"))


def _service(world: World) -> CsatService:
    return CsatService(world.store, world.sender, world.events, CONFIG, KEY, BASE, VALID, OfflinePii())


def _asked(world: World) -> tuple[CsatService, str]:
    """A resolved ticket whose customer was asked; the token in the mailed link."""
    world.put_ticket(status="RESOLVED", mail_seq=1, mail_references=[f"<{TID}.1@tms.example.com>"])
    service = _service(world)
    assert service.ask(TID, NOW) == "asked"
    mail = message_from_bytes((world.outbox / f"{TID}-2.eml").read_bytes(), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    match = re.search(r"https://rate\.tms\.example\.com/rate\?t=(\S+)", text)
    assert match, text
    world.published()
    return service, match[1]


def test_ended_ticket_gets_one_rating_question_by_mail(world):
    service, _token = _asked(world)

    assert service.ask(TID, NOW + timedelta(minutes=1)) == "already_asked"
    assert len(list(world.outbox.glob("*.eml"))) == 1
    item = world.item()
    assert item["csat_asked_at"] == "2025-01-02T10:30:00.000Z" and "csat_rating" not in item


def test_rating_link_shows_a_form_and_records_the_answer_once(world):
    service, token = _asked(world)

    # Opening the link (a mail scanner does too) records nothing: it only shows the form
    assert service.check(token, NOW).verdict is Verdict.OK
    assert "csat_rating" not in world.item()
    page = form_page(token)
    assert '<form method="post">' in page and 'name="rating" value="5"' in page and "<script" not in page

    # Submitting records the rating, with the comment redacted, and tells the thread
    first = service.record(
        token, "4", "Fixed fast. Call me on 555-0100 if needed, or mail ada@example.com", NOW
    )
    assert first.verdict is Verdict.OK and first.rating == "4"
    item = world.item()
    assert item["csat_rating"] == "4"
    assert "ada@example.com" not in item["csat_comment"] and "[EMAIL]" in item["csat_comment"]
    (event,) = world.published()
    assert (
        event["kind"] == "csat_received" and event["rating"] == "4" and "ada@example.com" not in event["text"]
    )

    # A second submission records nothing and says so
    second = service.record(token, "1", "changed my mind", NOW + timedelta(minutes=1))
    assert second.verdict is Verdict.USED
    assert world.item()["csat_rating"] == "4" and world.published() == []
    assert service.check(token, NOW).verdict is Verdict.USED
    status, page = result_page(second)
    assert status == 409 and "Nothing new was recorded" in page


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # another signature
        lambda t: (
            csat._b64(b"TKT-20250102-ABCDEFGHJK|n|9999999999") + "." + t.partition(".")[2]
        ),  # other body
        lambda t: "not-a-token",
        lambda t: "",
    ],
    ids=["signature", "payload", "garbage", "empty"],
)
def test_forged_token_records_nothing_and_says_so(world, mangle):
    service, token = _asked(world)

    out = service.record(mangle(token), "5", "", NOW)

    assert out.verdict is Verdict.FORGED and "csat_rating" not in world.item()
    status, page = result_page(out)
    assert status == 400 and "not issued by us" in page and TID not in page


def test_expired_token_records_nothing_and_says_so(world):
    service, token = _asked(world)

    out = service.record(token, "5", "", NOW + VALID + timedelta(seconds=1))

    assert out.verdict is Verdict.EXPIRED and "csat_rating" not in world.item()
    assert result_page(out)[0] == 410


def test_token_signed_with_another_key_is_forged(world):
    _, token = _asked(world)
    other = CsatService(world.store, world.sender, world.events, CONFIG, b"x" * 32, BASE, VALID, OfflinePii())

    assert other.record(token, "5", "", NOW).verdict is Verdict.FORGED


def test_a_form_without_a_rating_records_nothing(world):
    service, token = _asked(world)

    assert service.record(token, "11", "", NOW).verdict is Verdict.INVALID
    assert service.record(token, "", "", NOW).verdict is Verdict.INVALID
    assert "csat_rating" not in world.item()
    # the link still works for a real answer
    assert service.record(token, "up", "", NOW).verdict is Verdict.OK


def test_pages_escape_what_they_echo():
    page = form_page('"><script>alert(1)</script>')
    assert "<script>" not in page and "&lt;script&gt;" in page
