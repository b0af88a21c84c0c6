"""Vector storage and search: float16 on the ticket item, window scan, current status read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest

from pipeline.adapters import vector_index as vi
from pipeline.adapters.vector_index import DynamoVectorIndex, WindowMatrix, from_bytes, to_bytes
from pipeline.domain.incident_signals import Profile
from pipeline.domain.incidents import incident_id_for

T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def _unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_float16_storage_keeps_cosine_within_a_thousandth() -> None:
    rng = np.random.default_rng(1)
    a, b = (_unit(*rng.normal(size=384)) for _ in range(2))
    assert len(to_bytes(a)) == 768
    assert float(from_bytes(to_bytes(a)) @ from_bytes(to_bytes(b))) == pytest.approx(float(a @ b), abs=1e-3)


def test_top_k_returns_the_most_similar_first_and_ignores_tickets_before_the_window() -> None:
    w = WindowMatrix(3)
    w.add("old", _unit(1, 0, 0), T0 - timedelta(days=3))
    w.add("near", _unit(1, 0.1, 0), T0)
    w.add("far", _unit(0, 1, 0), T0)
    found = w.top_k(_unit(1, 0, 0), since=T0 - timedelta(hours=48), k=5)
    assert [t for t, _, _ in found] == ["near", "far"]


def test_top_k_with_decay_prefers_the_report_close_in_time() -> None:
    w = WindowMatrix(2)
    w.add("hours-ago", _unit(1, 0), T0 - timedelta(hours=6))
    w.add("minutes-ago", _unit(1, 0.3), T0 - timedelta(minutes=5))
    found = w.top_k(_unit(1, 0), since=T0 - timedelta(hours=48), at=T0, decay_per_hour=0.05)
    assert found[0][0] == "minutes-ago"
    adjusted = {t: (s, c) for t, s, c in found}
    assert adjusted["hours-ago"] == pytest.approx((1.0 - 0.3, 1.0))  # the plain cosine comes along


def test_matrix_grows_and_evicts_old_tickets() -> None:
    w = WindowMatrix(2, capacity=2)
    for i in range(5):
        w.add(f"t{i}", _unit(1, i), T0 + timedelta(hours=i))
    w.add("t0", _unit(0, 1), T0)  # replacing keeps one row per ticket
    assert len(w) == 5
    w.evict_before(T0 + timedelta(hours=3))
    assert len(w) == 2
    assert {t for t, _, _ in w.top_k(_unit(1, 1), since=T0)} == {"t3", "t4"}


def _table(client) -> str:
    client.create_table(
        TableName="tickets",
        AttributeDefinitions=[
            {"AttributeName": "ticket_id", "AttributeType": "S"},
            {"AttributeName": vi.EMBEDDING_DAY, "AttributeType": "S"},
            {"AttributeName": vi.EMBEDDED_AT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[vi.embedding_index_definition()],
        BillingMode="PAY_PER_REQUEST",
    )
    return "tickets"


def _put(
    client, ticket_id: str, submitted: datetime, status: str = "TRIAGED", incident: str | None = None
) -> None:
    item = {
        "ticket_id": {"S": ticket_id},
        "status": {"S": status},
        "submitted_at": {"S": submitted.isoformat()},
    }
    if incident:
        item["incident_id"] = {"S": incident}
    client.put_item(TableName="tickets", Item=item)


def test_a_second_process_finds_vectors_stored_by_the_first_with_their_current_status(
    offline_aws: None,
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(client)
    clock = iter(T0 + timedelta(seconds=i) for i in range(100))
    writer = DynamoVectorIndex(table, client, 3, now=lambda: next(clock))
    for ticket_id, vector, status, incident in (
        ("TKT-A", _unit(1, 0, 0), "TRIAGED", "INC-A"),
        ("TKT-B", _unit(1, 0.05, 0), "RESOLVED", None),
        ("TKT-C", _unit(0, 0, 1), "TRIAGED", None),
    ):
        _put(client, ticket_id, T0, status, incident)
        writer.add(ticket_id, vector, T0)
    # Given another warm function (an empty cache), When it searches
    reader = DynamoVectorIndex(table, client, 3, now=lambda: T0 + timedelta(minutes=5))
    found = reader.nearest(_unit(1, 0, 0), since=T0 - timedelta(hours=48), at=T0 + timedelta(minutes=5))
    # Then it sees every stored vector, with the status and incident the table has now
    by_id = {n.ticket_id: n for n in found}
    assert set(by_id) == {"TKT-A", "TKT-B", "TKT-C"}
    assert by_id["TKT-A"].incident_id == "INC-A"
    assert by_id["TKT-B"].status == "RESOLVED"
    assert found[0].ticket_id in {"TKT-A", "TKT-B"}
    # And a vector written later is picked up incrementally by the same reader
    _put(client, "TKT-D", T0 + timedelta(minutes=6))
    DynamoVectorIndex(table, client, 3, now=lambda: T0 + timedelta(minutes=6)).add(
        "TKT-D", _unit(0, 1, 0), T0 + timedelta(minutes=6)
    )
    again = reader.nearest(_unit(0, 1, 0), since=T0 - timedelta(hours=48), at=T0 + timedelta(minutes=7))
    assert again[0].ticket_id == "TKT-D"


ROOT, LONE = "TKT-20261127-AAAAAAAAAA", "TKT-20261127-BBBBBBBBBB"


def test_candidates_come_back_with_their_profile_and_the_companies_reporting_their_incident(
    offline_aws: None,
) -> None:
    # Given a root ticket whose incident two companies report, and a member of it with a stored profile
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(client)
    _put(client, ROOT, T0, incident=incident_id_for(ROOT))
    client.update_item(
        TableName=table,
        Key={"ticket_id": {"S": ROOT}},
        UpdateExpression="SET incident_companies = :c, product = :p, issue_type = :t",
        ExpressionAttributeValues={
            ":c": {"SS": ["Globex", "Initech"]},
            ":p": {"S": "Amazon S3"},
            ":t": {"S": "Access Permissions"},
        },
    )
    _put(client, LONE, T0)
    index = DynamoVectorIndex(table, client, 3, now=lambda: T0)
    signals = frozenset({"code:slowdown", "region:eu-west-1"})
    index.add(ROOT, _unit(1, 0, 0), T0, Profile("Amazon S3", "Access Permissions", "Globex", signals, T0))
    index.add(LONE, _unit(1, 0.2, 0), T0, Profile("Amazon S3", "", "Hooli", frozenset(), T0))
    # When a new report searches the window
    found = {n.ticket_id: n for n in index.nearest(_unit(1, 0, 0), since=T0 - timedelta(hours=1), at=T0)}
    # Then the root comes with its product, issue type, company, signals, time and its two reporting companies
    root = found[ROOT]
    assert root.profile == Profile("Amazon S3", "Access Permissions", "Globex", signals, T0)
    assert root.reporters == 2
    assert root.similarity == pytest.approx(1.0, abs=1e-3)
    # And a ticket with no signals and no incident has an empty signal set and no reporters
    assert found[LONE].profile is not None and found[LONE].profile.signals == frozenset()
    assert found[LONE].reporters == 0


def test_a_candidate_incident_comes_whole_its_members_outside_the_nearest_k_included(
    offline_aws: None,
) -> None:
    # Given an incident of three reports, one of them worded far from the new report, and k = 1
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(client)
    member, far = "TKT-20261127-CCCCCCCCCC", "TKT-20261127-DDDDDDDDDD"
    for t in (ROOT, member, far):
        _put(client, t, T0, incident=incident_id_for(ROOT))
    client.update_item(
        TableName=table,
        Key={"ticket_id": {"S": ROOT}},
        UpdateExpression="SET incident_members = :m",
        ExpressionAttributeValues={":m": {"SS": [ROOT, member, far]}},
    )
    index = DynamoVectorIndex(table, client, 3, now=lambda: T0)
    index.add(ROOT, _unit(1, 0, 0), T0, Profile("Amazon S3", company="Globex"))
    index.add(member, _unit(1, 0.5, 0), T0, Profile("Amazon S3", company="Initech"))
    index.add(far, _unit(0, 0, 1), T0, Profile("Amazon S3", company="Umbrella"))
    # When a new report searches for its single nearest ticket
    found = index.nearest(_unit(1, 0, 0), since=T0 - timedelta(hours=1), at=T0, k=1)
    # Then the nearest one's incident comes with all its members and their cosines (the far one's is 0)
    assert found[0].ticket_id == ROOT
    by_id = {n.ticket_id: n for n in found}
    assert set(by_id) == {ROOT, member, far}
    assert by_id[far].similarity == pytest.approx(0.0, abs=1e-3) and by_id[
        far
    ].incident_id == incident_id_for(ROOT)
    assert by_id[member].profile is not None and by_id[member].profile.company == "Initech"
