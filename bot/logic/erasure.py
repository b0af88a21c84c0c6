"""Erasure of one customer (GDPR art. 17) across every store of contract/erasure.py, through ports.

It lives with the bot because one of its stores is Slack, and the bot owns the Slack adapter the notifier
posts through (pipeline/ may not import bot/): the ticket's posts are redacted with the same `Poster`.

Order: the table goes last. It is where a customer's tickets are found, so a run that fails half-way is
simply run again: the tickets are still found, and every eraser is idempotent (a second run changes
nothing and reports zeros).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot import blocks
from bot.adapters.slack import Posted, Poster, ThreadReader
from bot.errors import SlackMessageGoneError, SlackThreadUnreadableError
from contract import defaults, erasure, names
from contract.erasure import ErasureReport, PrefixRule, Subject, Target
from contract.errors import KnowledgeBaseConflictError
from contract.models import is_ticket_id
from contract.models.routing import reassign_schedule_name
from contract.models.sla import AUTOCLOSE_TIMERS, SLA_TIMERS, autoclose_schedule_name, schedule_name

KEY = "ticket_id"
INCIDENT_MEMBERS = "incident_members"
# What stays of an erased ticket that is the root of an incident with other members: the aggregate the
# others point at (pipeline/adapters/incident_store.py), and nothing about the customer.
INCIDENT_AGGREGATE = frozenset(
    {KEY, "incident_id", INCIDENT_MEMBERS, "incident_companies", "incident_priorities", "incident_position"}
)


class Eraser(Protocol):
    """One or more stores of the registry, erased for a target; what changed per store."""

    @property
    def stores(self) -> tuple[str, ...]:
        """The registry's names of the stores this eraser covers."""
        ...

    def erase(self, target: Target) -> dict[str, int]:
        """Remove or anonymise the target's data; the number of things changed per store."""
        ...


# --- ports ------------------------------------------------------------------------------------------------
class TicketTable(Protocol):
    def items(self) -> Iterable[dict[str, Any]]:
        """Every item, as plain values (a scan: erasure is an operator's command, not a hot path)."""
        ...

    def delete(self, key: str) -> None: ...

    def keep_only(self, key: str, attributes: frozenset[str], drop_members: frozenset[str]) -> None:
        """Remove every attribute but `attributes`, and `drop_members` from the incident members."""
        ...

    def remove_members(self, key: str, members: frozenset[str]) -> None: ...


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    is_latest: bool
    delete_marker: bool = False
    etag: str = ""  # the version's ETag as listed: what a conditional rewrite of the latest one matches


class ObjectVersions(Protocol):
    def versions(self, prefix: str) -> Iterable[ObjectVersion]:
        """Every version and delete marker under `prefix`, newest first per key."""
        ...

    def read(self, version: ObjectVersion) -> bytes: ...

    def delete(self, version: ObjectVersion) -> None: ...

    def put(self, key: str, body: bytes) -> None: ...


class IndexVersions(ObjectVersions, Protocol):
    """The versions of kb/index.json, which other writers change too (precedents, `tms kb ingest`)."""

    def put_if_unchanged(self, key: str, body: bytes, etag: str) -> bool:
        """Write `body` only if the object's ETag is still `etag` (S3 If-Match); False if it changed."""
        ...


class Schedules(Protocol):
    def delete(self, name: str) -> bool:
        """Delete one schedule; False when there was none."""
        ...


class WarehouseRows(Protocol):
    def erase_customer(self, address: str, ticket_ids: frozenset[str]) -> dict[str, int]:
        """Delete the rows of the customer's tickets (found by address too); deleted rows per store name."""
        ...


# --- finding ----------------------------------------------------------------------------------------------
# Why an untracked ticket's replies stay unknown when no thread reader is given (a store without Slack).
NO_THREAD_READER = "the thread was not read (no Slack reader in this run)"


