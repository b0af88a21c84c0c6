"""The snapshot pickler and the Kinesis journal (local/durable.py)."""

from __future__ import annotations

import io
import pickle
import threading
import weakref
from collections import defaultdict
from pathlib import Path

from local.durable import JOURNAL_NAME, Journal, _Pickler, forget


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
    journal.append("s", [{"PartitionKey": "1", "Data": "YQ=="}])
    position = journal.position()
    journal.append("s", [{"PartitionKey": "2", "Data": "Yg=="}])

    # When the lines before the snapshot are dropped and a crash leaves half a line
    journal.drop_before(position)
    journal.close()
    with open(tmp_path / JOURNAL_NAME, "ab") as f:
        f.write(b'{"stream": "s", "reco')

    # Then only the put after the snapshot is replayed
    assert [e["records"][0]["PartitionKey"] for e in Journal(tmp_path / JOURNAL_NAME).entries()] == ["2"]
    assert forget(tmp_path) and not forget(tmp_path)


def test_appending_after_a_torn_line_starts_a_clean_line(tmp_path: Path):
    # Given a journal whose last line a crash tore
    path = tmp_path / JOURNAL_NAME
    path.write_bytes(b'{"stream":"s","records":[]}\n{"stream": "s", "reco')

    # When the next run opens it and appends
    journal = Journal(path)
    journal.open()
    journal.append("s", [{"PartitionKey": "3", "Data": "Yw=="}])
    journal.close()

    # Then both complete lines are read back
    assert [len(e["records"]) for e in Journal(path).entries()] == [0, 1]
