"""Incident domain logic: the threshold decides, links are deterministic, split/resolve/roll-up behave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contract import defaults
from contract.errors import ConfigurationError
from contract.models import Priority, TicketStatus
from pipeline.adapters.vector_index import InMemoryVectorIndex
from pipeline.domain.incident_signals import FEATURES, LinkModel, Profile
from pipeline.domain.incidents import (
    Incident,
    IncidentError,
    Member,
    Neighbour,
    apply_link,
    decide_link,
    incident_id_for,
    link_model_for,
    link_ticket,
    ordinal,
    profile_of,
    rescore,
    rolled_up_priority,
    root_of,
    time_adjusted,
    top_incidents,
)
from tests.conftest import make_ticket

T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def _member(
    n: int, *, company: str = "Acme", priority: Priority = Priority.NORMAL, status: str = "TRIAGED"
) -> Member:
    return Member(
        ticket_id=f"TKT-20261127-{n:010d}",
        submitted_at=T0 + timedelta(minutes=n),
        customer=f"Customer {n}",
        company=company,
        subject=f"S3 uploads fail ({n})",
        product="Amazon S3",
        priority=priority,
        status=status,
    )


def test_neighbour_above_threshold_without_incident_opens_one_rooted_at_the_older_ticket() -> None:
    link = decide_link([Neighbour("TKT-20261127-AAAAAAAAAA", 0.9)], 0.76, ticket_id="TKT-20261127-BBBBBBBBBB")
    assert link.opened
    assert link.root_ticket_id == "TKT-20261127-AAAAAAAAAA"
    assert link.incident_id == "INC-20261127-AAAAAAAAAA"


def test_neighbour_in_an_incident_makes_the_ticket_join_that_incident() -> None:
    link = decide_link(
        [Neighbour("TKT-20261127-CCCCCCCCCC", 0.8, incident_id="INC-20261127-AAAAAAAAAA")],
        0.76,
        ticket_id="TKT-20261127-DDDDDDDDDD",
    )
    assert not link.opened
    assert link.incident_id == "INC-20261127-AAAAAAAAAA"
    assert link.root_ticket_id == "TKT-20261127-AAAAAAAAAA"


def test_score_below_threshold_leaves_the_ticket_alone() -> None:
    link = decide_link([Neighbour("TKT-20261127-AAAAAAAAAA", 0.7599)], 0.76, ticket_id="x")
    assert not link.linked


def test_score_exactly_at_threshold_links() -> None:
    assert decide_link([Neighbour("TKT-20261127-AAAAAAAAAA", 0.76)], 0.76, ticket_id="x").linked


def test_resolved_tickets_and_the_ticket_itself_are_never_linked_to() -> None:
    neighbours = [
        Neighbour("self", 1.0),
        Neighbour("TKT-20261127-AAAAAAAAAA", 0.95, status=TicketStatus.RESOLVED.value),
        Neighbour("TKT-20261127-BBBBBBBBBB", 0.80),
    ]
    link = decide_link(neighbours, 0.76, ticket_id="self")
    assert link.matched_ticket_id == "TKT-20261127-BBBBBBBBBB"


def test_best_scoring_neighbour_wins_whatever_the_order() -> None:
    neighbours = [
        Neighbour("TKT-20261127-AAAAAAAAAA", 0.78),
        Neighbour("TKT-20261127-BBBBBBBBBB", 0.9, "INC-X"),
    ]
    assert decide_link(neighbours, 0.76, ticket_id="y").incident_id == "INC-X"


def test_time_decay_lowers_the_score_of_reports_hours_apart() -> None:
    assert time_adjusted(0.9, 0.0, 0.05) == pytest.approx(0.9)
    assert time_adjusted(0.9, -4.0, 0.05) == pytest.approx(0.7)


def test_incident_ids_round_trip_to_their_root_ticket() -> None:
    assert root_of(incident_id_for("TKT-20261127-ABCDEFGHJK")) == "TKT-20261127-ABCDEFGHJK"
    assert root_of(incident_id_for("EXT-42")) == "EXT-42"


# A link model led by the cosine (the fitted ones are data in contract/defaults.py, tested apart).
COSINE_MOSTLY = LinkModel(
    weights={**dict.fromkeys(FEATURES, 0.0), "cosine": 10.0, "log_minutes": -0.5}, bias=-5.0, threshold=0.5
)


class _KeywordEmbedder:
    """Deterministic fake: a ticket's vector is its (one-hot) keyword; unknown text is its own direction."""

    model_id = "fake"
    dimensions = 4

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for t in texts:
            v = np.zeros(4, dtype=np.float32)
            v[0 if "upload" in t else 1 if "login" in t else 3] = 1.0
            rows.append(v)
        return np.stack(rows)


