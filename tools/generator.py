"""Synthetic tickets for load tests and evaluation: realistic, varied, seeded and reproducible.

Every ticket picks a catalog scenario (product/issue pair) and a sentiment target, then a `TicketWriter`
turns the scenario's neutral facts into a subject and description worded for that target. The default
writer is offline and template based; `bedrock_writer()` asks an LLM instead (structured output,
validated by pydantic, retried).

Names come from Faker's per-locale name lists, drawn with our own seeded RNG: calling Faker per ticket is
~60 µs a field, and reading its lists once keeps 10,000 tickets well under a second of name work.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any, Protocol

from pydantic import BaseModel, Field, field_validator

from contract.catalog import SENTIMENT_TARGET_NAMES, SENTIMENT_WEIGHTS, Scenario, scenarios_for
from contract.models import (
    CROCKFORD_ALPHABET,
    DESCRIPTION_MAX,
    SUBJECT_MAX,
    TICKET_ID_RANDOM_CHARS,
    Customer,
    Source,
    TicketData,
    TicketSubmitted,
)


@dataclass(frozen=True)
class GeneratedTicket:
    """A generated event and the sentiment the generator aimed for."""

    event: TicketSubmitted
    target: str


@dataclass(frozen=True)
class TicketText:
    """The free-text part of a ticket."""

    subject: str
    description: str


class TicketWriter(Protocol):
    """Port: words a scenario as a ticket with the given sentiment target."""

    def write(self, scenario: Scenario, target: str, facts: dict[str, str], rng: random.Random) -> TicketText:
        """Subject and description for `scenario`, in the tone of `target`."""
        ...


# --- Customers --------------------------------------------------------------------------------------------

# Locale -> share of customers. Latin-script names (plus romanized Japanese and Chinese) keep emails
# derivable from names, as in a real CRM export.
_LOCALES: dict[str, float] = {
    "en_US": 0.24,
    "en_GB": 0.08,
    "en_IN": 0.09,
    "de_DE": 0.07,
    "fr_FR": 0.06,
    "es_ES": 0.05,
    "es_MX": 0.05,
    "pt_BR": 0.05,
    "it_IT": 0.04,
    "nl_NL": 0.04,
    "sv_SE": 0.03,
    "tr_TR": 0.03,
    "id_ID": 0.04,
    "ja_JP": 0.04,
    "zh_CN": 0.04,
    "en_AU": 0.05,
}
# Every generated address is under the reserved top-level domain .example (RFC 2606, RFC 6761): generated
# tickets bulk-loaded into a deployed stack must never lead to a mail to a real person when an agent approves
# a reply. Shared "free mail" domains, as many customers write from one.
RESERVED_TLD = "example"
_FREE_MAIL = tuple(
    f"{name}.{RESERVED_TLD}" for name in ("mail", "inbox", "webmail", "post", "fastmail", "freemail")
)
_BRAND_A = (
    "Blue", "North", "Nova", "Apex", "Cedar", "Summit", "Harbor", "Vertex", "Pioneer", "Lumen", "Orbit",
    "Atlas", "Silver", "Quantum", "Iron", "Swift", "Pixel", "Granite", "Meridian", "Aurora", "Polar", "Copper",
    "Falcon", "Juniper", "Kestrel", "Maple", "Onyx", "Prism", "Sierra", "Tidal",
)  # fmt: skip
_BRAND_B = (
    "Logistics", "Analytics", "Labs", "Retail", "Media", "Systems", "Software", "Foods", "Energy", "Payments",
    "Travel", "Insurance", "Games", "Robotics", "Telecom", "Mobility", "Biotech", "Learning", "Freight",
    "Commerce", "Networks", "Devices", "Studios", "Finance",
)  # fmt: skip
_DEFAULT_SUFFIXES = ("Inc", "LLC", "Ltd", "Group", "GmbH", "Corp")


@dataclass(frozen=True)
class _NamePool:
    first: tuple[str, ...]
    first_cw: tuple[float, ...] | None
    last: tuple[str, ...]
    last_cw: tuple[float, ...] | None
    suffixes: tuple[str, ...]


def _weighted(values: Any) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
    if isinstance(values, dict):
        keys = tuple(values)
        return keys, tuple(accumulate(float(v) for v in values.values()))
    return tuple(values), None


@cache
def _name_pools() -> dict[str, _NamePool]:
    from faker import Faker

    pools: dict[str, _NamePool] = {}
    for locale in _LOCALES:
        fake = Faker(locale)
        person = fake.provider("faker.providers.person")
        company = fake.provider("faker.providers.company")
        if hasattr(person, "first_romanized_names"):
            first, first_cw = _weighted(person.first_romanized_names)
            last, last_cw = _weighted(person.last_romanized_names)
        else:
            first, first_cw = _weighted(person.first_names)
            last, last_cw = _weighted(person.last_names)
        suffixes = tuple(s for s in getattr(company, "company_suffixes", ()) if s.isascii() and s.strip())
        pools[locale] = _NamePool(first, first_cw, last, last_cw, suffixes or _DEFAULT_SUFFIXES)
    return pools


def _pick(rng: random.Random, values: tuple[str, ...], cum_weights: tuple[float, ...] | None) -> str:
    if cum_weights is None:
        return values[rng.randrange(len(values))]
    return rng.choices(values, cum_weights=cum_weights, k=1)[0]


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def ascii_slug(value: str, sep: str = "") -> str:
    """Lower-case ASCII letters and digits of `value` (accents folded), joined by `sep`."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return _NON_ALNUM.sub(sep, folded).strip(sep)


