"""Customer mail, pure: the reply we build and what we read from the answers that come back."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from pipeline.domain import mail
from tests.paths import EVENTS

EVENTS = EVENTS / "mail"
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


# --- Hostile input (issue 27.6): every kind has a defined outcome, never an exception ---------------------


def _nested(levels: int) -> bytes:
    head = b"From: ada@example.com\r\nSubject: nest\r\nMIME-Version: 1.0\r\n"
    head += b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    body = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i)
        for i in range(1, levels)
    )
    body += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhello from the bottom\r\n" % (levels - 1)
    body += b"".join(b"--b%d--\r\n" % i for i in range(levels - 1, -1, -1))
    return head + body


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("charset_utf7.eml", "charset 'utf-7' not accepted"),
        ("broken_base64.eml", "broken base64"),
        ("no_from.eml", "no sender address"),
    ],
)
def test_mail_whose_only_text_cannot_be_read_safely_is_malformed(fixture, reason):
    with pytest.raises(mail.MalformedMailError, match=reason):
        mail.parse_inbound(_read(fixture))


def test_idna_charset_part_is_dropped_with_a_note_and_the_other_part_is_read():
    parsed = mail.parse_inbound(_read("charset_idna.eml"))

    assert parsed.text == "Still broken after the reset."
    assert "dropped a text/plain part: charset 'idna' not accepted" in parsed.notes


def test_broken_quoted_printable_is_read_leniently_as_written():
    parsed = mail.parse_inbound(_read("broken_qp.eml"))

    assert parsed.text.startswith("Still broken =ZZ and")


def test_encoded_words_in_refused_or_unknown_charsets_stay_as_written():
    parsed = mail.parse_inbound(_read("encoded_headers.eml"))

    assert parsed.subject.startswith("=?idna?q?xn--bcher-kva?= =?utf-7?q?+ADw-b+AD4-?=")  # not "<b>"
    assert parsed.from_name == "=?x-unknown?q?Ada?=" and parsed.from_address == "ada@example.com"


def test_raw_8bit_and_nul_bytes_in_headers_and_body_are_replaced_not_fatal():
    parsed = mail.parse_inbound(_read("eightbit_headers.eml"))

    assert parsed.from_address == "juergen@example.de" and "\x00" not in parsed.from_name + parsed.text
    assert parsed.text.startswith("Raw 8-bit bytes")


def test_two_from_addresses_are_counted_for_the_trust_check():
    assert mail.parse_inbound(_read("two_from.eml")).from_count == 2


def test_huge_header_section_is_malformed():
    raw = b"From: ada@example.com\r\nSubject: " + b"A" * (mail.MAX_HEADER_BYTES + 1) + b"\r\n\r\nhi\r\n"
    with pytest.raises(mail.MalformedMailError, match="header section"):
        mail.parse_inbound(raw)


def test_many_from_addresses_in_a_huge_header_are_malformed_fast():
    raw = b"From: " + b", ".join(b"x%d@y.example" % i for i in range(20_000)) + b"\r\n\r\nhi\r\n"
    with pytest.raises(mail.MalformedMailError):
        mail.parse_inbound(raw)


def test_multiparts_nested_deeper_than_the_limit_are_dropped_and_nothing_readable_is_malformed():
    with pytest.raises(mail.MalformedMailError, match="nested deeper"):
        mail.parse_inbound(_nested(mail.MAX_MIME_DEPTH + 5))
    assert mail.parse_inbound(_nested(mail.MAX_MIME_DEPTH)).text == "hello from the bottom"


def test_nesting_the_stdlib_parser_cannot_follow_is_malformed_not_a_recursion_error():
    with pytest.raises(mail.MalformedMailError):
        mail.parse_inbound(_nested(2_000))


def test_thousands_of_parts_read_only_the_first_ones():
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(500))
    raw = (
        b'From: ada@example.com\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + b"--B--\r\n"
    )

    parsed = mail.parse_inbound(raw)

    assert parsed.text.startswith("part 0") and f"beyond the first {mail.MAX_PARTS}" in " ".join(parsed.notes)


def test_dkim_signing_domains_and_the_topmost_return_path_are_read():
    raw = (
        b"Return-Path: <bounce@mail.example.com>\r\nReturn-Path: <forged@evil.example>\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=Example.COM; s=s1;\r\n\th=from; bh=x; b=y\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; s=k; d=esp.example; h=from; bh=x; b=y\r\n"
        b"From: ada@example.com\r\nTo: Support <support+tkt@tms.example.com>\r\n\r\nhi\r\n"
    )
    parsed = mail.parse_inbound(raw)

    assert parsed.dkim_domains == ("example.com", "esp.example")
    assert parsed.return_path == "bounce@mail.example.com"
    assert parsed.recipients == ("support+tkt@tms.example.com",)


def test_random_corruptions_of_the_fixtures_never_raise_anything_but_the_typed_error():
    import random

    rng = random.Random(27)
    seeds = [p.read_bytes() for p in sorted(EVENTS.glob("*.eml"))]
    for _ in range(300):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        with contextlib.suppress(mail.MalformedMailError):
            mail.parse_inbound(bytes(raw))
