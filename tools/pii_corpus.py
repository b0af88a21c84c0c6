"""A labelled PII set: generator tickets with emails, phones, card numbers, IBANs and addresses planted in
their descriptions, each with its exact span (the ground truth `bench/pii.py` scores the detector on).

Values are synthetic and valid where validity is checkable (Luhn for cards, ISO 13616 mod 97 for IBANs,
libphonenumber for phones), written in the formats customers paste: grouped, dashed, compact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import phonenumbers

PLANTED_TYPES = ("EMAIL", "PHONE", "CREDIT_DEBIT_NUMBER", "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "ADDRESS")

_FIRST = ("jane", "omar", "li", "maria", "kenji", "sven", "ana", "priya", "tom", "zoe")
_LAST = ("doe", "haddad", "wei", "garcia", "sato", "larsen", "silva", "patel", "okafor", "muller")
_DOMAINS = ("example.com", "corp-mail.example", "mail.example.org", "acme.example.co.uk", "shop.example.de")
_US_AREAS = ("212", "415", "617", "303", "206", "512", "305", "646", "312", "702")
_INTL_REGIONS = ("GB", "DE", "FR", "NL", "ES", "IN", "AU", "BR")
_CARD_PREFIXES = (("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("6011", 16), ("34", 15), ("37", 15))
# Country code, BBAN length (digits) of IBANs written with digits only after the check digits.
_IBAN_COUNTRIES = (("DE", 18), ("FR", 23), ("ES", 20), ("PT", 21), ("BE", 12), ("PL", 24))
_STREETS = ("Main", "Oak", "Maple Grove", "Elm", "Harbor View", "Cedar", "Sunset", "Lincoln", "Park")
_SUFFIXES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Drive", "Way")
_CITIES = (("Springfield", "IL"), ("Austin", "TX"), ("Portland", "OR"), ("Denver", "CO"), ("Boston", "MA"))
_TEMPLATES = {
    "EMAIL": ("You can also reach me at {}.", "Please send the invoice to {} instead.", "CC {} on replies."),
    "PHONE": ("Call me on {} if that is quicker.", "My direct line is {}.", "Text {} when it is fixed."),
    "CREDIT_DEBIT_NUMBER": ("We were charged twice on card {}.", "The card on file is {}, please refund it."),
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": ("Refund to IBAN {} please.", "Our bank account is {}."),
    "ADDRESS": ("Ship the replacement to {}.", "Our office moved to {} last month."),
}


# Numbers that look like PII but are not (checksums fail, or they are ids and versions): a detector that
# flags them loses precision.
_DECOYS = (
    lambda r: f"Order reference {_luhn_invalid(r)} is on the invoice.",
    lambda r: f"Our AWS account is {r.randint(10**11, 10**12 - 1)}.",
    lambda r: f"The agent runs version 10.0.{r.randint(10000, 29999)}.{r.randint(1000, 9999)}.",
    lambda r: (
        f"Request id {r.randint(1000, 9999)}-{r.randint(1000, 9999)}-{r.randint(1000, 9999)}-{r.randint(1000, 9999)} failed."
    ),
    lambda r: (
        f"Reference DE00 {r.randint(1000, 9999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)} 00."
    ),
    lambda r: f"It listens on port {r.randint(1024, 65535)} with a {r.randint(100, 900)} ms timeout.",
)


@dataclass(frozen=True)
class Planted:
    """One planted entity: its type and its [begin, end) character span in the text."""

    type: str
    begin: int
    end: int


def _luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial + "0")):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def _luhn_invalid(rng: random.Random) -> str:
    """16 digits whose Luhn check digit is off by one: an order number, not a card."""
    valid = _luhn_complete("4" + "".join(rng.choice("0123456789") for _ in range(14)))
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)


def card_number(rng: random.Random) -> str:
    """A Luhn-valid card number, grouped as customers write it."""
    prefix, length = rng.choice(_CARD_PREFIXES)
    digits = _luhn_complete(
        prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    )
    if length == 15:  # Amex: 4-6-5
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups = [digits[i : i + 4] for i in range(0, length, 4)]
    return rng.choice((" ", "-", ""))[0:1].join(groups) if rng.random() < 0.85 else digits


def iban_number(rng: random.Random) -> str:
    """A valid IBAN (mod 97), compact or in groups of four."""
    country, bban_length = rng.choice(_IBAN_COUNTRIES)
    bban = "".join(rng.choice("0123456789") for _ in range(bban_length))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.6 else value


def phone_number(rng: random.Random) -> str:
    """A valid phone number: North American in local formats, or international with its country code."""
    if rng.random() < 0.6:
        while True:
            area, exchange = (
                rng.choice(_US_AREAS),
                f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}",
            )
            line = f"{rng.randint(0, 9999):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}{exchange}{line}")):
                break
        return rng.choice(
            (
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
                f"+1 {area} {exchange} {line}",
                f"1-{area}-{exchange}-{line}",
            )
        )
    example = phonenumbers.example_number_for_type(
        rng.choice(_INTL_REGIONS), phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:  # libphonenumber ships an example mobile number for every region listed
        raise LookupError("no example mobile number")
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def email_address(rng: random.Random) -> str:
    """An email address in one of the usual shapes."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice(
        (f"{first}.{last}", f"{first}{last[0]}", f"{first}+support", f"{first[0]}.{last}{rng.randint(1, 99)}")
    )
    return f"{local}@{rng.choice(_DOMAINS)}"


def street_address(rng: random.Random) -> str:
    """A US street address, with or without unit, city, state and ZIP."""
    street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}"
    if rng.random() < 0.3:
        street += f", Suite {rng.randint(100, 999)}"
    if rng.random() < 0.2:
        return street
    city, state = rng.choice(_CITIES)
    return f"{street}, {city}, {state} {rng.randint(10000, 99999)}"


_MAKERS = {
    "EMAIL": email_address,
    "PHONE": phone_number,
    "CREDIT_DEBIT_NUMBER": card_number,
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": iban_number,
    "ADDRESS": street_address,
}


def plant(text: str, rng: random.Random, count: int = 2, decoys: int = 1) -> tuple[str, list[Planted]]:
    """text with `count` PII sentences (and `decoys` look-alike sentences) inserted, and the PII's spans."""
    sentences = text.split(". ")
    for _ in range(decoys):
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(_DECOYS)(rng).rstrip("."))
    inserts: dict[int, list[str]] = {}
    kinds = [rng.choice(PLANTED_TYPES) for _ in range(count)]
    for kind in kinds:
        inserts.setdefault(rng.randint(0, len(sentences)), []).append(kind)
    out = ""
    truth: list[Planted] = []
    for i in range(len(sentences) + 1):
        for kind in inserts.get(i, []):
            value = _MAKERS[kind](rng)
            template = rng.choice(_TEMPLATES[kind])
            prefix = out + (" " if out and not out.endswith(" ") else "")
            begin = len(prefix) + template.index("{}")
            out = prefix + template.format(value)
            truth.append(Planted(kind, begin, begin + len(value)))
        if i < len(sentences):
            sentence = sentences[i] + (". " if i < len(sentences) - 1 else "")
            out += ("" if not out or out.endswith(" ") else " ") + sentence
    return out, truth
