"""The routing rule without AWS: who is on call (and the errors a bad setting gets), who gets the next ticket,
and when an unanswered one moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract import names
from contract.errors import SlaConfigError
from contract.models import Priority
from pipeline.domain.routing import AgentLoad, RoutingPolicy, choose, owner_of, parse_oncall
from pipeline.domain.sla import BusinessHours, SlaPolicy


def test_the_oncall_setting_keeps_people_in_order_and_leaves_user_groups_to_the_mentions():
    assert parse_oncall(" U0ROSA, S0SUPPORT ,W0TEO,U0ROSA,") == ("U0ROSA", "W0TEO")


def test_a_bad_oncall_id_is_refused_naming_the_variable():
    with pytest.raises(SlaConfigError, match=r"TMS_ONCALL: 'rosa@example.com' is not a Slack user id"):
        RoutingPolicy.from_env({names.ENV_ONCALL: "U0TEO,rosa@example.com"})


@pytest.mark.parametrize("raw", ["half", "0", "1", "1.5"])
def test_a_reassignment_share_outside_zero_to_one_is_refused(raw):
    with pytest.raises(SlaConfigError, match=names.ENV_ROUTING_REASSIGN_FRACTION):
        RoutingPolicy.from_env({names.ENV_ONCALL: "U0TEO", names.ENV_ROUTING_REASSIGN_FRACTION: raw})


def test_defaults_and_the_deprecated_variable():
    policy = RoutingPolicy.from_env({})
    assert not policy.enabled and policy.reassign_fraction == 0.5
    old = RoutingPolicy.from_env({names.ENV_SLA_ONCALL_GROUP: "S0ONCALL"})
    assert old.oncall == () and not old.enabled  # a group alone routes nothing, as before


def test_fewest_open_first_then_longest_since_the_last_ticket_then_rota_order():
    loads = [
        AgentLoad("U0ROSA", open_count=2, last_assigned_at="2026-12-07T09:00:00Z"),
        AgentLoad("U0TEO", open_count=1, last_assigned_at="2026-12-07T09:05:00Z"),
        AgentLoad("U0KWAME", open_count=1, last_assigned_at="2026-12-07T08:55:00Z"),
        AgentLoad("U0LENA", open_count=0, away=True),
    ]
    assert choose(loads).user_id == "U0KWAME"
    assert choose(loads, exclude={"U0KWAME"}).user_id == "U0TEO"
    assert choose([AgentLoad("U0B"), AgentLoad("U0A")]).user_id == "U0B"  # never assigned: rota order
    assert choose([AgentLoad("U0LENA", away=True)]) is None


def test_only_an_open_ticket_counts_towards_its_owner():
    assert owner_of({"status": "WAITING_CUSTOMER", "assignee": "U0ROSA"}) == "U0ROSA"
    assert owner_of({"status": "RESOLVED", "assignee": "U0ROSA"}) == ""
    assert owner_of({"status": "TRIAGED"}) == "" and owner_of(None) == ""


def test_the_reassignment_share_counts_working_time_like_the_sla():
    monday_4pm = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    sla = SlaPolicy(business_hours=BusinessHours.parse("09:00-17:00", "UTC"))
    # HIGH is 1 h: half of it is 30 min of working time, all before closing
    assert sla.share_at(monday_4pm, Priority.HIGH, 0.5) == monday_4pm + timedelta(minutes=30)
    # MEDIUM is 8 h: 4 h of working time, 1 h today and 3 h from Tuesday's opening
    assert sla.share_at(monday_4pm, Priority.MEDIUM, 0.5) == datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
