"""The reply policy: what every customer reply must satisfy, and how a ticket's priority is decided.

Pure functions, shared by the reply step (which rejects a reply that breaks a rule) and by `tms eval`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from contract.models import Priority, SentimentLabel, SentimentResult, is_own_ticket_id

WORD_LIMIT = 220

# The exact phrase a reply of each priority must contain (compared case-insensitively, any dash).
ESCALATION: dict[Priority, str] = {
    Priority.HIGH: "a specialist will contact you within 2-4 hours",
    Priority.MEDIUM: "a specialist will follow up within 1-2 business days",
    Priority.NORMAL: "a specialist will follow up within 2-3 business days",
}


@dataclass(frozen=True)
class Violation:
    """One broken rule and what exactly was wrong."""

    rule: str
    detail: str


RULES: tuple[str, ...] = (
    "cites_ticket_id",
    "word_limit",
    "no_contractions",
    "no_exclamation",
    "steps_2_to_3",
    "escalation_matches_priority",
    "greeting",
    "asks_for_information",
)

GREETINGS: tuple[str, ...] = ("hello", "hi", "dear", "good morning", "good afternoon", "good evening")
MIN_STEPS, MAX_STEPS = 2, 3

_TICKET_ID_ANYWHERE = re.compile(r"TKT-\d{8}-[0-9A-Z]{10}", re.IGNORECASE)
_APOSTROPHE = "['’‘`]"
# n't, 're, 've, 'll, 'm, 'd are always contractions; 's only after the pronouns that contract "is"/"us"
# (a possessive such as "Amazon S3's console" is allowed).
_CONTRACTION = re.compile(
    rf"\b(?:[a-z]+n{_APOSTROPHE}t|[a-z]+{_APOSTROPHE}(?:re|ve|ll|m|d)"
    rf"|(?:it|that|there|here|what|who|where|when|why|how|he|she|let){_APOSTROPHE}s)\b",
    re.IGNORECASE,
)
_NUMBERED_ITEM = re.compile(r"^\s*(\d+)[.)]\s+\S", re.MULTILINE)
_DASHES = re.compile(r"\s*[‐‑‒–—―-]\s*")
_WHITESPACE = re.compile(r"\s+")
_ASKS = re.compile(
    r"\?|\b(?:please\s+(?:share|send|provide|confirm|include|attach|reply|tell|let\s+us\s+know)"
    r"|could\s+you|can\s+you|would\s+you|let\s+us\s+know)\b",
    re.IGNORECASE,
)


def _normalized(text: str) -> str:
    return _WHITESPACE.sub(" ", _DASHES.sub("-", text)).strip().lower()


def count_words(text: str) -> int:
    """Words as a reader counts them: runs of non-space characters."""
    return len(text.split())


def numbered_steps(text: str) -> list[int]:
    """The numbers of the numbered-list items in the reply, in order."""
    return [int(m.group(1)) for m in _NUMBERED_ITEM.finditer(text)]


def cites(text: str, ticket_id: str) -> bool:
    """Whether `text` names `ticket_id` as a whole id (ours in any case; a producer's exactly as written).

    A sentence's closing period may follow the id; an id character may not (ord-12 is not cited by ord-123).
    """
    flags = re.IGNORECASE if is_own_ticket_id(ticket_id.upper()) else 0
    pattern = rf"(?<![A-Za-z0-9_.:-]){re.escape(ticket_id)}(?![A-Za-z0-9_:-]|\.[A-Za-z0-9_:-])"
    return re.search(pattern, text, flags) is not None


def check_reply(
    response_text: str,
    ticket_id: str,
    priority: Priority,
    customer_first_name: str | None = None,
) -> list[Violation]:
    """Every policy rule the reply breaks (empty when it complies)."""
    violations: list[Violation] = []

    cited = {m.upper() for m in _TICKET_ID_ANYWHERE.findall(response_text)}
    if not cites(response_text, ticket_id):
        violations.append(Violation("cites_ticket_id", f"the reply does not cite ticket {ticket_id}"))
    if other := sorted(cited - {ticket_id.upper()}):
        violations.append(
            Violation("cites_ticket_id", f"the reply cites {', '.join(other)} instead of only {ticket_id}")
        )

    words = count_words(response_text)
    if words > WORD_LIMIT:
        violations.append(Violation("word_limit", f"{words} words, over the limit of {WORD_LIMIT}"))

    if found := sorted({m.group(0) for m in _CONTRACTION.finditer(response_text)}):
        violations.append(Violation("no_contractions", f"contractions found: {', '.join(found)}"))

    if (bangs := response_text.count("!")) > 0:
        violations.append(Violation("no_exclamation", f"{bangs} exclamation mark(s) found"))

    steps = numbered_steps(response_text)
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        violations.append(
            Violation("steps_2_to_3", f"{len(steps)} numbered steps, expected {MIN_STEPS} to {MAX_STEPS}")
        )
    elif steps != list(range(1, len(steps) + 1)):
        violations.append(
            Violation("steps_2_to_3", f"steps are numbered {steps}, expected 1 to {len(steps)}")
        )

    text = _normalized(response_text)
    wanted = _normalized(ESCALATION[priority])
    if wanted not in text:
        violations.append(
            Violation("escalation_matches_priority", f"{priority} reply must say {ESCALATION[priority]!r}")
        )
    for other_priority, phrase in ESCALATION.items():
        if other_priority is not priority and _normalized(phrase) in text:
            violations.append(
                Violation(
                    "escalation_matches_priority",
                    f"{priority} reply promises the {other_priority} timing {phrase!r}",
                )
            )

    first_line = next((line.strip() for line in response_text.splitlines() if line.strip()), "")
    lowered = first_line.lower()
    if not any(lowered == g or lowered.startswith((g + " ", g + ",")) for g in GREETINGS):
        violations.append(
            Violation("greeting", f"the first line must open with one of: {', '.join(GREETINGS)}")
        )
    elif customer_first_name:
        # The no-exclamation rule wins over a name typed with one.
        name = customer_first_name.replace("!", "").strip().lower()
        if name and name not in lowered:
            violations.append(
                Violation("greeting", f"the greeting does not address the customer as {customer_first_name}")
            )

    if not _ASKS.search(response_text):
        violations.append(
            Violation("asks_for_information", "the reply asks the customer for no further information")
        )
    return violations


# --- Priority: sentiment x business impact ----------------------------------------------------------------


class Impact(IntEnum):
    LOW = 0
    MODERATE = 1
    HIGH = 2


# Keyword stems matched against the lower-cased issue type (then the product). First match wins, high first:
# a "billing outage" is still an outage.
_HIGH_IMPACT = (
    "outage", "down", "unavailab", "unreachable", "failure", "fail", "crash", "connectivity", "connection",
    "data loss", "lost", "loss", "corrupt", "deleted", "security", "breach", "unauthori", "compromis",
    "vulnerab", "leak", "ransom", "not working", "broken", "error",
)  # fmt: skip
_LOW_IMPACT = (
    "billing", "invoice", "charge", "pricing", "cost", "refund", "payment", "question", "how to", "how-to",
    "documentation", "docs", "feature request", "feedback", "configuration", "config", "setup", "set up",
    "onboarding", "account", "training", "general", "quota increase", "limit increase",
)  # fmt: skip
# Products whose problems are security problems whatever the issue type.
_SECURITY_PRODUCTS = (
    "iam",
    "kms",
    "guardduty",
    "security hub",
    "secrets manager",
    "cognito",
    "waf",
    "shield",
)

_IMPACT_WHY = {
    Impact.HIGH: "high business impact (service down, failing, unreachable, data or security at risk)",
    Impact.MODERATE: "moderate business impact (degraded performance, permissions or latency)",
    Impact.LOW: "low business impact (a question about billing, configuration or usage)",
}

# Strong negative: Comprehend's Negative score at or above this reads as an angry customer.
VERY_NEGATIVE = 0.8


def _matches(text: str, stems: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(stem)}", text) for stem in stems)


def business_impact(product: str, issue_type: str) -> Impact:
    """How much the issue hurts the customer's business, from the issue type and the product class."""
    issue, prod = issue_type.lower(), product.lower()
    if _matches(issue, _HIGH_IMPACT):
        return Impact.HIGH
    if _matches(issue, _LOW_IMPACT):
        return Impact.LOW
    if _matches(prod, _SECURITY_PRODUCTS):
        return Impact.HIGH
    return Impact.MODERATE


def urgency(sentiment: SentimentResult) -> int:
    """0 (calm or pleased), 1 (unhappy or torn) or 2 (angry), from the detected sentiment."""
    if sentiment.Sentiment is SentimentLabel.NEGATIVE:
        return 2 if sentiment.SentimentScore.Negative >= VERY_NEGATIVE else 1
    if sentiment.Sentiment is SentimentLabel.MIXED:
        return 1
    return 0


def decide_priority(sentiment: SentimentResult, product: str, issue_type: str) -> tuple[Priority, str]:
    """Priority from sentiment x business impact, and the reasoning in one sentence."""
    impact = business_impact(product, issue_type)
    level = urgency(sentiment)
    total = int(impact) + level
    priority = Priority.HIGH if total >= 3 else Priority.MEDIUM if total == 2 else Priority.NORMAL
    mood = ("calm or positive", "unhappy or mixed", "strongly negative")[level]
    s = sentiment.SentimentScore
    reasoning = (
        f"{issue_type} on {product} has {_IMPACT_WHY[impact]}; the customer is {mood} "
        f"({sentiment.Sentiment.value}, negative {s.Negative:.2f}, positive {s.Positive:.2f}, "
        f"mixed {s.Mixed:.2f}); impact {impact.name} with that sentiment gives {priority.value} priority."
    )
    return priority, reasoning
