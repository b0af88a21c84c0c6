"""Offline PII detection with Amazon Comprehend DetectPiiEntities' request limits and response shape.

The local runtime answers `comprehend:DetectPiiEntities` with this (local/moto/emulation.py), so the
workflow's PII step runs the same ASL on both runtimes. Everything ships in maintained packages, nothing
is downloaded at run time: Google's libphonenumber port (`phonenumbers`) finds phone numbers in text,
`python-stdnum` checks IBANs (ISO 13616 mod 97) and card numbers (Luhn); emails, street addresses, IP
addresses and AWS access key ids are patterns. Names are not detected offline (that needs an NER model;
Comprehend finds them on AWS). `bench/pii.py` measures recall and precision per type.
Local only: this module is not imported by any Lambda and its packages are not in the layer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

import phonenumbers
from stdnum import iban, luhn
from stdnum.exceptions import ValidationError

SUPPORTED_LANGUAGES = frozenset({"en"})
# DetectPiiEntities accepts up to 100 KB of UTF-8 (https://docs.aws.amazon.com/comprehend/latest/dg/guidelines-and-limits.html).
MAX_BYTES = 100_000
PHONE_REGION = "US"  # numbers without a country code are read as North American
MODEL_VERSION = "tms-offline-pii-1"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_AWS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    r"Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}(?:\s+[A-Z][A-Za-z'-]*){{1,4}}\s+(?:{_STREET})\b(?:\.(?=,))?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl)\.?\s*#?\w+)?"
    r"(?:,\s*[A-Z][A-Za-z.'-]*(?:\s+[A-Z][A-Za-z.'-]*){0,3})?"
    r"(?:,\s*[A-Z]{2})?(?:,?\s+\d{5}(?:-\d{4})?)?"
)

# Overlaps resolve in this order: a card number is not also a phone number, an email's digits no IBAN.
_PRIORITY = (
    "EMAIL",
    "AWS_ACCESS_KEY",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "CREDIT_DEBIT_NUMBER",
    "IP_ADDRESS",
    "ADDRESS",
    "PHONE",
)
_SCORES = {"ADDRESS": 0.8, "PHONE": 0.9}


class PiiTextError(ValueError):
    """The request breaks DetectPiiEntities' contract (empty text)."""


class TextSizeLimitExceededError(PiiTextError):
    """Comprehend's TextSizeLimitExceededException: over MAX_BYTES of UTF-8."""


class UnsupportedLanguageError(PiiTextError):
    """Comprehend's ValidationException for a language the detector does not support."""


def _valid_iban(value: str) -> bool:
    try:
        iban.validate(value, check_country=False)
    except ValidationError:
        return False
    return True


def _candidates(text: str) -> Iterator[tuple[int, int, str]]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "EMAIL"
    for m in _AWS_KEY.finditer(text):
        yield m.start(), m.end(), "AWS_ACCESS_KEY"
    for m in _IBAN.finditer(text):
        # ISO 13616 mod 97 and the registry's length and format per country; national check digits (which
        # stdnum checks for a few countries by default) are left to the bank, as Comprehend does.
        if _valid_iban(m.group()):
            yield m.start(), m.end(), "INTERNATIONAL_BANK_ACCOUNT_NUMBER"
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            yield m.start(), m.end(), "CREDIT_DEBIT_NUMBER"
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield m.start(), m.end(), "IP_ADDRESS"
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "ADDRESS"
    for match in phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, leniency=phonenumbers.Leniency.VALID):
        yield match.start, match.end, "PHONE"


def find_entities(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (begin, end, type) spans, by position; on overlap the higher-priority type wins."""
    taken: list[tuple[int, int, str]] = []
    for span in sorted(_candidates(text), key=lambda s: (_PRIORITY.index(s[2]), s[0])):
        if all(span[1] <= b or span[0] >= e for b, e, _ in taken):
            taken.append(span)
    return sorted(taken)


def detect_pii_entities(text: str, language_code: str) -> dict[str, Any]:
    """Comprehend DetectPiiEntities' response for text: {"Entities": [{Score, Type, BeginOffset, EndOffset}]}."""
    if language_code not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguageError(f"language {language_code!r} is not supported (only en)")
    if not text:
        raise PiiTextError("Text must not be empty")
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise TextSizeLimitExceededError(f"Text is over {MAX_BYTES} bytes of UTF-8")
    return {
        "Entities": [
            {"Score": _SCORES.get(kind, 0.99), "Type": kind, "BeginOffset": begin, "EndOffset": end}
            for begin, end, kind in find_entities(text)
        ],
        "ModelVersion": MODEL_VERSION,
    }
