"""contract/drafts.py: the links and phone numbers a drafted reply points the customer to."""

from __future__ import annotations

import pytest

from contract.drafts import draft_findings

ALLOWED = ("docs.aws.amazon.com", "example.com")


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("Pay at https://evil.example/pay now.", "https://evil.example/pay"),
        ("See https://docs.aws.amazon.com@evil.example/x", "https://docs.aws.amazon.com@evil.example/x"),
        ("See https://docs.aws.amazon.com.evil.example/", "https://docs.aws.amazon.com.evil.example/"),
        ("Open evil.example/pay to continue", "evil.example/pay"),
        ("Visit www.evil.example today", "www.evil.example"),
        ("Write to pay@evil.example.", "pay@evil.example"),
        ("Open ftp://docs.aws.amazon.com/file", "ftp://docs.aws.amazon.com/file"),
        ("Open https://docs.aws.amazon.com\\@evil.example/", "https://docs.aws.amazon.com\\@evil.example/"),
    ],
)
def test_a_link_outside_the_allow_list_is_found(text: str, link: str):
    assert link in draft_findings(text, ALLOWED).links


@pytest.mark.parametrize(
    "text",
    [
        "See https://docs.aws.amazon.com/ec2/latest/UserGuide/x.html.",
        "Write to support@example.com or help.desk@eu.example.com.",
        "Check config.json and index.html in the bucket.",
    ],
)
def test_allowed_links_and_file_names_are_not_flagged(text: str):
    assert draft_findings(text, ALLOWED).links == ()


@pytest.mark.parametrize(
    "text",
    [
        "call +1 555 0100 today",
        "Call (555) 010-0100.",
        "ring 555 123 4567",
        "+15550100",
        "tel:+44 20 7946 0958",
        "or ring Marcus on +44 7700 900461 after six",  # a UK mobile: a six-digit group
    ],
)
def test_a_phone_number_is_found(text: str):
    assert draft_findings(text, ALLOWED).phones


@pytest.mark.parametrize(
    "text",
    [
        "Your ticket number is TKT-20250101-ABCDEFGH12.",
        "It started on 2025-01-01 at 10:00 UTC.",
        "The instance 192.168.10.20 answers on 443 and 8080.",
        "A specialist will contact you within 2-4 hours.",
        "Account 123456789012, error codes 500 and 503.",
    ],
)
def test_ids_dates_addresses_and_timings_are_not_phone_numbers(text: str):
    assert draft_findings(text, ALLOWED).phones == ()