def test_burst_becomes_one_incident_and_an_unrelated_ticket_stays_alone() -> None:
    # Given three reports of the same upload failure and one login question, minutes apart
    index, embedder = InMemoryVectorIndex(4), _KeywordEmbedder()
    tickets = [
        make_ticket(subject="upload fails", description="S3 upload fails", now=T0),
        make_ticket(
            subject="upload broken", description="every upload errors", now=T0 + timedelta(minutes=3)
        ),
        make_ticket(subject="login question", description="how do I login", now=T0 + timedelta(minutes=4)),
        make_ticket(subject="upload 503", description="upload returns 503", now=T0 + timedelta(minutes=5)),
    ]
    links = []
    for t in tickets:
        link = link_ticket(
            t.ticketId, t.data, t.submittedAt, embedder=embedder, index=index, model=COSINE_MOSTLY
        )
        if link.incident_id:
            index.incidents[t.ticketId] = link.incident_id
            index.incidents[link.root_ticket_id or ""] = link.incident_id
        links.append(link)
    # Then the first upload report is the root, the later ones join it, the login ticket stays alone
    root = tickets[0].ticketId
    assert not links[0].linked
    assert links[1].opened and links[1].root_ticket_id == root
    assert not links[2].linked
    assert links[3].incident_id == incident_id_for(root) and not links[3].opened


def test_incident_priority_is_the_highest_of_its_members() -> None:
    incident = Incident.of(
        "INC-1", [_member(1), _member(2, priority=Priority.HIGH), _member(3, priority=Priority.MEDIUM)]
    )
    assert incident.priority is Priority.HIGH
    assert rolled_up_priority([Priority.NORMAL, Priority.MEDIUM]) is Priority.MEDIUM
    assert rolled_up_priority([]) is Priority.NORMAL


def test_companies_are_listed_once_in_order_of_first_report() -> None:
    incident = Incident.of(
        "INC-1",
        [
            _member(3, company="Globex"),
            _member(1, company="Acme"),
            _member(2, company="Globex"),
            _member(4, company=""),
        ],
    )
    assert incident.companies == ["Acme", "Globex"]
    assert incident.count == 4


def test_report_line_names_the_ordinal_customer_company_and_subject() -> None:
    incident = Incident.of("INC-1", [_member(n) for n in range(1, 5)])
    assert incident.report_line(_member(4).ticket_id) == "4th report: Customer 4, Acme: S3 uploads fail (4)"
    assert incident.root.ticket_id == _member(1).ticket_id


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (102, "102nd"),
    ],
)
def test_ordinals(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_not_the_same_issue_splits_the_member_out_and_renumbers_later_reports() -> None:
    incident = Incident.of(
        "INC-1", [_member(n, priority=Priority.HIGH if n == 2 else Priority.NORMAL) for n in (1, 2, 3)]
    )
    split = incident.split(_member(2).ticket_id)
    assert [m.ticket_id for m in split.members] == [_member(1).ticket_id, _member(3).ticket_id]
    assert split.priority is Priority.NORMAL  # the HIGH member left: the roll-up follows
    assert split.report_line(_member(3).ticket_id).startswith("2nd report:")


def test_the_root_cannot_be_split_off() -> None:
    incident = Incident.of("INC-1", [_member(1), _member(2)])
    with pytest.raises(IncidentError):
        incident.split(_member(1).ticket_id)
    with pytest.raises(IncidentError):
        incident.split("TKT-unknown")


def test_resolve_incident_resolves_every_member_not_yet_resolved() -> None:
    incident = Incident.of(
        "INC-1", [_member(1), _member(2, status="RESOLVED"), _member(3, status="APPROVED")]
    )
    assert incident.to_resolve() == [_member(1).ticket_id, _member(3).ticket_id]
    assert not incident.resolved
    done = Incident.of("INC-1", [_member(1, status="RESOLVED"), _member(2, status="RESOLVED")])
    assert done.resolved and done.to_resolve() == []
    assert done.duration(T0 + timedelta(days=1)) == timedelta(minutes=1)


def test_top_incidents_are_the_largest_first() -> None:
    small = Incident.of("INC-S", [_member(1), _member(2)])
    big = Incident.of("INC-B", [_member(n) for n in range(3, 8)])
    assert [i.incident_id for i in top_incidents([small, big], limit=1)] == ["INC-B"]


def test_an_embedding_model_without_a_fitted_link_model_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="INCIDENT_LINK_MODELS"):
        link_model_for("cohere.embed-english-v3")


