"""Who may act: one roles model, failing closed (issue 27.1).

- agents see and work tickets (every button, the Edit modal, /ticket);
- approvers may send anything to a customer (Approve reply, Retry send);
- admins change channel settings and erase data;
- on-call agents get new tickets by routing (pipeline/domain/routing.py); a user group among them is what SLA
  warnings mention when nobody owns a ticket.
Approvers, admins and on-call are agents too. Nobody has a role that is not granted: with nothing configured,
nobody may do anything, and with no approvers nothing is ever sent to a customer.

Grants are Slack user ids (U…/W…) and user-group ids (S…), from TMS_AGENTS / TMS_APPROVERS / TMS_ADMINS
(comma-separated; on AWS from cdk.json `agents`/`approvers`/`admins`/`oncall`) and TMS_ONCALL (formerly
TMS_SLA_ONCALL_GROUP). A group's
members come from a `UserGroups` port (Slack's usergroups.users.list, cached for a few minutes); on plans
without user groups that call fails and the group counts as empty (logged once by the adapter).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from contract import names

_GRANT_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class Role(StrEnum):
    AGENT = "agent"
    APPROVER = "approver"
    ADMIN = "admin"
    ONCALL = "oncall"


# Every role held also grants these.
IMPLIES: Mapping[Role, frozenset[Role]] = {
    Role.AGENT: frozenset(),
    Role.APPROVER: frozenset({Role.AGENT}),
    Role.ADMIN: frozenset({Role.AGENT}),
    Role.ONCALL: frozenset({Role.AGENT}),
}
# Where an admin adds someone to a role (the refusal says so).
SETTING_OF: Mapping[Role, str] = {
    Role.AGENT: names.ENV_AGENTS,
    Role.APPROVER: names.ENV_APPROVERS,
    Role.ADMIN: names.ENV_ADMINS,
    Role.ONCALL: names.ENV_ONCALL,
}


def parse_ids(raw: str | Iterable[str], *, setting: str) -> frozenset[str]:
    """Comma-separated (or listed) Slack user/user-group ids; ValueError naming `setting` for anything else."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    ids = frozenset(i.strip() for i in items if i.strip())
    bad = sorted(i for i in ids if not _GRANT_RE.match(i))
    if bad:
        raise ValueError(f"{setting}: not Slack user (U…/W…) or user-group (S…) ids: {', '.join(bad)}")
    return ids


@dataclass(frozen=True)
class RoleGrants:
    """The configured ids of each role (users and user groups), as written in the settings."""

    by_role: Mapping[Role, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, *, agents: str = "", approvers: str = "", admins: str = "", oncall: str = ""
    ) -> RoleGrants:
        """Grants from the settings' comma-separated strings; ValueError on anything not an id."""
        return cls(
            {
                Role.AGENT: parse_ids(agents, setting=names.ENV_AGENTS),
                Role.APPROVER: parse_ids(approvers, setting=names.ENV_APPROVERS),
                Role.ADMIN: parse_ids(admins, setting=names.ENV_ADMINS),
                Role.ONCALL: parse_ids(oncall, setting=names.ENV_ONCALL),
            }
        )

    def granting(self, role: Role) -> frozenset[str]:
        """The ids whose holders have `role`: granted it directly or through a role implying it."""
        ids = set(self.by_role.get(role, frozenset()))
        for other, implied in IMPLIES.items():
            if role in implied:
                ids |= self.by_role.get(other, frozenset())
        return frozenset(ids)

    def configured(self, role: Role) -> bool:
        """Whether anyone (a user or a group) is granted `role`."""
        return bool(self.granting(role))

    @property
    def oncall_group(self) -> str:
        """The user group SLA warnings mention (the first on-call group id), or ""."""
        return next((i for i in sorted(self.by_role.get(Role.ONCALL, ())) if i.startswith("S")), "")


class UserGroups(Protocol):
    """Port: the members of a Slack user group."""

    def members(self, group_id: str) -> frozenset[str]:
        """The user ids in the group; empty when unknown or unavailable."""


class NoUserGroups:
    """No user-group lookups (the notifier, tests): every group is empty."""

    def members(self, group_id: str) -> frozenset[str]:
        """Always empty."""
        return frozenset()


class Roles:
    """Role checks for one user: direct grants first, then the members of the granted user groups."""

    def __init__(
        self, grants: RoleGrants, groups: UserGroups | None = None, *, four_eyes: bool = True
    ) -> None:
        self.grants = grants
        self._groups = groups or NoUserGroups()
        # The last editor of a draft may not also approve it (off for one-person teams: TMS_FOUR_EYES=off).
        self.four_eyes = four_eyes

    def has(self, user_id: str, role: Role) -> bool:
        """Whether `user_id` holds `role` (fails closed: unknown users, empty groups and errors say no)."""
        if not user_id:
            return False
        ids = self.grants.granting(role)
        if user_id in ids:
            return True
        return any(user_id in self._groups.members(g) for g in sorted(ids) if g.startswith("S"))

    @property
    def approvers_configured(self) -> bool:
        """Whether anyone may send to customers at all."""
        return self.grants.configured(Role.APPROVER)
