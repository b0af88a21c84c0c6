"""Erasure (GDPR art. 17): the one list of every store tms writes customer data to, and how each is erased.

`tms customer forget EMAIL` (bot/logic/erasure.py runs it, on AWS as the erasure function) walks exactly the
stores named here; tests/unit/contract/test_erasure_registry.py fails when a store has no eraser, and when
contract/names.py gains an S3 prefix (`*_PREFIX = ".../"`) this module does not say how to erase. Stores
tms cannot reach (backups, streams that only expire) are listed too, with their windows, for the docs and
the command's report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from contract import names
from contract.models import ProcessedRecord, TicketLifecycle, model_columns
from contract.models.warehouse import LIFECYCLE_TABLE, TICKETS_TABLE

# --- S3: one rule per prefix of contract/names.py ----------------------------------------------------------
Match = Literal["ticket_key", "content", "none"]


@dataclass(frozen=True)
class PrefixRule:
    """How the objects of one S3 prefix are recognised as a customer's.

    - ticket_key: the key names the ticket (`.../<ticket id>.json`, `lifecycle/<ticket id>/...`);
    - content: the body mentions the customer's address or one of their ticket ids (raw mail, held mail,
      quarantined records, Glue's staging copies); with `lines`, a JSON Lines object keeps its other lines;
    - none: the prefix holds no customer data (`reason` says why), so nothing is read there.
    Every version of a matching object is deleted (the archive bucket is versioned).
    """

    prefix: str
    match: Match
    lines: bool = False
    reason: str = ""


S3_PREFIXES: tuple[PrefixRule, ...] = (
    PrefixRule(names.ARCHIVE_PREFIX, "ticket_key"),
    PrefixRule(names.ORIGINALS_PREFIX, "ticket_key"),
    PrefixRule(names.INPUTS_PREFIX, "ticket_key"),
    PrefixRule(names.LIFECYCLE_PREFIX, "ticket_key"),
    PrefixRule(names.MANIFEST_PREFIX, "ticket_key"),
    PrefixRule(names.QUARANTINE_PREFIX, "content", lines=True),
    PrefixRule(names.INBOUND_MAIL_PREFIX, "content"),
    PrefixRule(names.INBOUND_HELD_PREFIX, "content"),
    PrefixRule(names.GLUE_TEMP_PREFIX, "content"),
    PrefixRule(
        names.ETL_STATE_PREFIX,
        "none",
        reason="the ETL bookmarks: a time and manifest-marker keys (ticket ids), never customer data",
    ),
    PrefixRule(
        names.KB_PREFIX,
        "none",
        reason="the knowledge base: the team's own articles (tms kb ingest) and precedents from resolved "
        "tickets (issue 30.2), which are erased by ticket id inside kb/index.json (store kb:precedents), "
        "never by deleting the whole index",
    ),
    PrefixRule(
        names.KB_DOCS_PREFIX,
        "none",
        reason="the team's own articles that the kb-sync function indexes (issue 30.1): uploaded by the team, "
        "never written from a ticket or a mail",
    ),
)


def s3_prefixes_in_names() -> set[str]:
    """Every S3 prefix contract/names.py defines (a `*_PREFIX` constant whose value ends with '/')."""
    return {
        value
        for key, value in vars(names).items()
        if key.endswith("_PREFIX") and isinstance(value, str) and value.endswith("/")
    }


def rule_for(key: str) -> PrefixRule | None:
    """The rule of the most specific prefix `key` is under (inbound-mail/held/ before inbound-mail/)."""
    rules = [r for r in S3_PREFIXES if key.startswith(r.prefix)]
    return max(rules, key=lambda r: len(r.prefix)) if rules else None


def key_names_ticket(key: str, ticket_ids: frozenset[str]) -> bool:
    """True when an S3 key names one of the tickets: a path segment is the id, or the id plus `.json`."""
    for segment in key.split("/"):
        if segment in ticket_ids or segment.removesuffix(".json") in ticket_ids:
            return True
    return False


# --- retention: which prefixes expire with which setting of contract/defaults.py RETENTION_DAYS -------------
RETAINED_PREFIXES: tuple[tuple[str, str, str], ...] = (
    # (lifecycle rule id, prefix, RETENTION_DAYS key): CDK's S3 lifecycle rules and the local sweeper
    ("archive", names.ARCHIVE_PREFIX, "archive"),
    ("originals", names.ORIGINALS_PREFIX, "archive"),
    ("lifecycle", names.LIFECYCLE_PREFIX, "archive"),
    ("inbound-mail", names.INBOUND_MAIL_PREFIX, "inbound_mail"),
)


# --- every store ------------------------------------------------------------------------------------------
class Runtime(StrEnum):
    BOTH = "both"
    LOCAL = "local"  # exists only on the local stack


@dataclass(frozen=True)
class Store:
    """One place tms writes customer data to, by the name erasure reports it under."""

    name: str
    what: str
    runtime: Runtime = Runtime.BOTH


TABLE = "dynamodb:tickets"
TIMERS = "scheduler:sla-timers"
WAREHOUSE_TICKETS = f"warehouse:{TICKETS_TABLE}"
WAREHOUSE_LIFECYCLE = f"warehouse:{LIFECYCLE_TABLE}"
WAREHOUSE_QUARANTINE = "warehouse:tickets_quarantine"
SLACK_POSTS = "slack:posts"
SLACK_OUTBOX = "outbox:slack"
MAIL_OUTBOX = "outbox:mail"
KB_PRECEDENTS = "kb:precedents"


def s3_store(prefix: str) -> str:
    """The store name of an S3 prefix."""
    return f"s3:{prefix}"


STORES: tuple[Store, ...] = (
    Store(
        TABLE,
        "ticket items with their history, incident references, the customer's rating comment (issue 32),"
        " rate-limit counters keyed by address",
    ),
    *(Store(s3_store(r.prefix), f"S3 objects under {r.prefix}, every version") for r in S3_PREFIXES),
    Store(
        TIMERS,
        "EventBridge Scheduler one-time schedules of the ticket: SLA, nudge and auto-close (payloads name it)",
    ),
    Store(WAREHOUSE_TICKETS, "warehouse rows of the ticket (Redshift; locally DuckDB or PostgreSQL)"),
    Store(WAREHOUSE_LIFECYCLE, "warehouse lifecycle rows of the ticket"),
    Store(WAREHOUSE_QUARANTINE, "the local warehouse's copy of rejected records", Runtime.LOCAL),
    Store(
        SLACK_POSTS,
        "tms's own Slack posts of the ticket (root and recorded replies), replaced by a redacted one (chat.update)",
    ),
    Store(
        KB_PRECEDENTS,
        "the customer's resolved tickets as knowledge-base precedents (redacted question and sent reply) in "
        "kb/index.json, and every older version of that object that still holds them",
    ),
    Store(SLACK_OUTBOX, "lines of the local Slack outbox file", Runtime.LOCAL),
    Store(MAIL_OUTBOX, "the local copies of customer mails (.eml)", Runtime.LOCAL),
)
STORE_NAMES: tuple[str, ...] = tuple(s.name for s in STORES)


@dataclass(frozen=True)
class Unreachable:
    """A copy erasure cannot edit: it ages out on its own after `window`."""

    name: str
    window: str
    note: str


# docs/customer-data.md "Erasure and retention" lists the same, with what to do about each.
UNREACHABLE: tuple[Unreachable, ...] = (
    Unreachable("DynamoDB point-in-time recovery", "35 days", "a restore brings erased items back"),
    Unreachable("Kinesis tickets stream", "24 hours", "the submitted record, until the stream trims it"),
    Unreachable("SQS dead-letter queues", "14 days", "a rejected record or a failed batch pointer"),
    Unreachable("Redshift snapshots", "the cluster's snapshot retention", "a restore brings rows back"),
    Unreachable(
        "Slack posts before 2026-12-07 outside the ticket's thread (the SLA breach alert)",
        "the workspace's retention",
        "tms recorded only the root post then; erasure reads the thread for the rest, not the alerts "
        "channel: delete those alerts by hand",
    ),
)


# --- who is erased ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subject:
    """The customer to erase: their address (matched case-insensitively) and, for Slack-born tickets, the
    Slack user who opened them."""

    email: str
    slack_user: str = ""

    def __post_init__(self) -> None:
        if "@" not in self.email or len(self.email) > 254:
            raise ValueError(f"not an email address: {self.email!r}")
        if self.slack_user and not re.fullmatch(r"[UW][A-Z0-9]{2,31}", self.slack_user):
            raise ValueError(f"not a Slack user id: {self.slack_user!r}")

    @property
    def address(self) -> str:
        """The address, lower-cased (what every comparison uses)."""
        return self.email.strip().lower()

    def owns(self, item: dict[str, object]) -> bool:
        """True for a ticket item of this customer: their address, one of its contacts, or their Slack user."""
        if str(item.get("customer_email") or "").lower() == self.address:
            return True
        contacts = item.get("contacts") or ()
        if isinstance(contacts, list | set | frozenset | tuple) and self.address in {
            str(c).lower() for c in contacts
        }:
            return True
        return bool(self.slack_user) and item.get("slack_user") == self.slack_user


@dataclass(frozen=True)
class Target:
    """What one erasure removes: the subject, their tickets (found on the table) and the names on them."""

    subject: Subject
    ticket_ids: frozenset[str] = frozenset()
    full_names: frozenset[str] = frozenset()
    # ticket id -> (channel, ts) of every message tms posted for that ticket: its root post, the replies
    # recorded on the item, and tms's own messages read from the ticket's thread
    posts: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    # ticket id -> why its replies are unknown: posted before tms recorded them, and the thread unreadable
    untracked_threads: dict[str, str] = field(default_factory=dict)

    def mentioned_in(self, text: str) -> bool:
        """True when `text` carries the address or one of the ticket ids."""
        lowered = text.lower()
        return self.subject.address in lowered or any(t.lower() in lowered for t in self.ticket_ids)

    def personal_in(self, text: str) -> bool:
        """True when `text` carries the address or a full name of the customer (case-insensitive)."""
        lowered = text.lower()
        return self.subject.address in lowered or any(n.lower() in lowered for n in self.full_names if n)


@dataclass
class ErasureReport:
    """What changed, per store (every store of the run is listed, 0 when it held nothing)."""

    changed: dict[str, int] = field(default_factory=dict)
    tickets: list[str] = field(default_factory=list)
    # erased ticket -> why its Slack thread replies are unknown (not recorded, and the thread unreadable):
    # delete them by hand
    untracked_threads: dict[str, str] = field(default_factory=dict)

    @property
    def nothing(self) -> bool:
        """True when no store held anything of the customer (a second run)."""
        return not any(self.changed.values())

    def as_dict(self) -> dict[str, object]:
        """The JSON the CLI prints and the function returns."""
        return {
            "tickets": sorted(self.tickets),
            "changed": dict(self.changed),
            "nothing_to_erase": self.nothing,
            "untracked_slack_threads": [
                {"ticket_id": t, "reason": self.untracked_threads[t]} for t in sorted(self.untracked_threads)
            ],
            "unreachable": [{"store": u.name, "window": u.window} for u in UNREACHABLE],
        }


# --- warehouse retention: the one definition of which rows expire, for the local sweeper and Redshift ------
@dataclass(frozen=True)
class RetainedTable:
    """A warehouse table whose rows go `RETENTION_DAYS["warehouse"]` days after their `aged_by` time."""

    store: str
    table: str
    aged_by: str


def _retained(model: type[BaseModel], table: str, aged_by: str) -> RetainedTable:
    kinds = {c.name: c.kind for c in model_columns(model)}
    if kinds.get(aged_by) != "timestamp":
        raise TypeError(f"{model.__name__}.{aged_by} is not a timestamp column of {table}")
    return RetainedTable(f"warehouse:{table}", table, aged_by)


RETAINED_TABLES: tuple[RetainedTable, ...] = (
    _retained(ProcessedRecord, TICKETS_TABLE, "processed_at"),  # when the ticket was triaged
    _retained(TicketLifecycle, LIFECYCLE_TABLE, "changed_at"),  # the ticket's last change
)


def retention_statements(cutoff: str, tables: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(store, DELETE) for each retained table: its rows aged before `cutoff`, an SQL expression (a `?`
    parameter locally, a DATEADD on Redshift); `tables` maps a table to its name on that engine."""
    rename = tables or {}
    return [
        (t.store, f"DELETE FROM {rename.get(t.table, t.table)} WHERE {t.aged_by} < {cutoff}")  # noqa: S608
        for t in RETAINED_TABLES
    ]


def redshift_retention_statements(days: int, *, schema: str, tickets_table: str = TICKETS_TABLE) -> list[str]:
    """The DELETEs Redshift runs on a schedule: rows older than `days` days (GETDATE() is UTC, as the
    timestamp columns are)."""
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"warehouse retention must be a whole number of days >= 1, not {days!r}")
    qualified = {TICKETS_TABLE: f"{schema}.{tickets_table}", LIFECYCLE_TABLE: f"{schema}.{LIFECYCLE_TABLE}"}
    return [sql for _, sql in retention_statements(f"DATEADD(day, -{days}, GETDATE())", qualified)]