def test_every_embedding_model_in_the_defaults_has_a_valid_link_model() -> None:
    for model_id in (defaults.OFFLINE_EMBEDDING_MODEL_ID, defaults.BEDROCK_EMBEDDING_MODEL_ID):
        model = link_model_for(model_id)
        assert 0 < model.threshold < 1
    # Titan's is the conservative one: it never links, opens or merges where the offline model's would not
    titan = link_model_for(defaults.BEDROCK_EMBEDDING_MODEL_ID)
    offline = link_model_for(defaults.OFFLINE_EMBEDDING_MODEL_ID)
    assert titan.threshold >= offline.threshold
    assert (titan.open_threshold or titan.threshold) >= (offline.open_threshold or offline.threshold)
    assert titan.merge_threshold is None or (
        offline.merge_threshold is not None and titan.merge_threshold >= offline.merge_threshold
    )
    assert set(titan.weights) == set(offline.weights)  # the same structure, calibrated apart


def test_rescoring_turns_a_weak_cosine_with_shared_symptoms_into_the_best_candidate() -> None:
    # Given two candidates: a stranger worded alike, and a report of the same outage in other words
    new = profile_of(
        make_ticket(subject="uploads broken", description="SlowDown 503 in eu-west-1", now=T0).data, T0
    )
    same_outage = Profile(new.product, new.issue_type, "Globex", new.signals, T0 - timedelta(minutes=4))
    stranger = Profile("Amazon RDS", "Database Connection", "Initech", frozenset(), T0 - timedelta(hours=20))
    model = link_model_for(defaults.OFFLINE_EMBEDDING_MODEL_ID)
    # When both are rescored for the new ticket
    scored = rescore(
        new,
        [
            Neighbour("TKT-20261127-STRANGERXX", 0.70, similarity=0.70, profile=stranger),
            Neighbour("TKT-20261127-SAMEOUTAGE", 0.50, similarity=0.50, profile=same_outage),
        ],
        model,
    )
    # Then the same outage wins and links; the stranger stays under the threshold; the cosine is kept
    link = decide_link(scored, model.threshold, ticket_id="new")
    assert link.matched_ticket_id == "TKT-20261127-SAMEOUTAGE"
    assert {n.ticket_id: n.similarity for n in scored}["TKT-20261127-STRANGERXX"] == 0.70
    assert {n.ticket_id: n.score for n in scored}["TKT-20261127-STRANGERXX"] < model.threshold


# --- Incident-level scoring and merges ---------------------------------------------------------------------

INC_OLD, INC_NEW = "INC-20261127-OLDROOT001", "INC-20261127-NEWROOT002"


def _at(minutes: int, company: str = "Acme", signals: str = "") -> Profile:
    return Profile(
        "Amazon S3",
        "Access Permissions",
        company,
        frozenset(signals.split()),
        T0 + timedelta(minutes=minutes),
    )


def test_a_report_linking_two_incidents_merges_the_younger_into_the_older() -> None:
    # Given two incidents of one outage that formed apart, and a new report that links to both
    neighbours = [
        Neighbour("TKT-20261127-NEWMEMBER1", 0.91, INC_NEW, profile=_at(20)),
        Neighbour("TKT-20261127-NEWROOT002", 0.91, INC_NEW, profile=_at(18)),
        Neighbour("TKT-20261127-OLDMEMBER1", 0.88, INC_OLD, profile=_at(3)),
        Neighbour("TKT-20261127-OLDROOT001", 0.88, INC_OLD, profile=_at(0)),
        Neighbour("TKT-20261127-LONEREPORT", 0.86, profile=_at(10)),
        Neighbour("TKT-20261127-STRANGERXX", 0.40, profile=_at(12)),
    ]
    # When the link allows merges above 0.85
    link = decide_link(neighbours, 0.8, ticket_id="TKT-20261127-THENEWONE1", merge_threshold=0.85)
    # Then the OLDER incident keeps its id (though the younger scored best), the younger one is folded into
    # it, the lone report above the merge threshold joins, and the stranger stays out
    assert link.incident_id == INC_OLD and link.root_ticket_id == "TKT-20261127-OLDROOT001"
    assert link.merged_incidents == (INC_NEW,)
    assert link.joined_tickets == ("TKT-20261127-LONEREPORT",)
    assert link.matched_ticket_id in {"TKT-20261127-NEWMEMBER1", "TKT-20261127-NEWROOT002"}
    # and every member of both ends up in one incident
    table = {
        "TKT-20261127-NEWMEMBER1": INC_NEW,
        "TKT-20261127-NEWROOT002": INC_NEW,
        "TKT-20261127-OLDMEMBER1": INC_OLD,
        "TKT-20261127-OLDROOT001": INC_OLD,
    }
    apply_link(table, "TKT-20261127-THENEWONE1", link)
    assert set(table.values()) == {INC_OLD} and len(table) == 6
    assert "TKT-20261127-STRANGERXX" not in table