def _customer(rng: random.Random, locale_cw: tuple[float, ...]) -> Customer:
    locale = rng.choices(tuple(_LOCALES), cum_weights=locale_cw, k=1)[0]
    pool = _name_pools()[locale]
    first = _pick(rng, pool.first, pool.first_cw)
    last = _pick(rng, pool.last, pool.last_cw)
    roll = rng.random()
    if roll < 0.45:
        company = f"{_pick(rng, pool.last, pool.last_cw)} {rng.choice(pool.suffixes)}"
    elif roll < 0.9:
        company = f"{rng.choice(_BRAND_A)} {rng.choice(_BRAND_B)}"
    else:
        company = f"{_pick(rng, pool.last, pool.last_cw)} & {_pick(rng, pool.last, pool.last_cw)}"
    f_slug, l_slug = ascii_slug(first) or "user", ascii_slug(last) or "customer"
    local = rng.choice(
        (f"{f_slug}.{l_slug}", f"{f_slug[0]}{l_slug}", f"{f_slug}_{l_slug}", f"{f_slug}{rng.randint(1, 99)}")
    )
    if rng.random() < 0.8:
        domain = f"{ascii_slug(company.split(' ')[0] + ' ' + company.split(' ')[-1], '-') or 'mail'}."
        domain += RESERVED_TLD
    else:
        domain = rng.choice(_FREE_MAIL)
    return Customer(
        first_name=first,
        last_name=last,
        full_name=f"{first} {last}",
        email=f"{local}@{domain}",
        company=company,
    )


# --- Scenario facts ---------------------------------------------------------------------------------------

_WORKLOADS = (
    "orders", "billing", "checkout", "payments", "inventory", "search", "analytics", "catalog", "auth",
    "notifications", "reporting", "ingest", "media", "profile", "shipping", "pricing", "ledger", "crm",
    "telemetry", "recommendations", "invoicing", "booking", "claims", "fulfillment",
)  # fmt: skip
_ENVS = ("prod", "staging", "dev", "qa", "perf")
_REGIONS = (
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-north-1", "ap-southeast-1",
    "ap-southeast-2", "ap-northeast-1", "ap-south-1", "sa-east-1", "ca-central-1", "us-west-1", "eu-west-2",
    "eu-west-3", "eu-south-1", "ap-northeast-2", "ap-northeast-3", "ap-east-1", "me-south-1", "af-south-1",
)  # fmt: skip
_REGION_CODE = re.compile(r"\b[a-z]{2}-[a-z]+-\d\b")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend")
_WHEN = (
    "this morning", "yesterday afternoon", "the deployment on {day}", "about {h} hours ago",
    "{day}", "our maintenance window on {day}", "the last release", "{h} hours ago",
)  # fmt: skip
_HEX = "0123456789abcdef"
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_MIXED = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def scenario_facts(scenario: Scenario, rng: random.Random, region: str | None = None) -> dict[str, str]:
    """Concrete values (resource ids, numbers, regions) for one ticket of `scenario` (in `region` if given)."""
    name = rng.choice(_WORKLOADS)
    n = rng.randint(2, 9)
    drawn = rng.choice(_REGIONS)
    facts = {
        "name": name,
        "Name": name.title(),
        "env": rng.choice(_ENVS),
        "region": region or drawn,
        "n": str(n),
        "m": str(n + rng.randint(2, 12)),
        "h": str(rng.randint(2, 30)),
        "mb": str(rng.choice((512, 1024, 1769, 2048, 3008, 4096))),
        "hex8": _rand(rng, _HEX, 8),
        "hex17": _rand(rng, _HEX, 17),
        "HEX13": _rand(rng, _ALNUM, 13),
        "Hex9": _rand(rng, _MIXED, 9),
        "account": str(rng.randint(10**11, 10**12 - 1)),
        "day": rng.choice(_DAYS),
        "product": scenario.product,
        "issue_type": scenario.issue_type,
        "topic": scenario.topic,
    }
    facts["resource"] = scenario.resource.format_map(facts)
    facts["when"] = rng.choice(_WHEN).format_map(facts)
    symptoms = list(scenario.symptoms)
    rng.shuffle(symptoms)
    # A region the catalog writes literally ("replicas in us-east-1") becomes this ticket's second region:
    # otherwise every ticket of the scenario would name it, and read as one regional outage.
    second = rng.choice([r for r in _REGIONS if r != facts["region"]])

    def own(text: str) -> str:
        return _REGION_CODE.sub(lambda m: m.group(0) if m.group(0) == facts["region"] else second, text)

    facts["symptom"] = own(symptoms[0].format_map(facts))
    facts["symptom2"] = own(symptoms[1].format_map(facts)) if len(symptoms) > 1 else ""
    facts["tried"] = own(scenario.tried.format_map(facts))
    return facts


# --- Offline writer ---------------------------------------------------------------------------------------

