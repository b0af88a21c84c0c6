"""The snapshot pickler, the write journal and the write gate (local/durable.py)."""

from __future__ import annotations

import io
import pickle
import threading
import time
import weakref
from collections import defaultdict
from pathlib import Path

import pytest

from contract import names
from contract.errors import ConfigurationError
from local.durable import JOURNAL_NAME, Journal, WriteGate, _Pickler, forget, snapshot_interval


class _Held:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rlock = threading.RLock()
        self.changed = threading.Condition()
        self.worker = threading.Thread(target=lambda: None)
        self.aliases: defaultdict[str, dict[str, int]] = defaultdict(lambda: {})
        self.values = {"a": self}
        self.by_arn: weakref.WeakValueDictionary[str, _Held] = weakref.WeakValueDictionary({"a": self})


def _round_trip(obj: object) -> object:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return pickle.loads(buf.getvalue())  # noqa: S301 - our own bytes


def test_locks_threads_lambda_defaults_and_weak_dicts_come_back_as_fresh_working_ones():
    # Given an object holding what plain pickle refuses, with a lock held and a default set
    held = _Held()
    held.lock.acquire()
    held.aliases["fn"]["x"] = 1

    # When it goes through the snapshot pickler
    back = _round_trip(held)

    # Then the data is there, locks are new and free, the default factory still gives {} and the weak
    # dictionary still finds its (pickled) value
    assert isinstance(back, _Held)
    assert back.lock.acquire(blocking=False) and back.rlock.acquire(blocking=False)
    with back.changed:
        back.changed.notify_all()
    assert back.worker is None
    assert back.aliases["fn"] == {"x": 1} and back.aliases["new"] == {}
    assert back.by_arn["a"] is back


def test_the_journal_keeps_only_lines_after_a_snapshot_and_skips_a_line_torn_by_a_crash(tmp_path: Path):
    # Given a journal with two puts, a snapshot position between them, then a torn last line
    journal = Journal(tmp_path / JOURNAL_NAME)
    journal.open()
    journal.append({"service": "kinesis", "path": "/", "n": 1})
    position = journal.position()
    journal.append({"service": "dynamodb", "path": "/", "n": 2})

    # When the lines before the snapshot are dropped and a crash leaves half a line
    journal.drop_before(position)
    journal.close()
    with open(tmp_path / JOURNAL_NAME, "ab") as f:
        f.write(b'{"service": "s3", "pa')

    # Then only the write after the snapshot is replayed
    assert [e["n"] for e in Journal(tmp_path / JOURNAL_NAME).entries()] == [2]
    assert forget(tmp_path) and not forget(tmp_path)


def test_appending_after_a_torn_line_starts_a_clean_line(tmp_path: Path):
    # Given a journal whose last line a crash tore
    path = tmp_path / JOURNAL_NAME
    path.write_bytes(b'{"service":"s3","n":1}\n{"service": "s3", "pa')

    # When the next run opens it and appends
    journal = Journal(path)
    journal.open()
    journal.append({"service": "sqs", "n": 3})
    journal.close()

    # Then both complete lines are read back
    assert [e["n"] for e in Journal(path).entries()] == [1, 3]


def test_a_snapshot_waits_for_the_data_store_write_in_flight_and_holds_the_next_one_back(tmp_path: Path):
    # Given a gate with one DynamoDB write running
    gate = WriteGate(Journal(tmp_path / JOURNAL_NAME))
    gate.journal.open()
    order: list[str] = []
    writing = threading.Event()
    release = threading.Event()

    def write(name: str, started: threading.Event | None = None) -> None:
        with gate.writing("dynamodb"):
            if started is not None:
                started.set()
                release.wait(5)
            order.append(name)
            gate.written("dynamodb", {"name": name})

    first = threading.Thread(target=write, args=("first", writing))
    first.start()
    writing.wait(5)

    # When a snapshot starts, and another write arrives while it runs
    def snapshot() -> None:
        with gate.exclusive():
            order.append("snapshot")
            time.sleep(0.2)

    snap = threading.Thread(target=snapshot)
    snap.start()
    time.sleep(0.1)
    assert order == []  # the snapshot waits for the write in flight
    release.set()
    snap.join(5)
    second = threading.Thread(target=write, args=("second",))
    second.start()
    second.join(5)
    first.join(5)

    # Then the snapshot sits between the two writes, and the journal holds both in their order
    assert order == ["first", "snapshot", "second"]
    assert [e["name"] for e in gate.journal.entries()] == ["first", "second"]
    assert gate.guards("s3") and gate.guards("kinesis") and not gate.guards("sns")
    assert not gate.guards("states") and not gate.guards("ses") and not gate.guards("lambda")


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "inf", "nan"])
def test_a_bad_snapshot_interval_is_refused_with_the_setting_named(raw: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(names.ENV_LOCAL_SNAPSHOT_INTERVAL, raw)
    with pytest.raises(ConfigurationError, match="TMS_LOCAL_SNAPSHOT_INTERVAL"):
        snapshot_interval()
    monkeypatch.setenv(names.ENV_LOCAL_SNAPSHOT_INTERVAL, "0.5")
    assert snapshot_interval() == 0.5