def find_target(subject: Subject, table: TicketTable, threads: ThreadReader | None = None) -> Target:
    """The customer's tickets on the table, the names on them and where tms posted each: the posts recorded
    on the item, and every message tms's bot posted in the ticket's thread (`threads` reads it), so replies
    posted before tms recorded them are found too. A message recorded for another ticket (an incident's
    note about another report, posted in its root's thread) stays. A ticket whose replies are neither
    recorded nor readable is untracked, with the reason."""
    ids: set[str] = set()
    full_names: set[str] = set()
    posts: dict[str, set[tuple[str, str]]] = {}
    roots: dict[str, tuple[str, str, bool]] = {}  # ticket id -> (channel, root ts, replies recorded)
    others: set[tuple[str, str]] = set()  # messages recorded for tickets that are not erased
    messages: list[dict[str, Any]] = []
    for item in table.items():
        key = str(item.get(KEY, ""))
        if key.startswith(names.SLACK_MESSAGE_KEY_PREFIX):
            messages.append(item)  # a Slack-born ticket's message: the bot's replies to it are recorded here
        if not is_ticket_id(key):
            continue
        recorded = {(p.channel, p.ts) for p in map(Posted.from_ref, item.get(names.SLACK_POSTS_ATTR) or ())}
        root = (
            (str(item["slack_channel"]), str(item["slack_ts"]))
            if item.get("slack_ts") and item.get("slack_channel")
            else None
        )
        if not subject.owns(item):
            others.update(recorded | ({root} if root else set()))
            continue
        ids.add(key)
        full_names.update(str(item[a]) for a in ("customer_full_name",) if str(item.get(a) or "").strip())
        first, last = str(item.get("customer_first_name") or ""), str(item.get("customer_last_name") or "")
        if first.strip() and last.strip():
            full_names.add(f"{first} {last}")
        posts[key] = recorded
        if root:
            posts[key].add(root)
            # without the attribute: posted before the notifier recorded its posts (root included)
            roots[key] = (*root, names.SLACK_POSTS_ATTR in item)
    for item in messages:
        ticket = str(item.get("claimed_ticket") or "")
        if ticket in ids and item.get(names.SLACK_POSTS_ATTR):
            posts.setdefault(ticket, set()).update(
                (p.channel, p.ts) for p in map(Posted.from_ref, item[names.SLACK_POSTS_ATTR])
            )
    untracked: dict[str, str] = {}
    for key, (channel, root_ts, recorded_replies) in sorted(roots.items()):
        try:
            if threads is None:
                raise SlackThreadUnreadableError(channel, root_ts, "no_reader", NO_THREAD_READER)
            found = {(channel, ts) for ts in threads.own_messages(channel, root_ts)}
            posts[key] |= found - others
        except SlackThreadUnreadableError as e:
            if not recorded_replies:
                untracked[key] = f"{e.error}: {e.reason}"
    return Target(
        subject,
        frozenset(ids),
        frozenset(full_names),
        {k: frozenset(v) for k, v in posts.items() if v},
        untracked,
    )


# --- erasers ----------------------------------------------------------------------------------------------
@dataclass
class TableEraser:
    """Ticket items (their history is on them) deleted; an incident root with other members keeps only the
    aggregate; other roots forget the erased members; items that are not tickets (rate-limit counters keyed
    by the address) are deleted when they mention the customer."""

    table: TicketTable
    stores: tuple[str, ...] = (erasure.TABLE,)

    def erase(self, target: Target) -> dict[str, int]:
        changed = 0
        for item in list(self.table.items()):
            key = str(item.get(KEY, ""))
            members = frozenset(str(m) for m in item.get(INCIDENT_MEMBERS) or ())
            if key in target.ticket_ids:
                others = members - target.ticket_ids
                if others:
                    self.table.keep_only(key, INCIDENT_AGGREGATE, members & target.ticket_ids)
                else:
                    self.table.delete(key)
                changed += 1
            elif is_ticket_id(key):
                if members & target.ticket_ids:
                    self.table.remove_members(key, members & target.ticket_ids)
                    changed += 1
            elif target.mentioned_in(key + json.dumps(item, default=str)):
                self.table.delete(key)
                changed += 1
        return {erasure.TABLE: changed}


