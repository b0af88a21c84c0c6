"""Routing against moto's DynamoDB: new tickets spread over the on-call agents by their open tickets, nobody
away gets one, racing assignments never land on one agent twice from the same counts, an unanswered ticket
moves once, and the loads follow tickets that are taken, reassigned or resolved."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from contract.models.routing import ReassignDue, TicketReassignedMessage
from local.moto import emulation, patching
from pipeline.adapters.routing import DynamoRoutingStore
from pipeline.domain.routing import Router, RoutingPolicy, load_key, sync_load
from tests.fakes.dynamo import create_ticket_table

TABLE = "tms-tickets"
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
ANA, BRUNO, CHIOMA, DMITRI = "U0ANA", "U0BRUNO", "U0CHIOMA", "U0DMITRI"


class Armed:
    def __init__(self) -> None:
        self.timers: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def arm(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        self.timers[name] = (at, payload)


class Published:
    def __init__(self) -> None:
        self.messages: list[TicketReassignedMessage] = []

    def publish(self, message: TicketReassignedMessage) -> None:
        self.messages.append(message)


@pytest.fixture
def ddb(offline_aws: None) -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_ticket_table(client, TABLE)
    return client


def _ticket(ddb: Any, n: int, status: str = "TRIAGED") -> str:
    tid = f"TKT-20261207-{n:010d}"
    ddb.put_item(
        TableName=TABLE,
        Item={
            "ticket_id": {"S": tid},
            "status": {"S": status},
            "priority": {"S": "HIGH"},
            "sla_due_at": {"S": "2026-12-07T10:30:00Z"},
        },
    )
    return tid


def _router(
    ddb: Any, oncall: tuple[str, ...], armed: Armed | None = None, published: Published | None = None
):
    return Router(
        policy=RoutingPolicy(oncall=oncall),
        store=DynamoRoutingStore(TABLE, ddb),
        timers=armed or Armed(),
        publisher=published or Published(),
    )


def _owner(ddb: Any, tid: str) -> str:
    item = ddb.get_item(TableName=TABLE, Key={"ticket_id": {"S": tid}}, ConsistentRead=True)["Item"]
    return item.get("assignee", {}).get("S", "")


def _load(ddb: Any, user: str) -> tuple[int, set[str]]:
    item = ddb.get_item(TableName=TABLE, Key={"ticket_id": {"S": load_key(user)}}, ConsistentRead=True).get(
        "Item", {}
    )
    return int(item.get("open_count", {}).get("N", "0")), set(item.get("open_tickets", {}).get("SS", []))


def test_six_new_tickets_go_two_to_each_present_oncall_agent_and_none_to_the_away_one(ddb):
    store = DynamoRoutingStore(TABLE, ddb)
    store.set_away(BRUNO, True, NOW)
    router = _router(ddb, (ANA, BRUNO, CHIOMA, DMITRI))

    owners = [router.assign_new(_ticket(ddb, n), LATER, NOW + timedelta(seconds=n)) for n in range(1, 7)]

    assert sorted(owners) == sorted([ANA, ANA, CHIOMA, CHIOMA, DMITRI, DMITRI])
    assert owners[:3] == [ANA, CHIOMA, DMITRI]  # round-robin among equals, in the rota's order
    assert BRUNO not in owners and _load(ddb, BRUNO)[0] == 0
    assert {_load(ddb, u)[0] for u in (ANA, CHIOMA, DMITRI)} == {2}


def test_an_agent_back_from_away_gets_the_next_ticket_having_the_fewest(ddb):
    store = DynamoRoutingStore(TABLE, ddb)
    store.set_away(ANA, True, NOW)
    router = _router(ddb, (ANA, BRUNO))
    assert [router.assign_new(_ticket(ddb, n), LATER, NOW) for n in (1, 2)] == [BRUNO, BRUNO]

    store.set_away(ANA, False, NOW)

    assert router.assign_new(_ticket(ddb, 3), LATER, NOW) == ANA


def test_routing_records_the_owner_in_history_like_take_it_and_arms_the_reassignment(ddb):
    armed = Armed()
    tid = _ticket(ddb, 1)

    owner = _router(ddb, (ANA,), armed).assign_new(tid, LATER, NOW)

    item = DynamoRoutingStore(TABLE, ddb).get(tid) or {}
    assert owner == ANA and item["assignee"] == ANA and item["assigned_by"] == "routing"
    assert item["history"] == [
        {"action": "assign", "actor": "routing", "at": "2026-12-07T09:30:00.000Z", "assignee": ANA}
    ]
    assert int(item["version"]) == 1
    at, payload = armed.timers[f"{tid}-reassign"]
    assert at == LATER and ReassignDue.model_validate(payload).assignee == ANA


def test_a_retried_step_assigns_once_and_a_ticket_someone_took_is_left_alone(ddb):
    router = _router(ddb, (ANA, BRUNO))
    tid = _ticket(ddb, 1)
    assert router.assign_new(tid, LATER, NOW) == ANA
    assert router.assign_new(tid, LATER, NOW) == ANA  # the workflow step ran again
    assert _load(ddb, ANA)[0] == 1 and _load(ddb, BRUNO)[0] == 0

    taken = _ticket(ddb, 2)
    ddb.update_item(
        TableName=TABLE,
        Key={"ticket_id": {"S": taken}},
        UpdateExpression="SET assignee = :u",
        ExpressionAttributeValues={":u": {"S": DMITRI}},
    )
    assert router.assign_new(taken, LATER, NOW) == DMITRI
    assert _owner(ddb, taken) == DMITRI and _load(ddb, BRUNO)[0] == 0


def test_concurrent_assignments_read_the_same_counts_but_spread_evenly(ddb):
    """Twelve tickets routed by twelve threads at once, each with its own client, all racing on the
    conditional write: every agent ends with four, and each ticket is on exactly one agent's load. moto checks
    a condition and writes without a lock, unlike DynamoDB; the local stack's patch makes each write atomic,
    and this test runs with it (without the count condition in the write, it fails)."""
    tickets = [_ticket(ddb, n) for n in range(1, 13)]
    start = threading.Barrier(len(tickets))
    owners: dict[str, str] = {}
    errors: list[BaseException] = []

    def route(tid: str) -> None:
        try:
            router = _router(boto3.client("dynamodb", region_name="us-east-1"), (ANA, BRUNO, CHIOMA))
            start.wait()
            owners[tid] = router.assign_new(tid, LATER, NOW)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=route, args=(t,)) for t in tickets]
    with patching.applied(emulation.DYNAMODB_FAULTS):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert not errors
    assert sorted(owners.values()).count(ANA) == 4
    assert sorted(owners.values()).count(BRUNO) == 4 and sorted(owners.values()).count(CHIOMA) == 4
    loads = {u: _load(ddb, u) for u in (ANA, BRUNO, CHIOMA)}
    assert all(count == 4 and len(ids) == 4 for count, ids in loads.values())
    assert set().union(*(ids for _, ids in loads.values())) == set(tickets)
    assert all(_owner(ddb, t) == owners[t] for t in tickets)


def test_an_unanswered_routed_ticket_moves_once_to_the_next_agent_and_the_thread_is_told(ddb):
    published = Published()
    router = _router(ddb, (ANA, BRUNO, CHIOMA), published=published)
    tid = _ticket(ddb, 1)
    router.assign_new(_ticket(ddb, 2), LATER, NOW)  # ANA
    router.assign_new(_ticket(ddb, 3), LATER, NOW)  # BRUNO
    assert router.assign_new(tid, LATER, NOW) == CHIOMA
    due = ReassignDue(ticket_id=tid, assignee=CHIOMA, fire_at=LATER)

    moved = router.reassign(due, LATER)

    assert moved is not None and moved.previous == CHIOMA and moved.assignee in (ANA, BRUNO)
    item = DynamoRoutingStore(TABLE, ddb).get(tid) or {}
    assert item["assignee"] == moved.assignee and item["reassigned_from"] == CHIOMA
    assert item["history"][-1]["action"] == "reassign" and item["history"][-1]["from"] == CHIOMA
    assert _load(ddb, CHIOMA) == (0, set()) and tid in _load(ddb, moved.assignee)[1]
    assert published.messages == [moved]
    assert router.reassign(due, LATER) is None  # a redelivered timer: once only
    assert len(published.messages) == 1


def test_a_ticket_answered_in_time_or_taken_by_someone_else_stays_where_it_is(ddb):
    published = Published()
    router = _router(ddb, (ANA, BRUNO), published=published)
    answered, taken = _ticket(ddb, 1), _ticket(ddb, 2)
    router.assign_new(answered, LATER, NOW)
    router.assign_new(taken, LATER, NOW)
    ddb.update_item(
        TableName=TABLE,
        Key={"ticket_id": {"S": answered}},
        UpdateExpression="SET first_response_at = :t",
        ExpressionAttributeValues={":t": {"S": "2026-12-07T09:40:00Z"}},
    )
    ddb.update_item(
        TableName=TABLE,
        Key={"ticket_id": {"S": taken}},
        UpdateExpression="SET assignee = :u",
        ExpressionAttributeValues={":u": {"S": DMITRI}},
    )

    assert router.reassign(ReassignDue(ticket_id=answered, assignee=ANA, fire_at=LATER), LATER) is None
    assert router.reassign(ReassignDue(ticket_id=taken, assignee=BRUNO, fire_at=LATER), LATER) is None
    assert _owner(ddb, answered) == ANA and _owner(ddb, taken) == DMITRI and not published.messages


def test_with_nobody_else_on_call_the_owner_keeps_the_ticket(ddb):
    router = _router(ddb, (ANA, BRUNO))
    DynamoRoutingStore(TABLE, ddb).set_away(BRUNO, True, NOW)
    tid = _ticket(ddb, 1)
    router.assign_new(tid, LATER, NOW)

    assert router.reassign(ReassignDue(ticket_id=tid, assignee=ANA, fire_at=LATER), LATER) is None
    assert _owner(ddb, tid) == ANA


def test_loads_follow_tickets_taken_by_hand_and_resolved(ddb):
    store = DynamoRoutingStore(TABLE, ddb)
    tid = _ticket(ddb, 1)
    _router(ddb, (ANA, BRUNO)).assign_new(tid, LATER, NOW)
    routed = store.get(tid) or {}

    taken = routed | {"assignee": BRUNO}
    assert sync_load(store, routed, taken)
    assert sync_load(store, routed, taken)  # a redelivered stream record changes nothing more
    assert _load(ddb, ANA) == (0, set()) and _load(ddb, BRUNO) == (1, {tid})

    assert sync_load(store, taken, taken | {"status": "RESOLVED"})
    assert _load(ddb, BRUNO) == (0, set())
    assert not sync_load(store, taken | {"status": "RESOLVED"}, taken | {"status": "RESOLVED", "x": 1})


class _TakenByHandBetween(DynamoRoutingStore):
    """The agent routing chose clicks Take it between the reservation and the assignment."""

    def __init__(self, table: str, ddb: Any, taker: str):
        super().__init__(table, ddb)
        self._ddb_client, self._taker = ddb, taker

    def assign(
        self, ticket_id: str, user_id: str, now: datetime, *, previous: str = ""
    ) -> dict[str, Any] | None:
        self._ddb_client.update_item(
            TableName=TABLE,
            Key={"ticket_id": {"S": ticket_id}},
            UpdateExpression="SET assignee = :u",
            ExpressionAttributeValues={":u": {"S": self._taker}},
        )
        return super().assign(ticket_id, user_id, now, previous=previous)


@pytest.mark.parametrize(("taker", "ana_keeps"), [(ANA, 1), (DMITRI, 0)])
def test_a_lost_assignment_gives_back_the_reservation_unless_the_chosen_agent_took_it(ddb, taker, ana_keeps):
    tid = _ticket(ddb, 1)
    router = Router(
        policy=RoutingPolicy(oncall=(ANA,)),
        store=_TakenByHandBetween(TABLE, ddb, taker),
        timers=Armed(),
        publisher=Published(),
    )

    assert router.assign_new(tid, LATER, NOW) == ""

    assert _owner(ddb, tid) == taker and _load(ddb, ANA)[0] == ana_keeps
