"""Customer mail, pure: the reply we build and what we read from the answers that come back."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.domain import mail

EVENTS = Path(__file__).resolve().parent.parent / "events" / "mail"
TID = "TKT-20250102-ABCDEFGHJK"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)


def _reply(**overrides) -> mail.OutgoingReply:
    fields = dict(
        ticket_id=TID,
        sequence=1,
        subject="Login broken",
        body="Dear Ada,\n\nwe reset your session <now> & it works.\n\nThe tms team",
        to_name="Ada Lovelace",
        to_address="ada@example.com",
        from_address="support@tms.example.com",
        reply_to="help@tms.example.com",
        sent_at=NOW,
    )
    return mail.OutgoingReply(**(fields | overrides))


def _read(name: str) -> bytes:
    return (EVENTS / name).read_bytes()


def test_reply_is_multipart_text_and_html_with_ticket_subject_and_stable_message_id():
    msg = message_from_bytes(mail.build_reply(_reply()).as_bytes(), policy=policy.default)

    assert msg["Subject"] == f"[{TID}] Login broken"
    assert msg["Message-ID"] == f"<{TID}.1@tms.example.com>"
    assert msg["To"] == "Ada Lovelace <ada@example.com>" and msg["Reply-To"] == "help@tms.example.com"
    assert msg["In-Reply-To"] is None and msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "we reset your session <now> & it works." in plain
    assert "&lt;now&gt; &amp; it works." in html and "<p>Dear Ada,</p>" in html
    # The same mail built twice has the same Message-ID: a resend would be recognisable as a duplicate.
    again = message_from_bytes(mail.build_reply(_reply()).as_bytes(), policy=policy.default)
    assert again["Message-ID"] == msg["Message-ID"]


def test_second_mail_threads_under_the_conversation():
    refs = (f"<{TID}.1@tms.example.com>", "<CAF123abc@mail.example.com>")
    msg = message_from_bytes(mail.build_reply(_reply(sequence=2, references=refs)).as_bytes())

    assert msg["Message-ID"] == f"<{TID}.2@tms.example.com>"
    assert msg["In-Reply-To"] == "<CAF123abc@mail.example.com>"
    assert msg["References"].split() == list(refs)


def test_non_ascii_reply_survives_the_round_trip():
    raw = mail.build_reply(_reply(subject="Grüße aus Köln", body="Schöne Grüße, 東京")).as_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == f"[{TID}] Grüße aus Köln"
    assert "Schöne Grüße, 東京" in msg.get_body(("plain",)).get_content()
    raw.decode("ascii")  # 7-bit clean on the wire


def test_plain_reply_keeps_new_text_and_drops_signature_and_quote():
    parsed = mail.parse_inbound(_read("reply_plain.eml"))

    assert parsed.text == "Thanks, the reset worked but now I get error 503 on the dashboard."
    assert parsed.from_address == "ada@example.com" and parsed.from_name == "Ada Lovelace"
    assert parsed.message_id == "<CAF123abc@mail.example.com>"
    assert parsed.automated == ""
    assert mail.find_ticket_id(parsed, "tms.example.com") == TID


def test_html_only_mail_becomes_text_without_quotes_styles_or_scripts():
    parsed = mail.parse_inbound(_read("html_only.eml"))

    assert parsed.text == "Still broken & urgent.\n\nSecond line"
    assert "HTML-only mail converted to text" in parsed.notes


def test_latin1_mail_is_decoded_in_headers_and_body():
    parsed = mail.parse_inbound(_read("latin1.eml"))

    assert parsed.from_name == "Jürgen Müller"
    assert parsed.text == "Die Lösung funktioniert nicht, schöne Grüße."
    assert mail.find_ticket_id(parsed, "tms.example.com") == TID  # from the encoded subject


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [("auto_reply.eml", "Auto-Submitted: auto-replied"), ("bounce.eml", "delivery status report (bounce)")],
)
def test_auto_replies_and_bounces_are_recognised_as_automated(fixture, reason):
    assert mail.parse_inbound(_read(fixture)).automated == reason


def test_malformed_bytes_raise_a_typed_error():
    with pytest.raises(mail.MalformedMailError):
        mail.parse_inbound(_read("malformed.eml"))


def test_large_attachment_is_ignored_and_noted():
    raw = (
        b"From: ada@example.com\r\nSubject: [" + TID.encode() + b"] logs\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
        b"Logs attached.\r\n--B\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="logs.zip"\r\n\r\n'
        + base64.encodebytes(b"\0" * 10_000_000)
        + b"\r\n--B--\r\n"
    )
    parsed = mail.parse_inbound(raw)

    assert parsed.text == "Logs attached."
    assert any("logs.zip" in n for n in parsed.notes)


def test_only_our_own_message_ids_match_a_ticket():
    forged = mail.InboundMail(
        message_id="<x@evil.example>",
        from_address="mallory@evil.example",
        from_name="",
        subject="hello",
        text="",
        in_reply_to=(f"<{TID}.1@evil.example>",),
        references=(),
    )
    assert mail.find_ticket_id(forged, "tms.example.com") is None


def test_subject_without_a_well_formed_id_matches_nothing():
    parsed = mail.InboundMail("", "a@b.c", "", "Re: [TKT-2025-NOPE] hi", "", (), ())
    assert mail.find_ticket_id(parsed, "tms.example.com") is None


def test_quoted_lines_and_outlook_headers_are_stripped():
    text = "Yes please.\n\n> earlier\n> text\n\n________________________________\nFrom: Support\nSent: today"
    assert mail.strip_quoted(text) == "Yes please."


def test_mail_receive_of_a_missing_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    from tools.cli import main

    missing = tmp_path / "nope.eml"

    assert main(["mail", "receive", str(missing)]) == 2
    assert f"tms: error: cannot read {missing}: No such file or directory" in capsys.readouterr().err
