"""What besides the text's meaning tells that two tickets report one incident: the combined link score.

Reports of one outage are written by different people in different words (issue 29: the embedding's cosine
between five reports of one S3 outage was 0.50-0.73), but they share what the SERVICE shows them: its error
codes (`SlowDown`, `ThrottlingException`), HTTP status codes, the region, a runtime's message
(`Task timed out after 30.00 seconds`), the product, and the minutes they arrive in. What they do NOT share
are the customers' own resource names (buckets, functions, account ids): every customer has their own, so
they are never extracted here.

The link score is a logistic model over a handful of such features: a probability-like number in 0..1 whose
few weights are fitted on the calibration half of the hand-written set (tools/incident_eval.py `fit`) and
kept as data per embedding model in contract/defaults.py (the models' cosines are on different scales).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# The order of the features: the weights in contract/defaults.py are named after these.
FEATURES: tuple[str, ...] = (
    "cosine",  # the embeddings' cosine similarity
    "same_product",  # 1 when both name the same product
    "same_issue_type",  # 1 when both chose the same issue type
    "log_minutes",  # ln(1 + minutes between the two reports)
    "shared_codes",  # error codes / runtime messages both mention (count, at most 3)
    "shared_status",  # 1 when both mention the same HTTP status code (or its class phrase)
    "shared_region",  # 1 when both name the same AWS region
    "region_conflict",  # 1 when both name a region and no region is common: two places, two problems
    "log_reporters",  # ln(1 + companies already reporting the candidate's incident), same product only
)


# --- Signals ---------------------------------------------------------------------------------------------

# CamelCase service error codes: ThrottlingException, CannotPullContainerError, KMSInternalException...
_CODE = re.compile(r"\b([A-Z][A-Za-z]*?[a-z][A-Za-z]*?(?:Exception|Error|Fault))\b")
# Codes that are bare words, service by service (S3's and STS's, DNS response codes, Node's errno names).
_BARE_CODES = {
    "slowdown": "slowdown",
    "slow down": "slowdown",
    "accessdenied": "accessdenied",
    "access denied": "accessdenied",
    "throttling": "throttling",
    "throttled": "throttling",
    "rate exceeded": "throttling",
    "servfail": "servfail",
    "nxdomain": "nxdomain",
    "etimedout": "etimedout",
    "econnrefused": "econnrefused",
    "econnreset": "econnreset",
    "expiredtoken": "expiredtoken",
    "insufficientcapacity": "insufficientcapacity",
    "insufficient capacity": "insufficientcapacity",
}
_BARE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _BARE_CODES) + r")\b", re.IGNORECASE)
# Runtime messages that name the symptom whatever the customer's own numbers in them.
_MESSAGES = (
    (re.compile(r"task timed out after", re.IGNORECASE), "msg:task-timed-out"),
    (re.compile(r"\btimed?[ -]?out\b|\btimeouts?\b", re.IGNORECASE), "msg:timeout"),
    (re.compile(r"certificate (?:has )?expired|cert(?:ificate)? expired|expired cert", re.IGNORECASE), "msg:cert-expired"),
    (re.compile(r"charged twice|double[- ]charged?|duplicate (?:charge|payment)|billed twice", re.IGNORECASE), "msg:double-charge"),
)  # fmt: skip
# A generic word is not a code: "Error" alone, "TypeError" of the customer's own code.
# botocore's ClientError wraps every service error: the code inside it is the signal, not the wrapper.
_NOT_CODES = frozenset(
    {"error", "exception", "fault", "clienterror", "typeerror", "valueerror", "keyerror", "runtimeerror"}
)

_STATUS = re.compile(
    r"(?<![\d.:/-])(4(?:00|01|03|04|08|09|13|29)|5(?:00|02|03|04))(?![\d.:/-])"
    r"(?!\s*(?:ms|s\b|sec|seconds|minutes|mb|gb|kb|%|users|tickets|records|rows|items|times|put|get|/s|eur|usd))",
    re.IGNORECASE,
)
# The phrases of the common statuses: "service unavailable" is a 503 whether or not the number is written.
_STATUS_PHRASES = (
    (re.compile(r"service unavailable", re.IGNORECASE), "503"),
    (re.compile(r"bad gateway", re.IGNORECASE), "502"),
    (re.compile(r"gateway time-?out", re.IGNORECASE), "504"),
    (re.compile(r"internal server error", re.IGNORECASE), "500"),
    (re.compile(r"too many requests", re.IGNORECASE), "429"),
    (re.compile(r"\bforbidden\b", re.IGNORECASE), "403"),
    (re.compile(r"\bunauthori[sz]ed\b", re.IGNORECASE), "401"),
)

_REGION = re.compile(
    r"\b((?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d)\b",
    re.IGNORECASE,
)
# Regions as people name them, in the languages our customers write in (the console shows the city).
_REGION_NAMES = (
    (r"n(?:orth(?:ern)?|\.)?\s*virginia", "us-east-1"),
    (r"ohio", "us-east-2"),
    (r"oregon", "us-west-2"),
    (r"n(?:orth(?:ern)?|\.)?\s*california", "us-west-1"),
    (r"ireland|irland[ae]?|irlanda|dublin", "eu-west-1"),
    (r"london|londres", "eu-west-2"),
    (r"paris", "eu-west-3"),
    (r"frankfurt|francfort", "eu-central-1"),
    (r"stockholm", "eu-north-1"),
    (r"milan|milano", "eu-south-1"),
    (r"tokyo|tokio", "ap-northeast-1"),
    (r"seoul", "ap-northeast-2"),
    (r"singapore|singapur", "ap-southeast-1"),
    (r"sydney", "ap-southeast-2"),
    (r"mumbai", "ap-south-1"),
    (r"s[aã]o paulo", "sa-east-1"),
    (r"canada central|montr[eé]al", "ca-central-1"),
)
_REGION_NAME = [(re.compile(r"\b(?:" + p + r")\b", re.IGNORECASE), r) for p, r in _REGION_NAMES]


def extract_signals(text: str) -> frozenset[str]:
    """The service-side symptoms a text names, as `code:`, `status:` and `region:` / `msg:` tokens.

    Customer-owned names (buckets, functions, hosts, account ids) are deliberately not extracted: reports of
    one incident come from different customers, so those never match across them.
    """
    found: set[str] = set()
    for m in _CODE.finditer(text):
        code = m.group(1).lower().removesuffix("exception")
        if m.group(1).lower() not in _NOT_CODES and len(code) > 3:
            found.add("code:" + code)
    for m in _BARE.finditer(text):
        found.add("code:" + _BARE_CODES[m.group(1).lower()])
    for pattern, token in _MESSAGES:
        if pattern.search(text):
            found.add(token)
    for m in _STATUS.finditer(text):
        found.add("status:" + m.group(1))
    for pattern, status in _STATUS_PHRASES:
        if pattern.search(text):
            found.add("status:" + status)
    for m in _REGION.finditer(text):
        found.add("region:" + m.group(1).lower())
    for pattern, region in _REGION_NAME:
        if pattern.search(text):
            found.add("region:" + region)
    # "SlowDown" the code and "slow down" the phrase are one signal; an S3 SlowDown is a 503 too.
    if "code:slowdown" in found:
        found.add("status:503")
    return frozenset(found)


# --- The pair's features and the score -----------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What a ticket contributes to the link score besides its vector (stored beside the vector)."""

    product: str = ""
    issue_type: str = ""
    company: str = ""
    signals: frozenset[str] = frozenset()
    submitted_at: datetime | None = None


