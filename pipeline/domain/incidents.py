"""Incidents: many customers reporting one problem become one incident (one Slack thread).

A new ticket's text is embedded and the open tickets of a recent window nearest to it are read back as
candidates, with the other members of their incidents. The candidates are grouped (an open incident as a
whole, or a lone ticket) and each group gets the combined link score (pipeline.domain.incident_signals: the
cosines plus product, issue type, minutes apart, service-side signals and symptoms shared with any member,
how many companies report it). The best group at or above its threshold decides: join that incident, or
open a new one rooted at that (older) lone ticket; other groups above the merge threshold are merged into
it (the younger incident into the older). Pure logic here; embedding and vector search are ports (adapters
in pipeline/adapters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from contract import defaults
from contract.errors import ConfigurationError, TmsError
from contract.models import Priority, TicketData, TicketStatus
from pipeline.domain.incident_signals import LinkModel, Profile, extract_signals, group_features

# The link score's weights and threshold are per embedding model (contract/defaults.py INCIDENT_LINK_MODELS,
# fitted with bench/incidents.py on the calibration half of the hand-written set; docs/incidents.md).
# TMS_INCIDENT_THRESHOLD overrides the threshold of the configured model.
# Candidates are found by cosine minus this much per hour between the two reports, so that a window full
# of older same-product tickets does not crowd out the minutes-old reports of a burst.
DEFAULT_DECAY_PER_HOUR = defaults.INCIDENT_DECAY_PER_HOUR
DEFAULT_WINDOW = timedelta(hours=defaults.INCIDENT_WINDOW_HOURS)
# Candidates read back from the store (their current status, incident and profile) per ticket: reports of
# one incident in different words sit at cosines 0.4-0.7, below many same-product strangers, so the
# combined score needs more candidates than the nearest few (bench/incidents.py measures the recall lost).
NEIGHBOURS = defaults.INCIDENT_CANDIDATES
INCIDENT_ID_PREFIX = "INC-"
if TYPE_CHECKING:
    import numpy as np

_PRIORITY_RANK = {Priority.NORMAL: 0, Priority.MEDIUM: 1, Priority.HIGH: 2}


class IncidentError(TmsError):
    """An incident operation that cannot apply (unknown member, splitting the root)."""


class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors (Bedrock Titan, the offline MiniLM)."""

    model_id: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit-length float32 row per text."""
        ...


@dataclass(frozen=True)
class Neighbour:
    """An open ticket of the window, with its similarity to the new ticket."""

    ticket_id: str
    score: float  # what the thresholds apply to: its group's link score once rescored (see rescore)
    incident_id: str | None = None
    status: str = TicketStatus.TRIAGED.value
    similarity: float | None = None  # the plain cosine (None: `score` is it)
    profile: Profile | None = None  # product, issue type, company, signals, time (None: unknown)
    reporters: int = 0  # distinct companies already in its incident (0: it has none)
    text: str = ""  # its redacted incident text, for the second opinion ("": not stored, never shown)

    @property
    def cosine(self) -> float:
        """The plain cosine to the new ticket (`score` when no separate similarity was kept)."""
        return self.similarity if self.similarity is not None else self.score


def time_adjusted(similarity: float, hours_apart: float, decay_per_hour: float) -> float:
    """The linking score: cosine similarity minus the decay for the time between the two reports."""
    return similarity - decay_per_hour * abs(hours_apart)


class VectorIndex(Protocol):
    """Stores ticket vectors and finds the nearest open tickets of a window."""

    def nearest(
        self,
        vector: np.ndarray,
        *,
        since: datetime,
        at: datetime,
        decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
        k: int = NEIGHBOURS,
    ) -> list[Neighbour]:
        """The k best tickets submitted at or after `since` by time_adjusted score (relative to `at`), best
        first, with their current status and incident."""
        ...

    def add(
        self,
        ticket_id: str,
        vector: np.ndarray,
        submitted_at: datetime,
        profile: Profile | None = None,
        text: str = "",
    ) -> None:
        """Remember a ticket's vector, profile and redacted text (idempotent per ticket id)."""
        ...