# Tone phrases per target. The scenario facts are worded neutrally on purpose (a sentiment analyzer reads
# "failure" or "error" as negative), so the tone comes from these phrases and matches the target.
_TONES: dict[str, dict[str, tuple[str, ...]]] = {
    "NEGATIVE": {
        "subject": (
            "URGENT: {product} {topic} broken again",
            "Unacceptable: {product} keeps failing on {topic}",
            "Production outage - {product} {issue_type}",
            "Still no fix for {product} {topic}, this is terrible",
            "Angry customer: {product} {topic} is a disaster",
            "Critical failure with {product} ({issue_type})",
        ),
        "open": (
            "This is the third time this month and I am extremely frustrated.",
            "I am furious about this.",
            "Frankly, this is unacceptable.",
            "Your service has badly failed us again.",
            "I am angry and disappointed with {product}.",
            "This is a terrible experience and my patience is gone.",
        ),
        "tried": (
            "{Tried}, and it did not help at all.",
            "{Tried}. Useless, nothing changed.",
            "{Tried}, which wasted another day.",
        ),
        "impact": (
            "Our customers are angry and the team has been up all night fighting this.",
            "This is a critical production outage and it is costing us real money every hour.",
            "Our whole release is blocked and management is furious.",
            "We are losing orders and our reputation is taking serious damage.",
        ),
        "close": (
            "I expect an engineer on this immediately.",
            "Fix this now, or we will move this workload elsewhere.",
            "This is awful service and I need an answer today.",
            "Escalate this right now, we cannot wait another day.",
        ),
    },
    # Mild: one or two unhappy words, so an analyzer reads it as negative but not angry.
    "SLIGHTLY NEGATIVE": {
        "subject": (
            "Still unresolved: {topic}",
            "Same behavior again: {topic}",
            "Follow-up on {topic}, still open",
            "Recurring: {topic} in {region}",
        ),
        "open": (
            "We are a little frustrated with this.",
            "I am unhappy that this keeps happening.",
            "I am somewhat disappointed that this is back.",
            "This is getting a bit annoying for the team.",
        ),
        "tried": (
            # No "but": VADER halves every sentiment word before a "but" in the text.
            "{Tried}. Nothing changed.",
            "{Tried}; the behavior is the same.",
        ),
        "impact": (
            "It slows the team down.",
            "It costs our engineers time every day.",
            "We had to postpone a release because of it.",
            "Sadly we had to postpone a release because of it.",
        ),
        "close": (
            "We need this sorted out soon.",
            "Could someone look at this soon?",
            "We would rather not wait as long as last time.",
        ),
    },
    "NEUTRAL": {
        # No product names here: "Amazon" is a positive word to a lexicon-based analyzer.
        "subject": (
            "Question about {topic}",
            "{Topic} in {region}",
            "Request for guidance on {topic}",
            "{Topic}: {resource}",
        ),
        "open": (
            "We are seeing the following behavior in our {env} account.",
            "I am writing about {topic} in our {env} account.",
            "A question about {topic} in {region}.",
            "We are looking into {topic} and have a question.",
        ),
        "tried": ("{Tried}.", "So far {tried}."),
        "impact": (
            "The workload runs in our {env} environment.",
            "This affects {n} of our services.",
            "It concerns the {name} workload.",
        ),
        "close": (
            "Could you tell us what to check next?",
            "Which settings should we review?",
            "We can send request ids and logs on request.",
            "What is the next step on your side?",
        ),
    },
    "SLIGHTLY POSITIVE": {
        "subject": (
            "Quick question on {product} {topic}",
            "{product} {topic} - small follow-up, thanks",
            "Help with {topic} on {product} appreciated",
        ),
        "open": (
            "Thanks for the quick answer on our last case.",
            "We are generally happy with {product}, with one thing to sort out.",
            "Hope you are well, thanks for the helpful docs so far.",
        ),
        "tried": ("{Tried}, following your documentation.", "{Tried}."),
        "impact": (
            "It is not urgent, the rest of the setup works well.",
            "Nothing critical, we would just like to get it right.",
        ),
        "close": (
            "Thanks in advance for any pointers.",
            "Appreciate your help.",
            "Thank you, a short answer would be great.",
        ),
    },
    "POSITIVE": {
        "subject": (
            "Thank you - and one question about {product} {topic}",
            "Great experience with {product}, small question on {topic}",
            "Loving {product} so far, quick help with {topic}",
        ),
        "open": (
            "First of all, thank you, your team has been fantastic.",
            "We love {product} and it has been great for us.",
            "Your support has been excellent, thank you for that.",
        ),
        "tried": (
            "{Tried}, following your excellent documentation.",
            "{Tried}; the guides were very clear and helpful.",
        ),
        "impact": (
            "Everything else works wonderfully, so this is a minor point.",
            "We are really happy with the performance overall.",
        ),
        "close": (
            "Thanks so much, you are always a great help!",
            "Really appreciate your excellent support.",
            "Many thanks, keep up the great work!",
        ),
    },
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class TemplateWriter:
    """Offline writer: combines tone phrases with the scenario's facts. Deterministic for an RNG state."""

    def write(self, scenario: Scenario, target: str, facts: dict[str, str], rng: random.Random) -> TicketText:
        """Subject and description for `scenario`, in the tone of `target`."""
        tone = _TONES[target]
        values = {**facts, "Tried": _cap(facts["tried"]), "Topic": _cap(facts["topic"])}
        subject = rng.choice(tone["subject"]).format_map(values)
        body = [
            rng.choice(tone["open"]).format_map(values),
            _cap(
                rng.choice(("Since {when}, {symptom}.", "{Symptom}.")).format_map(
                    {**values, "Symptom": _cap(facts["symptom"])}
                )
            ),
        ]
        if facts["symptom2"] and rng.random() < 0.5:
            body.append(f"We also see that {facts['symptom2']}.")
        if facts["tried"]:
            body.append(rng.choice(tone["tried"]).format_map(values))
        # The region is always named: independent tickets of one scenario are in different regions
        # (generate_tickets), which is how a reader, and the incident link score, tells them apart.
        if rng.random() < 0.4:
            body.append(f"Account {facts['account']}, region {facts['region']}.")
        elif facts["region"] not in " ".join(body):
            body.append(f"Region {facts['region']}.")
        body.append(rng.choice(tone["impact"]).format_map(values))
        body.append(rng.choice(tone["close"]).format_map(values))
        return TicketText(subject=subject, description=" ".join(body))


# --- LLM writer (optional) -------------------------------------------------------------------------------


class LlmTicketText(BaseModel):
    """What the LLM writer must return; the byte limits are the contract's, checked before any retry ends."""

    subject: str = Field(min_length=8, description="One-line ticket subject, under 120 characters.")
    description: str = Field(min_length=80, description="The ticket body: 3 to 8 sentences, plain text.")

    @field_validator("subject")
    @classmethod
    def _subject_fits(cls, value: str) -> str:
        if len(value.encode("utf-8")) > SUBJECT_MAX:
            raise ValueError(f"subject over {SUBJECT_MAX} bytes")
        return value.strip()

    @field_validator("description")
    @classmethod
    def _description_fits(cls, value: str) -> str:
        if len(value.encode("utf-8")) > DESCRIPTION_MAX:
            raise ValueError(f"description over {DESCRIPTION_MAX} bytes")
        return value.strip()


_TONE_BRIEF = {
    "NEGATIVE": "angry and frustrated: the customer is upset, says so plainly and demands a fast fix",
    "SLIGHTLY NEGATIVE": "mildly annoyed: one or two unhappy remarks, otherwise factual",
    "NEUTRAL": "calm and factual: no emotional words at all, no thanks, no complaints",
    "SLIGHTLY POSITIVE": "friendly: polite thanks, otherwise factual",
    "POSITIVE": "appreciative and warm: the customer praises the product and the support team",
}


def writer_messages(scenario: Scenario, target: str, facts: dict[str, str]) -> list[tuple[str, str]]:
    """The chat messages asking an LLM for one ticket."""
    brief = (
        f"Write one customer support ticket about {scenario.product}, issue type {scenario.issue_type}.\n"
        f"Facts to use: {facts['symptom']}."
        + (f" Also: {facts['symptom2']}." if facts.get("symptom2") else "")
        + (f" The customer already tried: {facts['tried']}." if facts.get("tried") else "")
        + f"\nRegion {facts['region']}, environment {facts['env']}.\n"
        f"Tone: {_TONE_BRIEF[target]}.\nDo not sign with a name and do not invent other products."
    )
    return [
        ("system", "You write realistic AWS support tickets as the customer. Answer only through the tool."),
        ("human", brief),
    ]


class LangChainTicketWriter:
    """Adapter: an LLM with tool calling writes the text; pydantic validates it; bad answers are retried."""

    def __init__(self, chat_model: Any, attempts: int = 3, backoff: bool = True):
        structured = chat_model.with_structured_output(LlmTicketText)
        # Runnable.with_retry is tenacity underneath: bounded attempts, exponential backoff with jitter.
        self._runnable = structured.with_retry(stop_after_attempt=attempts, wait_exponential_jitter=backoff)

    def write(self, scenario: Scenario, target: str, facts: dict[str, str], rng: random.Random) -> TicketText:
        """Subject and description from the model, validated against the contract's limits."""
        result = self._runnable.invoke(writer_messages(scenario, target, facts))
        text = result if isinstance(result, LlmTicketText) else LlmTicketText.model_validate(result)
        return TicketText(subject=text.subject, description=text.description)


def bedrock_writer(model_id: str | None = None, client: Any = None) -> LangChainTicketWriter:
    """The writer on Bedrock (ChatBedrockConverse); region and endpoint from the standard AWS variables."""
    from langchain_aws import ChatBedrockConverse

    from pipeline.adapters.llm import DEFAULT_BEDROCK_MODEL_ID, bedrock_runtime_client

    chat = ChatBedrockConverse(
        model_id=model_id or DEFAULT_BEDROCK_MODEL_ID,
        client=client or bedrock_runtime_client(),
        temperature=0.9,
        max_tokens=800,
    )
    return LangChainTicketWriter(chat)


# --- Generation -------------------------------------------------------------------------------------------


def target_quota(count: int, weights: dict[str, float] | None = None) -> list[str]:
    """Exactly `count` targets in the weighted proportions (largest remainder), in catalog order."""
    weights = weights or SENTIMENT_WEIGHTS
    exact = {k: count * w for k, w in weights.items()}
    quota = {k: int(v) for k, v in exact.items()}
    leftover = count - sum(quota.values())
    for k in sorted(exact, key=lambda k: exact[k] - quota[k], reverse=True)[:leftover]:
        quota[k] += 1
    return [k for k in SENTIMENT_TARGET_NAMES for _ in range(quota[k])]


def _ticket_id(rng: random.Random, day: str) -> str:
    return f"TKT-{day}-{''.join(rng.choices(CROCKFORD_ALPHABET, k=TICKET_ID_RANDOM_CHARS))}"


def generate_tickets(
    count: int,
    *,
    seed: int | None = None,
    now: datetime | None = None,
    products: Sequence[str] | None = None,
    writer: TicketWriter | None = None,
) -> list[GeneratedTicket]:
    """`count` valid generator tickets; the same seed and `now` give the same tickets.

    Targets follow the catalog weights exactly (shuffled), scenarios cycle through a shuffled catalog so
    every pair appears once `count` reaches the catalog size. An unknown product raises
    UnknownProductError.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    scenarios = scenarios_for(list(products) if products else None)
    rng = random.Random(seed)
    writer = writer or TemplateWriter()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    locale_cw = tuple(accumulate(_LOCALES.values()))

    targets = target_quota(count)
    rng.shuffle(targets)
    order: list[Scenario] = []
    while len(order) < count:
        batch = list(scenarios)
        rng.shuffle(batch)
        order.extend(batch)

    seen: set[str] = set()
    out: list[GeneratedTicket] = []
    # Independent tickets must not read as one problem (issue 29): generated load arrives within seconds,
    # so time cannot tell them apart, and two tickets of one product in one region within minutes ARE how an
    # outage looks. Each ticket of a product in this run gets another region: two customers' own problems,
    # not an outage. Distinct for up to len(_REGIONS) tickets of a product (~600 tickets over the catalog);
    # past that regions repeat. `tms generate --incidents` bursts are then the only incidents.
    regions: dict[str, list[str]] = {}
    for i, (scenario, target) in enumerate(zip(order, targets, strict=False)):
        # Spread submissions one millisecond apart, ending at `now`, so ordering by time is stable.
        submitted = now - timedelta(milliseconds=count - 1 - i)
        day = submitted.strftime("%Y%m%d")
        ticket_id = _ticket_id(rng, day)
        while ticket_id in seen:  # 50 random bits: practically never, but ids must be unique
            ticket_id = _ticket_id(rng, day)
        seen.add(ticket_id)
        customer = _customer(rng, locale_cw)
        pool = regions.setdefault(scenario.product, [])
        if not pool:
            pool.extend(rng.sample(_REGIONS, len(_REGIONS)))
        facts = scenario_facts(scenario, rng, region=pool.pop())
        text = writer.write(scenario, target, facts, rng)
        data = TicketData(
            subject=text.subject,
            description=text.description,
            customer=customer,
            product=scenario.product,
            issue_type=scenario.issue_type,
        )
        event = TicketSubmitted(ticketId=ticket_id, submittedAt=submitted, source=Source.GENERATOR, data=data)
        out.append(GeneratedTicket(event=event, target=target))
    return out


# --- Incident bursts (`tms generate --incidents K`) ----------------------------------------------------


@dataclass(frozen=True)
class IncidentStory:
    """One real-world problem and the many ways customers describe it (all in the same region)."""

    key: str
    product: str
    issue_types: tuple[str, ...]  # customers file the same problem under slightly different types
    subjects: tuple[str, ...]
    symptoms: tuple[str, ...]


# Each story's wordings share the facts, not the words: that is what the embedding model must see through.
INCIDENT_STORIES: tuple[IncidentStory, ...] = (
    IncidentStory(
        "s3-503", "Amazon S3", ("Access Permissions", "Cross-Region Replication"),
        ("S3 uploads failing with 503 Slow Down in {region}", "PutObject errors on our buckets since {when}",
         "Cannot write files to S3 anymore", "S3 returning SlowDown to every upload",
         "Our app cannot store objects in S3", "Bucket writes rejected in {region}"),
        ("every PutObject call to our buckets in {region} returns 503 Slow Down",
         "uploads to S3 are rejected with a SlowDown error although our request rate did not change",
         "our service cannot save any file to its S3 bucket, the SDK keeps retrying 503 responses",
         "writes to S3 fail for all our buckets in {region} while reads still work",
         "the S3 console shows an error when we upload and our batch jobs cannot write their output"),
    ),
    IncidentStory(
        "lambda-timeouts", "AWS Lambda", ("Function Timeout", "Cold Start Latency"),
        ("All Lambda functions timing out in {region}", "Lambda invocations hang since {when}",
         "Functions stuck until the timeout", "Lambda not responding in {region}",
         "Every Lambda call ends in Task timed out", "Our serverless API is down: Lambda timeouts"),
        ("every invocation of our Lambda functions in {region} runs until the timeout, even trivial ones",
         "functions that finish in 200 ms now hit the 30 second timeout with Task timed out",
         "our API Gateway endpoints return 504 because the Lambda behind them never answers",
         "Lambda invocations hang and end with a timeout, no code change on our side",
         "even a hello-world function in {region} times out, so it is not our code"),
    ),
    IncidentStory(
        "rds-connect", "Amazon RDS", ("Database Connection",),
        ("Cannot connect to RDS in {region}", "RDS connections refused since {when}",
         "Database unreachable: too many connection errors", "Our Postgres on RDS drops every connection",
         "Apps lose the database connection in {region}", "RDS endpoint not accepting connections"),
        ("new connections to our RDS PostgreSQL instances in {region} are refused or time out",
         "the application cannot open a database connection, RDS endpoint does not answer",
         "existing sessions to RDS drop after a few seconds and reconnecting fails",
         "psql to our RDS endpoint hangs on connect from every host in the VPC",
         "all services report could not connect to server on the RDS hostname"),
    ),
    IncidentStory(
        "cognito-login", "Amazon Cognito", ("User Pool Authentication",),
        ("Users cannot log in: Cognito errors", "Sign-in broken for all our users since {when}",
         "Cognito hosted UI returns an error", "Login page fails with internal error",
         "Our customers cannot authenticate", "Cognito InitiateAuth failing in {region}"),
        ("every sign-in through our Cognito user pool fails with an internal error",
         "InitiateAuth calls return InternalErrorException and nobody can log in to our app",
         "the Cognito hosted login page shows an error after the password is entered",
         "users are locked out: authentication against the user pool in {region} fails every time",
         "token requests to Cognito fail, so our mobile app cannot sign anyone in"),
    ),
    IncidentStory(
        "route53-dns", "Amazon Route 53", ("DNS Resolution",),
        ("DNS not resolving for our domains", "Route 53 records return SERVFAIL since {when}",
         "Our website is unreachable: DNS failure", "Hosted zone queries time out",
         "Domain names stopped resolving", "Route 53 resolution broken for our zone"),
        ("queries for the records in our Route 53 hosted zone return SERVFAIL",
         "our domain does not resolve anymore, dig shows timeouts against the Route 53 name servers",
         "customers cannot reach our site because the DNS lookup fails",
         "name resolution for every record of our public hosted zone fails",
         "health checks report our endpoints down because the DNS names do not resolve"),
    ),
    IncidentStory(
        "kinesis-throttle", "Amazon Kinesis", ("Data Stream Throttling", "Shard Management"),
        ("Kinesis PutRecords throttled far below limits", "ProvisionedThroughputExceeded on idle streams",
         "Kinesis rejecting our writes since {when}", "Stream ingestion failing in {region}",
         "Kinesis throttling with almost no traffic", "Cannot put records to Kinesis"),
        ("PutRecords returns ProvisionedThroughputExceededException although we write a fraction of the shard limit",
         "our producers in {region} get throttled by Kinesis on every batch, traffic is normal",
         "records are rejected by the stream and our ingestion backlog keeps growing",
         "the Kinesis stream throttles writes even on a stream with barely any data",
         "all streams in the account throttle puts, CloudWatch shows low incoming bytes"),
    ),
    IncidentStory(
        "cloudfront-5xx", "Amazon CloudFront", ("Cache Behavior",),
        ("CloudFront returning 502 errors", "Our CDN serves errors since {when}",
         "Website down behind CloudFront", "CloudFront 5xx spike for every distribution",
         "Bad gateway from CloudFront edge", "Static site unavailable via CloudFront"),
        ("CloudFront answers 502 Bad Gateway for most requests while the origin is healthy",
         "our distribution serves 5xx errors, hitting the origin directly works fine",
         "visitors get a CloudFront error page instead of our website",
         "the error rate of all our CloudFront distributions jumped to over fifty percent",
         "edge locations return 502 and 503 for cached and uncached paths alike"),
    ),
    IncidentStory(
        "glue-jobs", "AWS Glue", ("ETL Job Failure",),
        ("Glue jobs failing to start in {region}", "All ETL jobs stuck in STARTING since {when}",
         "Glue job runs fail with internal service error", "Nightly Glue pipeline did not run",
         "Glue cannot allocate workers", "Every Glue job run errors out immediately"),
        ("Glue job runs in {region} fail right after submission with an internal service error",
         "our ETL jobs stay in the STARTING state and then fail without any log output",
         "no Glue job could get workers allocated, the runs fail with resource unavailable",
         "the nightly Glue pipeline failed on every job although nothing changed",
         "even the sample Glue job fails immediately in our account"),
    ),
    IncidentStory(
        "billing-double", "Amazon EC2", ("Reserved Instance Billing",),
        ("Charged twice on this month's invoice", "Duplicate charges on our AWS bill",
         "Invoice shows every line item two times", "We were billed double this month",
         "Double payment taken from our card", "Bill amount doubled without usage change"),
        ("this month's invoice lists every charge twice and the total is double our usual bill",
         "our credit card was debited two times for the same AWS invoice",
         "Cost Explorer shows normal usage but the bill we received is twice as high",
         "each line item of the invoice appears two times, including the reserved instance fees",
         "the amount charged is exactly double what the usage report says"),
    ),
    IncidentStory(
        "ecs-pull", "Amazon ECS", ("Container Deployment Failure", "Task Definition Errors"),
        ("ECS tasks fail to pull images from ECR", "CannotPullContainerError on all services since {when}",
         "Deployments stuck: image pull errors", "ECS cannot fetch our container images",
         "New tasks never start in {region}", "ECR pulls failing for every ECS task"),
        ("new ECS tasks stop with CannotPullContainerError when pulling from ECR",
         "our deployments hang because tasks cannot download the container image",
         "every service in {region} fails to launch tasks, the image pull times out",
         "tasks are stuck in PENDING and then stopped with an image pull failure from ECR",
         "scaling out does nothing because no new container can fetch its image"),
    ),
    IncidentStory(
        "kms-decrypt", "AWS KMS", ("Key Rotation",),
        ("KMS Decrypt calls failing in {region}", "Cannot decrypt data with our KMS key since {when}",
         "KMS returns KMSInternalException", "Encrypted resources unreadable: KMS errors",
         "Apps fail on KMS decryption", "KMS key unusable in {region}"),
        ("every Decrypt call to KMS in {region} fails with KMSInternalException",
         "our services cannot decrypt secrets or data keys, the KMS calls error out",
         "reads of encrypted S3 objects and EBS volumes fail because KMS does not answer",
         "GenerateDataKey and Decrypt requests to our customer managed key return an internal error",
         "anything encrypted with our KMS key is unreadable right now"),
    ),
    IncidentStory(
        "sm-training", "Amazon SageMaker", ("Training Job Resources",),
        ("SageMaker training jobs stuck in Starting", "No capacity for training jobs since {when}",
         "Training jobs fail with InsufficientCapacity", "Cannot launch any SageMaker training",
         "Our ML training pipeline is blocked", "SageMaker jobs never leave Pending"),
        ("all SageMaker training jobs in {region} stay in Starting and fail with insufficient capacity",
         "training jobs fail before the first epoch, the instances are never provisioned",
         "our ML pipeline cannot launch training, every job ends with a capacity error",
         "SageMaker reports it cannot acquire the requested ml instances for any instance type",
         "training runs that worked yesterday now fail at the provisioning step"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class IncidentBurst:
    """The generated tickets and the ground truth: which tickets report the same incident."""

    tickets: list[GeneratedTicket]
    incidents: dict[str, list[str]]  # story key -> its ticket ids, in submission order
    unrelated: list[str]

    def truth(self) -> dict[str, Any]:
        """The --truth document: sentiment targets (as before) plus the incident grouping."""
        return {
            "sentiment": {t.event.ticketId: t.target for t in self.tickets},
            "incidents": self.incidents,
            "unrelated": self.unrelated,
        }


def _incident_text(
    story: IncidentStory, target: str, facts: dict[str, str], rng: random.Random
) -> TicketText:
    tone = _TONES[target]
    values = {**facts, "Tried": _cap(facts["tried"]), "Topic": _cap(facts["topic"])}
    symptoms = list(story.symptoms)
    rng.shuffle(symptoms)
    body = [
        rng.choice(tone["open"]).format_map(values),
        _cap(
            rng.choice(("Since {when}, {symptom}.", "{Symptom}.", "Starting {when}, {symptom}.")).format_map(
                {
                    **values,
                    "symptom": symptoms[0].format_map(values),
                    "Symptom": _cap(symptoms[0].format_map(values)),
                }
            )
        ),
    ]
    if rng.random() < 0.4:
        body.append(f"We also see that {symptoms[1].format_map(values)}.")
    if rng.random() < 0.5:
        body.append(f"Account {facts['account']}, resource {facts['resource']}.")
    # Most reports of an outage say where it hurts: the region is what they share, their resources are not.
    if rng.random() < 0.7:
        body.append(
            rng.choice(("Region {region}.", "We are in {region}.", "All of this in {region}.")).format_map(
                values
            )
        )
    body.append(rng.choice(tone["impact"]).format_map(values))
    body.append(rng.choice(tone["close"]).format_map(values))
    return TicketText(subject=rng.choice(story.subjects).format_map(values), description=" ".join(body))


def generate_incident_bursts(
    incidents: int,
    unrelated: int,
    *,
    seed: int | None = None,
    now: datetime | None = None,
    sizes: tuple[int, int] = (3, 8),
) -> IncidentBurst:
    """`incidents` bursts (sizes[0]..sizes[1] customers each, one story each) mixed with unrelated tickets.

    Bursts are spread over the last few hours, interleaved with the unrelated tickets (the normal
    generator's: some share a burst's product and issue type, the hard case).
    """
    if not 0 <= incidents <= len(INCIDENT_STORIES):
        raise ValueError(f"--incidents must be between 0 and {len(INCIDENT_STORIES)}")
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    base = generate_tickets(unrelated, seed=rng.randrange(2**32), now=now)
    stories = rng.sample(INCIDENT_STORIES, incidents)
    locale_cw = tuple(accumulate(_LOCALES.values()))
    by_pair = {(s.product, s.issue_type): s for s in scenarios_for(None)}
    members: list[tuple[datetime, str, GeneratedTicket]] = []
    # An unrelated ticket of a burst's product never names the burst's region: it is another customer's own
    # problem, and the same product in the same region within minutes is what an outage looks like.
    named: dict[str, set[str]] = {}
    for t in base:
        named.setdefault(t.event.data.product, set()).update(_REGION_CODE.findall(t.event.data.description))
    for story in stories:
        region = rng.choice([r for r in _REGIONS if r not in named.get(story.product, set())] or _REGIONS)
        start = now - timedelta(minutes=rng.randint(30, 600))
        for n in range(rng.randint(*sizes)):
            issue_type = rng.choice(story.issue_types)
            scenario = by_pair[(story.product, issue_type)]
            facts = scenario_facts(scenario, rng, region=region)
            facts["when"] = rng.choice(
                ("this morning", "about an hour ago", "{h} minutes ago", "around 9:00 UTC")
            ).format_map(facts)
            target = rng.choices(
                SENTIMENT_TARGET_NAMES, weights=[SENTIMENT_WEIGHTS[t] for t in SENTIMENT_TARGET_NAMES]
            )[0]
            text = _incident_text(story, target, facts, rng)
            submitted = start + timedelta(minutes=n * rng.randint(1, 6), seconds=rng.randint(0, 59))
            submitted = min(submitted, now)
            data = TicketData(
                subject=text.subject,
                description=text.description,
                customer=_customer(rng, locale_cw),
                product=story.product,
                issue_type=issue_type,
            )
            ticket_id = _ticket_id(rng, submitted.strftime("%Y%m%d"))
            event = TicketSubmitted(
                ticketId=ticket_id, submittedAt=submitted, source=Source.GENERATOR, data=data
            )
            members.append((submitted, story.key, GeneratedTicket(event=event, target=target)))
    # Unrelated tickets spread over the same hours.
    spread = [(now - timedelta(minutes=rng.randint(0, 720)), "", t) for t in base]
    everything = sorted(members + spread, key=lambda m: m[0])
    tickets: list[GeneratedTicket] = []
    truth: dict[str, list[str]] = {s.key: [] for s in stories}
    alone: list[str] = []
    for submitted, key, t in everything:
        event = t.event
        if not key:  # re-time the unrelated ticket (its id keeps the same day only if the date matches)
            day = submitted.strftime("%Y%m%d")
            ticket_id = event.ticketId if event.ticketId[4:12] == day else _ticket_id(rng, day)
            event = event.model_copy(update={"ticketId": ticket_id, "submittedAt": submitted})
            event = TicketSubmitted.model_validate(event.model_dump())
            alone.append(event.ticketId)
        else:
            truth[key].append(event.ticketId)
        tickets.append(GeneratedTicket(event=event, target=t.target))
    return IncidentBurst(tickets=tickets, incidents=truth, unrelated=alone)


# A generated load (demo, chaos) spans at most this much before the run: the earliest SLA warning (80 % of
# the HIGH target, 1 h) is well after it.
LOAD_SPAN = timedelta(minutes=40)


def generated_load(
    count: int, incidents: int, *, seed: int | None = None, now: datetime | None = None
) -> tuple[list[GeneratedTicket], dict[str, str | None]]:
    """`count` tickets of which `incidents` bursts are the only incidents, and the truth (ticket id ->
    incident key or None): what `tms demo` and `tms chaos` submit and reconcile the grouping against.

    The unrelated tickets are dropped from the end to keep the total at `count` (with fewer bursts when
    their reports alone would exceed it), and the whole load is
    squeezed into the last LOAD_SPAN (keeping its order and proportions): a report submitted hours before
    the run would be past its SLA target on arrival and raise alerts the run did not cause. Zero incidents
    is plain `generate_tickets`.
    """
    while incidents > 0:  # a small load holds fewer bursts: never more than `count` tickets in all
        burst = generate_incident_bursts(incidents, count, seed=seed, now=now)
        members = {t for ids in burst.incidents.values() for t in ids}
        if len(members) <= count:
            break
        incidents -= 1
    if incidents <= 0:
        plain = generate_tickets(count, seed=seed, now=now)
        return plain, {t.event.ticketId: None for t in plain}
    spare = max(0, len(burst.tickets) - count)
    kept: list[GeneratedTicket] = []
    for t in reversed(burst.tickets):
        if spare and t.event.ticketId not in members:
            spare -= 1
            continue
        kept.append(t)
    kept.reverse()
    end = (now or datetime.now(UTC)).astimezone(UTC)
    start = min((t.event.submittedAt for t in kept), default=end)
    scale = min(1.0, LOAD_SPAN / (end - start)) if end > start else 1.0
    rng = random.Random(seed)
    renamed: dict[str, str] = {}
    used: set[str] = set()
    timed: list[GeneratedTicket] = []
    for t in kept:
        at = end - (end - t.event.submittedAt) * scale
        day = at.strftime("%Y%m%d")
        # The id carries the submission day: a ticket moved to another day gets an id of that day.
        ticket_id = t.event.ticketId
        while ticket_id[4:12] != day or ticket_id in used:
            ticket_id = _ticket_id(rng, day)
        used.add(ticket_id)
        renamed[t.event.ticketId] = ticket_id
        event = t.event.model_copy(update={"ticketId": ticket_id, "submittedAt": at})
        timed.append(
            GeneratedTicket(event=TicketSubmitted.model_validate(event.model_dump()), target=t.target)
        )
    kept = timed
    truth: dict[str, str | None] = {t.event.ticketId: None for t in kept}
    for key, ids in burst.incidents.items():
        truth.update(dict.fromkeys((renamed[i] for i in ids), key))
    return kept, truth