def _kind(signals: frozenset[str], prefix: str) -> frozenset[str]:
    return frozenset(s for s in signals if s.startswith(prefix))


def pair_features(new: Profile, candidate: Profile, *, cosine: float, reporters: int = 0) -> dict[str, float]:
    """The features of one (new ticket, candidate) pair, named as in FEATURES.

    `reporters`: distinct companies already in the candidate's incident (0 when it has none yet). Many
    companies reporting the same thing within minutes is what an outage looks like, but only for a report
    on the same product: a busy incident must not pull in every other product's ticket of its minutes.
    """
    minutes = 0.0
    if new.submitted_at is not None and candidate.submitted_at is not None:
        minutes = abs((new.submitted_at - candidate.submitted_at).total_seconds()) / 60.0
    regions_a, regions_b = _kind(new.signals, "region:"), _kind(candidate.signals, "region:")
    codes = (_kind(new.signals, "code:") | _kind(new.signals, "msg:")) & (
        _kind(candidate.signals, "code:") | _kind(candidate.signals, "msg:")
    )
    same_product = bool(new.product) and new.product.strip().lower() == candidate.product.strip().lower()
    return {
        "cosine": float(cosine),
        "same_product": float(same_product),
        "same_issue_type": float(
            bool(new.issue_type) and new.issue_type.strip().lower() == candidate.issue_type.strip().lower()
        ),
        "log_minutes": math.log1p(minutes),
        "shared_codes": float(min(len(codes), 3)),
        "shared_status": float(bool(_kind(new.signals, "status:") & _kind(candidate.signals, "status:"))),
        "shared_region": float(bool(regions_a & regions_b)),
        "region_conflict": float(bool(regions_a) and bool(regions_b) and not regions_a & regions_b),
        "log_reporters": math.log1p(max(reporters, 0)) if same_product else 0.0,
    }


@dataclass(frozen=True)
class LinkModel:
    """A fitted logistic link model: P(same incident) = sigmoid(bias + sum(weight * feature))."""

    weights: Mapping[str, float]
    bias: float
    threshold: float  # link when the best candidate's score is at or above this

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> LinkModel:
        """The model from its defaults entry; a clear error when a weight is missing or unknown."""
        weights = data.get("weights")
        if not isinstance(weights, Mapping):
            raise ValueError("an incident link model needs a 'weights' mapping")
        unknown = set(weights) - set(FEATURES)
        missing = set(FEATURES) - set(weights)
        if unknown or missing:
            raise ValueError(f"incident link weights: unknown {sorted(unknown)}, missing {sorted(missing)}")
        threshold = float(data.get("threshold", 0.5))  # type: ignore[arg-type]
        if not 0 < threshold < 1:
            raise ValueError(f"incident link threshold must be between 0 and 1, not {threshold}")
        return cls(
            weights={k: float(v) for k, v in weights.items()},
            bias=float(data.get("bias", 0.0)),  # type: ignore[arg-type]
            threshold=threshold,
        )

    def score(self, features: Mapping[str, float]) -> float:
        """The probability-like link score of one pair, 0..1."""
        z = self.bias + sum(self.weights[name] * features[name] for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def explain(self, features: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each feature's contribution to the logit, largest first (what a reviewer reads)."""
        parts = [(name, self.weights[name] * features[name]) for name in FEATURES]
        return sorted(parts, key=lambda p: -abs(p[1]))