@dataclass(frozen=True)
class Verdict:
    """A second opinion's answer, with the tokens it billed."""

    same_problem: bool
    input_tokens: int = 0
    output_tokens: int = 0


class LinkJudge(Protocol):
    """A second opinion on a borderline link: do these reports describe one problem? (the reply model on AWS,
    pipeline/adapters/link_judge.py). Raises a TmsError when it cannot answer; the link then stands as the
    score decided it."""

    model_id: str

    def same_problem(self, report: str, candidates: Sequence[str]) -> Verdict:
        """Whether `report` is the same underlying problem as the `candidates` (one incident's reports)."""
        ...


def incident_text(data: TicketData) -> str:
    """What is embedded: the subject and the opening of the description (product and issue type too).

    Product and issue type are the customer's own classification; they pull reports of one problem
    together even when the wording differs.
    """
    return f"{data.product}: {data.issue_type}. {data.subject}. {data.description}"


def judged_text(data: TicketData) -> str:
    """What the second opinion reads of a report (stored beside its vector): the embedded text, cut at
    INCIDENT_TEXT_MAX_CHARS on a word boundary (the problem, not a pasted log)."""
    text = incident_text(data)
    limit = defaults.INCIDENT_TEXT_MAX_CHARS
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit(None, 1)[0] if " " in cut[limit // 2 :] else cut) + " …"


def profile_of(data: TicketData, submitted_at: datetime) -> Profile:
    """What the link score compares besides the vector: product, issue type, company, signals, time."""
    return Profile(
        product=data.product,
        issue_type=data.issue_type,
        company=data.customer.company.strip(),
        signals=extract_signals(f"{data.subject}\n{data.description}"),
        submitted_at=submitted_at,
    )


def link_model_for(model_id: str) -> LinkModel:
    """The link model fitted for this embedding model (their cosines are on different scales)."""
    data = defaults.INCIDENT_LINK_MODELS.get(model_id)
    if data is None:
        known = ", ".join(sorted(defaults.INCIDENT_LINK_MODELS))
        raise ConfigurationError(
            f"no incident link model for embedding model {model_id!r} (known: {known}); calibrate one with "
            "`tms eval --incidents` and add it to INCIDENT_LINK_MODELS in contract/defaults.py"
        )
    return LinkModel.from_data(data)


def _group_key(n: Neighbour) -> str:
    return n.incident_id or n.ticket_id


def candidate_groups(neighbours: Sequence[Neighbour], *, ticket_id: str = "") -> dict[str, list[Neighbour]]:
    """The open candidates grouped as the link decides: one group per incident, one per lone ticket.

    RESOLVED tickets and the ticket itself are left out (never linked to, and no longer describe an open
    problem); the index returns a candidate incident's other members in the window with the nearest ones, so
    a group is the incident as a whole, not only its members that happened to be nearest.
    """
    groups: dict[str, list[Neighbour]] = {}
    for n in neighbours:
        if n.ticket_id == ticket_id or n.status == TicketStatus.RESOLVED.value:
            continue
        groups.setdefault(_group_key(n), []).append(n)
    return groups


def rescore(new: Profile, neighbours: Sequence[Neighbour], model: LinkModel) -> list[Neighbour]:
    """The candidates with `score` replaced by their GROUP's combined link score for the new ticket.

    Every member of one incident gets that incident's score (see incident_signals.group_features); a lone
    ticket is a group of one. RESOLVED candidates keep their cosine as score (decide_link skips them).
    """
    scores: dict[str, float] = {}
    for key, members in candidate_groups(neighbours).items():
        features = group_features(
            new,
            [(m.profile or Profile(), m.cosine) for m in members],
            reporters=max(m.reporters for m in members),
        )
        scores[key] = model.score(features)
    out = []
    for n in neighbours:
        out.append(replace(n, score=scores.get(_group_key(n), n.cosine), similarity=n.cosine))
    return out


def incident_id_for(root_ticket_id: str) -> str:
    """The incident id, derived from its root ticket: deterministic, so a retried step links the same way."""
    if root_ticket_id.startswith("TKT-"):
        return INCIDENT_ID_PREFIX + root_ticket_id.removeprefix("TKT-")
    return INCIDENT_ID_PREFIX + root_ticket_id


@dataclass(frozen=True)
class IncidentLink:
    """The outcome for one new ticket: alone, joined an incident, or opened one with its nearest ticket."""

    incident_id: str | None
    root_ticket_id: str | None = None
    similarity: float | None = None
    matched_ticket_id: str | None = None
    opened: bool = False  # True: the matched ticket had no incident; it becomes the root of a new one
    # Merges this link makes: younger incidents folded into this one (their members re-pointed), and lone
    # open tickets that join it with the new ticket (a report that links two groups makes them one).
    merged_incidents: tuple[str, ...] = ()
    joined_tickets: tuple[str, ...] = ()
    # The second opinion asked about this ticket's best candidate (None: not asked), and why it has none
    # when it was asked and failed (the link then stands as the score decided it).
    verdict: Verdict | None = None
    judge_error: str = ""

    @property
    def linked(self) -> bool:
        return self.incident_id is not None


ALONE = IncidentLink(incident_id=None)


def _age(members: Sequence[Neighbour]) -> tuple[str, str]:
    """Sort key of a group by age: its oldest member's submission time (then its id), oldest first."""
    times = [m.profile.submitted_at.isoformat() for m in members if m.profile and m.profile.submitted_at]
    return (min(times) if times else "~", min(m.ticket_id for m in members))


Group = tuple[float, str, list[Neighbour]]  # a candidate group's best score, its key, its members


def ranked_groups(neighbours: Sequence[Neighbour], *, ticket_id: str) -> list[Group]:
    """The candidate groups best first (by their best member's score, then key): the order a link decides in."""
    groups = candidate_groups(neighbours, ticket_id=ticket_id)
    return sorted(
        ((max(m.score for m in ms), key, ms) for key, ms in groups.items()), key=lambda g: (-g[0], g[1])
    )


def needed_score(members: Sequence[Neighbour], threshold: float, open_threshold: float | None) -> float:
    """What a group needs to be linked: `threshold` to join an open incident, `open_threshold` (default
    `threshold`) to open a new one with a lone ticket."""
    if members[0].incident_id or open_threshold is None:
        return threshold
    return open_threshold


def decide_link(
    neighbours: Sequence[Neighbour],
    threshold: float,
    *,
    ticket_id: str,
    open_threshold: float | None = None,
    merge_threshold: float | None = None,
) -> IncidentLink:
    """Link to the best-scoring candidate group, merging the others at or above `merge_threshold`.

    An open incident links at or above `threshold`; a lone ticket opens a new incident with it at or above
    `open_threshold` (default `threshold`). RESOLVED tickets and the ticket itself never count. When more
    than one group qualifies for merging, they become one: the OLDEST incident among them keeps its id and
    the younger incidents are folded into it, lone tickets join it; with no incident among them, the oldest
    lone ticket becomes the root of a new one.
    """
    eligible = [
        g
        for g in ranked_groups(neighbours, ticket_id=ticket_id)
        if g[0] >= needed_score(g[2], threshold, open_threshold)
    ]
    if not eligible:
        return ALONE
    best_score, _, best_members = eligible[0]
    chosen = [eligible[0]]
    if merge_threshold is not None:
        chosen += [g for g in eligible[1:] if g[0] >= merge_threshold]
    matched = max(best_members, key=lambda m: m.cosine)
    incidents = sorted((g for g in chosen if g[2][0].incident_id), key=lambda g: _age(g[2]))
    lone = sorted((g for g in chosen if not g[2][0].incident_id), key=lambda g: _age(g[2]))
    if incidents:
        target = incidents[0][2][0].incident_id or ""
        return IncidentLink(
            target,
            root_of(target),
            best_score,
            matched.ticket_id,
            merged_incidents=tuple(g[1] for g in incidents[1:]),
            joined_tickets=tuple(g[1] for g in lone),
        )
    root = lone[0][1]
    return IncidentLink(
        incident_id_for(root),
        root,
        best_score,
        matched.ticket_id,
        opened=True,
        joined_tickets=tuple(g[1] for g in lone[1:]),
    )


def apply_link(incidents: dict[str, str], ticket_id: str, link: IncidentLink) -> None:
    """A link's effect on a ticket -> incident map, merges included (the store does the same on the items):
    the ticket, the root it opened with and the lone tickets it pulled in join the incident; every member of
    a merged (younger) incident is re-pointed to it."""
    if not link.incident_id:
        return
    target, merged = link.incident_id, set(link.merged_incidents)
    for t, i in list(incidents.items()):
        if i in merged:
            incidents[t] = target
    for t in (ticket_id, link.root_ticket_id or "", *link.joined_tickets):
        if t:
            incidents[t] = target


def root_of(incident_id: str) -> str:
    """The root ticket id of an incident id (the inverse of incident_id_for)."""
    rest = incident_id.removeprefix(INCIDENT_ID_PREFIX)
    return "TKT-" + rest if rest[:8].isdigit() and len(rest) > 9 and rest[8] == "-" else rest


def link_ticket(
    ticket_id: str,
    data: TicketData,
    submitted_at: datetime,
    *,
    embedder: Embedder,
    index: VectorIndex,
    model: LinkModel | None = None,
    threshold: float | None = None,
    decay_per_hour: float = DEFAULT_DECAY_PER_HOUR,
    window: timedelta = DEFAULT_WINDOW,
    judge: LinkJudge | None = None,
) -> IncidentLink:
    """Embed the ticket, search the open window, score the candidates, decide the link (asking `judge` about
    a borderline best candidate), add the ticket with its redacted text.

    `model` defaults to the one fitted for the embedder's model id; `threshold` overrides its threshold.
    `data` is the ticket as the workflow shows it (redacted): its text is what is embedded and stored.
    """
    model = model or link_model_for(embedder.model_id)
    vector = embedder.embed([incident_text(data)])[0]
    profile = profile_of(data, submitted_at)
    text = judged_text(data)
    neighbours = index.nearest(
        vector, since=submitted_at - window, at=submitted_at, decay_per_hour=decay_per_hour
    )
    link = link_by_model(
        profile, neighbours, model, ticket_id=ticket_id, threshold=threshold, judge=judge, text=text
    )
    index.add(ticket_id, vector, submitted_at, profile, text)
    return link


def link_by_model(
    profile: Profile,
    neighbours: Sequence[Neighbour],
    model: LinkModel,
    *,
    ticket_id: str,
    threshold: float | None = None,
    judge: LinkJudge | None = None,
    text: str = "",
) -> IncidentLink:
    """The candidates scored by `model` and the link decided with its thresholds (`threshold` overrides the
    one to join): what the workflow's step and the benchmark's replay both do.

    With a `judge` (and the model's `judge_lower`), a best candidate group scored in [judge_lower, the
    threshold it needs) is shown to the judge with the new report's `text`: "same problem" links the ticket
    to it as if it had scored the threshold; "no" or a failed judge leaves the score's decision.
    """
    join = model.threshold if threshold is None else threshold
    scored = rescore(profile, neighbours, model)

    def decide(candidates: Sequence[Neighbour]) -> IncidentLink:
        return decide_link(
            candidates,
            join,
            ticket_id=ticket_id,
            open_threshold=model.open_threshold,
            merge_threshold=model.merge_threshold,
        )

    borderline = _borderline(scored, model, join, ticket_id) if judge and text.strip() else None
    if judge is None or borderline is None:
        return decide(scored)
    needed, members = borderline
    shown = [m.text for m in sorted(members, key=lambda m: -m.cosine) if m.text.strip()][
        : defaults.INCIDENT_JUDGE_MEMBERS
    ]
    try:
        verdict = judge.same_problem(text, shown)
    except TmsError as e:
        return replace(decide(scored), judge_error=f"{type(e).__name__}: {e}")
    if not verdict.same_problem:
        return replace(decide(scored), verdict=verdict)
    ids = {m.ticket_id for m in members}
    lifted = [replace(n, score=max(n.score, needed)) if n.ticket_id in ids else n for n in scored]
    return replace(decide(lifted), verdict=verdict)


def _borderline(
    scored: Sequence[Neighbour], model: LinkModel, join: float, ticket_id: str
) -> tuple[float, list[Neighbour]] | None:
    """The best candidate group when it scores in [model.judge_lower, the threshold it needs) and has a
    stored text to show: (that threshold, its members); None when the score decides alone."""
    ranked = ranked_groups(scored, ticket_id=ticket_id)
    if model.judge_lower is None or not ranked:
        return None
    top, _, members = ranked[0]
    needed = needed_score(members, join, model.open_threshold)
    if not model.judge_lower <= top < needed or not any(m.text.strip() for m in members):
        return None
    return needed, members


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rolled_up_priority(priorities: Iterable[Priority | str]) -> Priority:
    """The incident's priority: the highest of its members' (NORMAL when it has none yet)."""
    ranked = [Priority(p) for p in priorities]
    return max(ranked, key=_PRIORITY_RANK.__getitem__, default=Priority.NORMAL)


@dataclass(frozen=True)
class Member:
    """One report in an incident, as Slack and the reports show it."""

    ticket_id: str
    submitted_at: datetime
    customer: str
    company: str
    subject: str
    product: str
    priority: Priority = Priority.NORMAL
    status: str = TicketStatus.TRIAGED.value


@dataclass(frozen=True)
class Incident:
    """An incident and its members, oldest first; the first member is the root (the Slack thread's post)."""

    incident_id: str
    members: tuple[Member, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, incident_id: str, members: Iterable[Member]) -> Incident:
        """The incident with its members ordered by submission (ties by ticket id)."""
        return cls(incident_id, tuple(sorted(members, key=lambda m: (m.submitted_at, m.ticket_id))))

    @property
    def root(self) -> Member:
        if not self.members:
            raise IncidentError(f"incident {self.incident_id} has no members")
        return self.members[0]

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def companies(self) -> list[str]:
        """Affected companies, in order of first report, each once (members without a company left out)."""
        seen: dict[str, None] = {}
        for m in self.members:
            if m.company.strip():
                seen.setdefault(m.company.strip(), None)
        return list(seen)

    @property
    def products(self) -> list[str]:
        return list(dict.fromkeys(m.product for m in self.members))

    @property
    def priority(self) -> Priority:
        return rolled_up_priority(m.priority for m in self.members)

    @property
    def resolved(self) -> bool:
        return bool(self.members) and all(m.status == TicketStatus.RESOLVED.value for m in self.members)

    def duration(self, now: datetime) -> timedelta:
        """From the first report to the last one (resolved) or to now (open)."""
        end = self.members[-1].submitted_at if self.resolved else now
        return max(end - self.root.submitted_at, timedelta(0))

    def position(self, ticket_id: str) -> int:
        """The member's report number (1 = root)."""
        for i, m in enumerate(self.members, start=1):
            if m.ticket_id == ticket_id:
                return i
        raise IncidentError(f"ticket {ticket_id} is not in incident {self.incident_id}")

    def report_line(self, ticket_id: str) -> str:
        """'4th report: <customer>, <company>: <subject>' (the company left out when there is none)."""
        m = self.members[self.position(ticket_id) - 1]
        who = f"{m.customer}, {m.company}" if m.company.strip() else m.customer
        return f"{ordinal(self.position(ticket_id))} report: {who}: {m.subject}"

    def split(self, ticket_id: str) -> Incident:
        """The incident without this member ("Not the same issue"); the root cannot be split off."""
        if self.position(ticket_id) == 1:
            raise IncidentError(f"ticket {ticket_id} is the root of incident {self.incident_id}")
        return replace(self, members=tuple(m for m in self.members if m.ticket_id != ticket_id))

    def to_resolve(self) -> list[str]:
        """The member tickets "Resolve incident" resolves: every member not yet RESOLVED."""
        return [m.ticket_id for m in self.members if m.status != TicketStatus.RESOLVED.value]


def top_incidents(incidents: Iterable[Incident], limit: int = 5) -> list[Incident]:
    """The largest incidents first (then the oldest)."""
    return sorted(incidents, key=lambda i: (-i.count, i.root.submitted_at))[:limit]