@dataclass
class PrefixEraser:
    """One S3 prefix of the registry: every version of each matching object."""

    rule: PrefixRule
    objects: ObjectVersions

    @property
    def stores(self) -> tuple[str, ...]:
        return (erasure.s3_store(self.rule.prefix),)

    def erase(self, target: Target) -> dict[str, int]:
        store = erasure.s3_store(self.rule.prefix)
        if self.rule.match == "none" or (self.rule.match == "ticket_key" and not target.ticket_ids):
            return {store: 0}
        by_key: dict[str, list[ObjectVersion]] = {}
        for v in self.objects.versions(self.rule.prefix):
            if erasure.rule_for(v.key) == self.rule:  # a nested prefix with its own rule erases its own
                by_key.setdefault(v.key, []).append(v)
        changed = 0
        for key, versions in by_key.items():
            if self.rule.match == "ticket_key":
                if erasure.key_names_ticket(key, target.ticket_ids):
                    changed += self._delete(versions)
            elif self.rule.lines:
                changed += self._filter_lines(key, versions, target)
            else:
                hits = [v for v in versions if not v.delete_marker and target.mentioned_in(self._text(v))]
                if hits:
                    changed += self._delete(hits)
                    left = [v for v in versions if v not in hits]
                    if left and all(v.delete_marker for v in left):
                        self._delete(left)  # nothing but markers: the key is gone
        return {store: changed}

    def _text(self, version: ObjectVersion) -> str:
        return self.objects.read(version).decode("utf-8", errors="replace")

    def _delete(self, versions: Sequence[ObjectVersion]) -> int:
        for v in versions:
            self.objects.delete(v)
        return len(versions)

    def _filter_lines(self, key: str, versions: list[ObjectVersion], target: Target) -> int:
        """A JSON Lines object shared by many tickets (a quarantine batch): the customer's lines go, the
        others stay, in a new version; every older version goes (they hold the customer's lines)."""
        bodies = {v: self._text(v) for v in versions if not v.delete_marker}
        if not any(target.mentioned_in(b) for b in bodies.values()):
            return 0
        latest = next((v for v in versions if v.is_latest), None)
        kept = ""
        if latest is not None and not latest.delete_marker:
            kept = "".join(
                line for line in bodies[latest].splitlines(keepends=True) if not target.mentioned_in(line)
            )
        changed = self._delete(versions)
        if kept.strip():
            self.objects.put(key, kept.encode("utf-8"))
        return changed


@dataclass
class TimerEraser:
    """The ticket's SLA, routing and auto-close schedules (their payloads name it)."""

    schedules: Schedules
    stores: tuple[str, ...] = (erasure.TIMERS,)

    def erase(self, target: Target) -> dict[str, int]:
        deleted = sum(
            1
            for ticket_id in sorted(target.ticket_ids)
            for name in (
                *(schedule_name(ticket_id, t) for t in SLA_TIMERS),
                reassign_schedule_name(ticket_id),
                *(autoclose_schedule_name(ticket_id, s) for s in AUTOCLOSE_TIMERS),
            )
            if self.schedules.delete(name)
        )
        return {erasure.TIMERS: deleted}


@dataclass
class WarehouseEraser:
    """The warehouse rows: deleted outright (not a new version), so no later MERGE is needed to hide them;
    the archive objects the ETL would load them from are gone too, so no later run brings them back."""

    rows: WarehouseRows
    stores: tuple[str, ...] = (erasure.WAREHOUSE_TICKETS, erasure.WAREHOUSE_LIFECYCLE)

    def erase(self, target: Target) -> dict[str, int]:
        return self.rows.erase_customer(target.subject.address, target.ticket_ids)


