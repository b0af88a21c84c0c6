"""Erasure's logic on in-memory fakes: what each store keeps, and that a second run changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.errors import SlackMessageGoneError
from bot.logic.erasure import (
    NO_THREAD_READER,
    Eraser,
    ObjectVersion,
    PrefixEraser,
    SlackPostEraser,
    TableEraser,
    TimerEraser,
    forget,
    prefix_erasers,
)
from contract import erasure, names
from contract.erasure import Subject

ADA, ANA = "TKT-20260101-AAAAAAAAAA", "TKT-20260101-BBBBBBBBBB"


@dataclass
class FakeTable:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def items(self) -> Iterator[dict[str, Any]]:
        yield from [dict(r) for r in self.rows.values()]

    def delete(self, key: str) -> None:
        self.rows.pop(key, None)

    def keep_only(self, key: str, attributes: frozenset[str], drop_members: frozenset[str]) -> None:
        row = {k: v for k, v in self.rows[key].items() if k in attributes}
        row["incident_members"] = set(row.get("incident_members", ())) - drop_members
        self.rows[key] = row

    def remove_members(self, key: str, members: frozenset[str]) -> None:
        self.rows[key]["incident_members"] = set(self.rows[key]["incident_members"]) - members


@dataclass
class FakeBucket:
    """A versioned bucket: key -> versions, newest last."""

    objects: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    _n: int = 0

    def put(self, key: str, body: bytes) -> None:
        self._n += 1
        self.objects.setdefault(key, []).append((f"v{self._n}", body))

    def versions(self, prefix: str) -> Iterator[ObjectVersion]:
        for key, versions in list(self.objects.items()):
            if key.startswith(prefix):
                for i, (vid, _) in enumerate(reversed(versions)):
                    yield ObjectVersion(key, vid, i == 0)

    def read(self, version: ObjectVersion) -> bytes:
        return dict(self.objects[version.key])[version.version_id]

    def delete(self, version: ObjectVersion) -> None:
        left = [(v, b) for v, b in self.objects[version.key] if v != version.version_id]
        if left:
            self.objects[version.key] = left
        else:
            del self.objects[version.key]


@dataclass
class FakeSchedules:
    names: set[str] = field(default_factory=set)

    def delete(self, name: str) -> bool:
        if name in self.names:
            self.names.remove(name)
            return True
        return False


@dataclass
class FakePoster:
    updates: list[dict[str, Any]] = field(default_factory=list)
    deleted: set[tuple[str, str]] = field(default_factory=set)  # messages someone deleted in Slack

    def post(self, payload: dict[str, Any]) -> Any:
        raise AssertionError("erasure never posts")

    def update(
        self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]], **options: Any
    ) -> None:
        if (channel, ts) in self.deleted:
            raise SlackMessageGoneError(f"chat.update of {channel}/{ts} failed: message_not_found")
        self.updates.append({"channel": channel, "ts": ts, "text": text})


def _ticket(tid: str, email: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": tid,
        "customer_email": email,
        "customer_full_name": name,
        "history": [{"by": "U1"}],
        **extra,
    }


def _world() -> tuple[FakeTable, FakeBucket, FakeSchedules, FakePoster]:
    table = FakeTable(
        {
            ADA: _ticket(ADA, "Ada@example.com", "Ada Lovelace", slack_channel="C1", slack_ts="1.1"),
            ANA: _ticket(ANA, "ana@example.com", "Ana Silva", slack_channel="C1", slack_ts="1.2"),
            "LIMIT#mail-sender#ada@example.com#1": {"ticket_id": "LIMIT#mail-sender#ada@example.com#1"},
            "ALARM#x": {"ticket_id": "ALARM#x", "slack_ts": "9.9"},
        }
    )
    bucket = FakeBucket()
    for tid in (ADA, ANA):
        bucket.put(f"tickets/submitted_date=2026-01-01/{tid}.json", b"{}")
        bucket.put(f"lifecycle/{tid}/1.json", b"{}")
    bucket.put(f"tickets/submitted_date=2026-01-01/{ADA}.json", b"{} again")  # a second version
    bucket.put("inbound-mail/m1", b"From: Ada <ADA@example.com>")
    bucket.put("inbound-mail/m2", b"From: Ana <ana@example.com>")
    bucket.put("quarantine/etl/run=1/rejects.jsonl", b'{"r": "ada@example.com"}\n{"r": "ana"}\n')
    bucket.put("etl-state/bookmarks/tickets.json", f'{{"keys": ["{ADA}"]}}'.encode())
    return (
        table,
        bucket,
        FakeSchedules({f"{ADA}-warn", f"{ADA}-breach", f"{ADA}-reassign", f"{ANA}-warn"}),
        FakePoster(),
    )


def _erase(table: FakeTable, bucket: FakeBucket, schedules: FakeSchedules, poster: FakePoster) -> Any:
    erasers: list[Eraser] = [
        TableEraser(table),
        *prefix_erasers(bucket),
        TimerEraser(schedules),
        SlackPostEraser(poster),
    ]
    return forget(Subject("ada@EXAMPLE.com"), table, erasers)


def test_the_customer_is_erased_from_every_store_and_the_other_customer_stays() -> None:
    table, bucket, schedules, poster = _world()

    report = _erase(table, bucket, schedules, poster)

    assert report.tickets == [ADA]
    assert report.changed[erasure.TABLE] == 2  # the ticket and the rate-limit counter keyed by the address
    assert report.changed["s3:tickets/"] == 2 and report.changed["s3:lifecycle/"] == 1
    assert report.changed["s3:inbound-mail/"] == 1 and report.changed["s3:quarantine/"] == 1
    assert report.changed[erasure.TIMERS] == 3 and report.changed["s3:etl-state/"] == 0
    assert set(table.rows) == {ANA, "ALARM#x"}
    assert sorted(bucket.objects) == sorted(
        [
            f"tickets/submitted_date=2026-01-01/{ANA}.json",
            f"lifecycle/{ANA}/1.json",
            "inbound-mail/m2",
            "quarantine/etl/run=1/rejects.jsonl",
            "etl-state/bookmarks/tickets.json",
        ]
    )
    assert [b for _, b in bucket.objects["quarantine/etl/run=1/rejects.jsonl"]] == [b'{"r": "ana"}\n']
    assert schedules.names == {f"{ANA}-warn"}
    assert poster.updates == [{"channel": "C1", "ts": "1.1", "text": poster.updates[0]["text"]}]
    assert ADA in poster.updates[0]["text"] and "Ada" not in poster.updates[0]["text"].replace(ADA, "")


def test_a_second_run_has_nothing_to_erase() -> None:
    world = _world()
    _erase(*world)

    again = _erase(*world)

    assert again.nothing and again.tickets == []


def test_an_incident_root_keeps_only_the_aggregate_and_other_roots_forget_the_member() -> None:
    table, bucket, schedules, poster = _world()
    table.rows[ADA] |= {"incident_id": "INC-A", "incident_members": {ADA, ANA}, "incident_position": 1}
    # the redacted text the incident step's second opinion reads, stored beside the vector
    table.rows[ADA][names.INCIDENT_TEXT_ATTR] = "Amazon S3: Service Outage. Uploads fail for Ada's shop"
    table.rows[ANA] |= {"incident_id": "INC-A", "incident_root": ADA}
    other = "TKT-20260101-CCCCCCCCCC"
    table.rows[other] = _ticket(other, "c@example.com", "Cy", incident_members={other, ADA})

    _erase(table, bucket, schedules, poster)

    assert table.rows[ADA] == {
        "ticket_id": ADA,
        "incident_id": "INC-A",
        "incident_members": {ANA},
        "incident_position": 1,
    }
    assert table.rows[other]["incident_members"] == {other}


def test_a_nested_prefix_is_left_to_its_own_rule() -> None:
    bucket = FakeBucket()
    bucket.put(names.INBOUND_HELD_PREFIX + "2026-01-01/h.json", b'{"from": "ada@example.com"}')
    table = FakeTable()
    (mail_rule,) = [r for r in erasure.S3_PREFIXES if r.prefix == names.INBOUND_MAIL_PREFIX]
    (held_rule,) = [r for r in erasure.S3_PREFIXES if r.prefix == names.INBOUND_HELD_PREFIX]

    report = forget(
        Subject("ada@example.com"), table, [PrefixEraser(mail_rule, bucket), PrefixEraser(held_rule, bucket)]
    )

    assert report.changed == {"s3:inbound-mail/": 0, "s3:inbound-mail/held/": 1} and not bucket.objects


def test_every_post_recorded_on_the_ticket_is_redacted_root_and_thread_replies() -> None:
    # Given Ada's ticket with its root post and the replies the notifier recorded: a mail event and an SLA
    # warning in its thread, the SLA breach in the alerts channel, and one reply someone already deleted
    table, bucket, schedules, poster = _world()
    table.rows[ADA][names.SLACK_POSTS_ATTR] = {"C1 1.1", "C1 1.5", "C1 1.6", "CALERTS 7.1", "C1 1.7"}
    table.rows[ANA][names.SLACK_POSTS_ATTR] = {"C1 1.2", "C1 1.8"}
    poster.deleted.add(("C1", "1.7"))

    # When Ada is forgotten
    report = _erase(table, bucket, schedules, poster)

    # Then every one of her ticket's messages still in Slack shows the same stub; Ana's are not touched
    updated = sorted((u["channel"], u["ts"]) for u in poster.updates)
    assert updated == [("C1", "1.1"), ("C1", "1.5"), ("C1", "1.6"), ("CALERTS", "7.1")]
    assert {u["text"] for u in poster.updates} == {poster.updates[0]["text"]}
    assert ADA in poster.updates[0]["text"]
    assert report.changed[erasure.SLACK_POSTS] == 4
    # And her ticket is not reported as one whose replies are unknown
    assert report.untracked_threads == {}


def test_a_ticket_posted_before_replies_were_recorded_is_named_in_the_report() -> None:
    # Given Ada's ticket with a root post and no recorded posts (posted before the notifier recorded them)
    table, bucket, schedules, poster = _world()

    # When Ada is forgotten
    report = _erase(table, bucket, schedules, poster)

    # Then its root post is redacted and, with no thread reader in this run, the report says its thread
    # replies are not tracked, and why
    assert [(u["channel"], u["ts"]) for u in poster.updates] == [("C1", "1.1")]
    assert list(report.untracked_threads) == [ADA]
    assert report.as_dict()["untracked_slack_threads"] == [
        {"ticket_id": ADA, "reason": f"no_reader: {NO_THREAD_READER}"}
    ]


def test_inbound_mail_is_erased_in_its_own_bucket_when_it_has_one() -> None:
    from bot.logic.erasure import prefix_erasers
    from contract import names

    archive, inbound = object(), object()
    routed = {e.rule.prefix: e for e in prefix_erasers(archive, inbound)}  # type: ignore[arg-type]
    for prefix, eraser in routed.items():
        expected = inbound if prefix.startswith(names.INBOUND_MAIL_PREFIX) else archive
        assert eraser.objects is expected, prefix
    assert all(e.objects is archive for e in prefix_erasers(archive))  # type: ignore[arg-type]  # one bucket


def test_a_slack_born_customer_is_erased_by_slack_user_with_the_bots_replies_in_their_thread() -> None:
    # Given Lin, a Slack Connect customer with no email (the placeholder address), whose channel message
    # became a ticket: the bot's 👀 reply is recorded on the message's item, its DM pointer on another
    table, bucket, schedules, poster = _world()
    lin = "TKT-20260101-CCCCCCCCCC"
    table.rows[lin] = _ticket(
        lin, "U0LIN@users.slack.invalid", "Lin Chen", slack_channel="C1", slack_ts="1.3"
    )
    table.rows[lin] |= {"slack_user": "U0LIN", names.SLACK_POSTS_ATTR: {"C1 1.3", "C0ACME 5.2"}}
    msg_key = f"{names.SLACK_MESSAGE_KEY_PREFIX}C0ACME#5.1"
    table.rows[msg_key] = {
        "ticket_id": msg_key,
        "claimed_ticket": lin,
        names.SLACK_POSTS_ATTR: {"C0ACME 5.15"},
    }
    dm_key = f"{names.SLACK_DM_KEY_PREFIX}U0LIN"
    table.rows[dm_key] = {"ticket_id": dm_key, "dm_ticket": lin}

    # When Lin is forgotten by their Slack user (`tms erase --slack-user U0LIN`)
    erasers = [TableEraser(table), *prefix_erasers(bucket), TimerEraser(schedules), SlackPostEraser(poster)]
    report = forget(Subject("someone@elsewhere.example", slack_user="U0LIN"), table, erasers)

    # Then the ticket, the message claim and the DM pointer are gone, and every bot post about it is redacted,
    # the reply in the customer's thread included
    assert report.tickets == [lin]
    assert not {lin, msg_key, dm_key} & set(table.rows)
    assert sorted((u["channel"], u["ts"]) for u in poster.updates) == [
        ("C0ACME", "5.15"),
        ("C0ACME", "5.2"),
        ("C1", "1.3"),
    ]