def test_without_a_merge_threshold_the_best_group_alone_is_joined() -> None:
    neighbours = [
        Neighbour("TKT-20261127-NEWROOT002", 0.91, INC_NEW, profile=_at(18)),
        Neighbour("TKT-20261127-OLDROOT001", 0.88, INC_OLD, profile=_at(0)),
    ]
    link = decide_link(neighbours, 0.8, ticket_id="x")
    assert link.incident_id == INC_NEW and link.merged_incidents == () and link.joined_tickets == ()


def test_two_lone_reports_linked_at_once_open_one_incident_rooted_at_the_older() -> None:
    neighbours = [
        Neighbour("TKT-20261127-YOUNGERXXX", 0.95, profile=_at(9)),
        Neighbour("TKT-20261127-OLDERXXXXX", 0.90, profile=_at(2)),
    ]
    link = decide_link(neighbours, 0.8, ticket_id="x", merge_threshold=0.85)
    assert link.opened and link.root_ticket_id == "TKT-20261127-OLDERXXXXX"
    assert link.joined_tickets == ("TKT-20261127-YOUNGERXXX",)
    assert link.matched_ticket_id == "TKT-20261127-YOUNGERXXX"


def test_opening_an_incident_with_a_lone_ticket_has_its_own_threshold() -> None:
    lone = [Neighbour("TKT-20261127-LONEREPORT", 0.65)]
    member = [Neighbour("TKT-20261127-OLDMEMBER1", 0.65, INC_OLD)]
    assert decide_link(lone, 0.75, ticket_id="x", open_threshold=0.6).opened
    assert not decide_link(lone, 0.75, ticket_id="x").linked
    assert not decide_link(member, 0.75, ticket_id="x", open_threshold=0.6).linked


def test_every_member_of_an_incident_gets_the_incident_score_so_a_crowd_beats_one_look_alike() -> None:
    # Given an incident whose members each share a little with the new report (region, status, symptom),
    # and a lone stranger worded more alike but naming none of it
    new = _at(15, signals="region:eu-west-1 status:503 symptom:unavailable")
    members = [
        Neighbour(
            "TKT-20261127-OLDROOT001",
            0.55,
            INC_OLD,
            similarity=0.55,
            profile=_at(0, "Globex", "region:eu-west-1"),
            reporters=3,
        ),
        Neighbour(
            "TKT-20261127-OLDMEMBER1", 0.50, INC_OLD, similarity=0.50, profile=_at(5, "Initech", "status:503")
        ),
        Neighbour(
            "TKT-20261127-OLDMEMBER2",
            0.45,
            INC_OLD,
            similarity=0.45,
            profile=_at(9, "Umbrella", "symptom:unavailable"),
        ),
    ]
    stranger = Neighbour(
        "TKT-20261127-STRANGERXX", 0.75, similarity=0.75, profile=_at(14, "Hooli", "symptom:access_denied")
    )
    model = link_model_for(defaults.OFFLINE_EMBEDDING_MODEL_ID)
    # When they are rescored for the new report
    scored = {n.ticket_id: n for n in rescore(new, [*members, stranger], model)}
    # Then the members share one score, above the stranger's, and the incident is joined
    assert len({scored[m.ticket_id].score for m in members}) == 1
    assert scored["TKT-20261127-OLDMEMBER2"].score > scored["TKT-20261127-STRANGERXX"].score
    assert scored["TKT-20261127-OLDMEMBER2"].similarity == 0.45  # the plain cosine is kept
    link = decide_link(
        list(scored.values()), model.threshold, ticket_id="new", open_threshold=model.open_threshold
    )
    assert link.incident_id == INC_OLD