@dataclass
class SlackPostEraser:
    """Every message tms posted for each ticket (its root post, the replies recorded on the item and tms's
    messages found in its thread), replaced (chat.update) by one that says it was erased.

    chat.update rather than chat.delete: the thread keeps its shape and says what happened where a message
    was, with the same stub as the root; updating an already redacted message succeeds, so a run that
    failed half-way is simply run again; and it is the call the notifier already makes (no new scope). A
    message someone already deleted in Slack is skipped."""

    poster: Poster
    stores: tuple[str, ...] = (erasure.SLACK_POSTS,)

    def erase(self, target: Target) -> dict[str, int]:
        redacted = 0
        for ticket_id, where in sorted(target.posts.items()):
            stub = blocks.erased_ticket(ticket_id)
            for channel, ts in sorted(where):
                try:
                    self.poster.update(channel, ts, **stub)
                except SlackMessageGoneError:
                    continue
                redacted += 1
        return {erasure.SLACK_POSTS: redacted}


@dataclass
class KnowledgeBaseEraser:
    """The customer's precedents (issue 30.2): their documents leave kb/index.json (a new version keeps
    everyone else's articles), then every version of the index that still quotes them is deleted.

    The index is the pipeline's S3KnowledgeBase format ({"documents": {doc_id: ...}}); the bot may not
    import the pipeline, so only the two names it shares live in contract/names.py."""

    objects: IndexVersions

    @property
    def stores(self) -> tuple[str, ...]:
        return (erasure.KB_PRECEDENTS,)

    def erase(self, target: Target) -> dict[str, int]:
        ids = {f"{names.KB_PRECEDENT_ID_PREFIX}{t}" for t in target.ticket_ids}
        key = names.KB_INDEX_KEY
        # The rewrite is conditional on the ETag of the version read (the index has other writers): if a
        # precedent or an ingest lands in between, the versions are listed and the new latest one read again.
        for _ in range(defaults.KB_WRITE_ATTEMPTS):
            versions = [v for v in self.objects.versions(key) if v.key == key and not v.delete_marker]
            if not ids or not versions:
                return {erasure.KB_PRECEDENTS: 0}
            changed = 0
            current = next((v for v in versions if v.is_latest), None)
            if current is not None:
                index = json.loads(self.objects.read(current))
                gone = [doc_id for doc_id in index.get("documents", {}) if doc_id in ids]
                for doc_id in gone:
                    del index["documents"][doc_id]
                if gone:
                    body = json.dumps(index, separators=(",", ":")).encode()
                    if not self.objects.put_if_unchanged(key, body, current.etag):
                        continue
                    changed += len(gone)
            for v in versions:  # listed before the put: the new version is not among them
                text = self.objects.read(v).decode("utf-8", errors="replace")
                if any(f'"{doc_id}"' in text for doc_id in ids):
                    self.objects.delete(v)
                    changed += 1
            return {erasure.KB_PRECEDENTS: changed}
        raise KnowledgeBaseConflictError(
            f"{key} changed under each of {defaults.KB_WRITE_ATTEMPTS} rewrites: the customer's precedents "
            "are still in it; run the erasure again"
        )


def forget(
    subject: Subject, table: TicketTable, erasers: Sequence[Eraser], threads: ThreadReader | None = None
) -> ErasureReport:
    """Erase `subject` from every store `erasers` cover (the table's own eraser last, see the module doc);
    `threads` reads the tickets' Slack threads for tms's posts the items do not record."""
    target = find_target(subject, table, threads)
    report = ErasureReport(
        tickets=sorted(target.ticket_ids), untracked_threads=dict(target.untracked_threads)
    )
    ordered = sorted(erasers, key=lambda e: erasure.TABLE in e.stores)
    for eraser in ordered:
        for store in eraser.stores:
            report.changed.setdefault(store, 0)
        for store, count in eraser.erase(target).items():
            report.changed[store] = report.changed.get(store, 0) + count
    return report


def prefix_erasers(objects: ObjectVersions, inbound: ObjectVersions | None = None) -> list[PrefixEraser]:
    """One eraser per S3 prefix of the registry; the inbound-mail prefixes in `inbound` when customers'
    answers have a bucket of their own (on AWS), else in `objects` (the local stack's one bucket)."""
    return [
        PrefixEraser(
            rule,
            inbound if inbound is not None and rule.prefix.startswith(names.INBOUND_MAIL_PREFIX) else objects,
        )
        for rule in erasure.S3_PREFIXES
    ]
