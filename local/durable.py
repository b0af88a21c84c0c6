"""What the local stack holds survives a stop or a crash, under `$TMS_STATE_DIR/local/`.

moto keeps every service's state in process memory (FACTS.md). Replaying moto's request log would replay
StartExecution, Publish and SendEmail, the very side effects the chaos suite forbids, so the state itself is
kept instead:

- a **snapshot**: one pickle of moto's backends (all of them, in one pass, so objects shared between
  services stay shared) and of the runtime's own state (each mapping's shard checkpoints, what was
  provisioned), written atomically (temp file, fsync, rename) on a clean stop and in the background while
  something changes;
- a **journal** of every successful write to a data store (DynamoDB, S3, SQS, Kinesis, EventBridge
  Scheduler), appended and fsynced before the endpoint answers, so a ticket is durable once the stream
  accepted it and every change it went through (its item, the claims that keep Slack posts and mail from
  being repeated, its archive object, its timers) is durable once acknowledged: after a `kill -9` those
  requests are handed to moto again, in order, on top of the last snapshot. Writes of one data store are
  serialized (their order is the journal's), and a snapshot holds them all back while it is taken, so a
  snapshot and the journal after it meet exactly. Side-effect services (Step Functions, SNS, SES, Lambda)
  are never journaled.

moto's objects hold what pickle cannot take (locks, conditions, worker threads, weak dictionaries, RSA keys):
`_Pickler` writes those as fresh ones (a lock is never held across a snapshot that matters: a clean stop
drains first) or, for keys, as PEM.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import pickle
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract import defaults, names
from contract.errors import ConfigurationError

log = logging.getLogger("tms.local")

SNAPSHOT_FORMAT = 1  # bump when what the snapshot holds changes shape; an older one then needs --fresh
SNAPSHOT_NAME = "snapshot.pickle"
JOURNAL_NAME = "write-journal.jsonl"
# The data stores whose writes are journaled, by their signing name. Never a service whose request has a side
# effect (StartExecution, Publish, SendEmail, Invoke): replaying those is what the chaos suite forbids.
TRIAGED_POST = "triaged"  # the notifier's event key for a ticket's first post (bot/logic/notify.py)
CHECKPOINT = "checkpoint"  # a journal line that records a mapping's checkpoint, not a request
JOURNALED_SERVICES = frozenset({"dynamodb", "s3", "sqs", "kinesis", "scheduler"})

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _fresh_lock() -> Any:
    return threading.RLock()


def _no_thread() -> None:
    return None


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


class _Pickler(pickle.Pickler):
    """moto's objects, minus what only makes sense in a live process."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return (threading.Lock if isinstance(obj, _LOCK_TYPES[0]) else _fresh_lock), ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, threading.Event):
            return threading.Event, ()
        if isinstance(obj, threading.Thread):
            return _no_thread, ()
        if _is_limited_size_dict(obj):
            # moto re-checks the item size on every attribute set: quadratic per item when unpickled
            # (45 of 55 s to restore 10,000 tickets). The sizes were checked when the items were written.
            return _limited_size_dict, (dict(obj),)
        if _is_execution_worker(obj):
            # A worker holds the interpreted program, its environment and the event history (~110 KB an
            # execution, most of a snapshot). An Express execution has no history to read on AWS either
            # (GetExecutionHistory is Standard-only), so a restored execution keeps its summary, input
            # and output, and an empty history.
            return _FinishedWorker, ()
        factory = obj.default_factory if isinstance(obj, defaultdict) else None
        if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
            # moto's `defaultdict(lambda: {})` and the like: the same defaults from a named factory.
            return _defaultdict, (type(factory()), dict(obj))
        if isinstance(obj, weakref.WeakValueDictionary):
            # Its values are held elsewhere in the same pickle, so the weak references stay alive.
            return _weak_values, (dict(obj),)
        private_bytes = getattr(obj, "private_bytes", None)
        if private_bytes is not None and type(obj).__module__.startswith("cryptography"):
            from cryptography.hazmat.primitives import serialization as ser

            pem = private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
            return _load_private_key, (pem,)
        return NotImplemented


def _is_limited_size_dict(obj: Any) -> bool:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    return type(obj) is LimitedSizeDict


def _limited_size_dict(items: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    restored = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(restored, items)
    return restored


def _is_execution_worker(obj: Any) -> bool:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    return isinstance(obj, ExecutionWorker)


class _EventLog:
    def get_event_history(self) -> list[Any]:
        return []


class _Env:
    def __init__(self) -> None:
        self.event_manager = _EventLog()


class _FinishedWorker:
    """What a restored execution keeps of its worker: nothing to run, an empty event history."""

    def __init__(self) -> None:
        self.env = _Env()

    def start(self) -> None:
        raise RuntimeError("a restored execution cannot run again")

    def stop(self, stop_date: Any = None, cause: Any = None, error: Any = None) -> None:
        return None


def _defaultdict(factory: Any, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _backend_key(bd: Any) -> str:
    return f"{bd.backend.__module__}:{bd.backend.__qualname__}"


def _backend_dicts() -> dict[str, Any]:
    """Every moto BackendDict this process has loaded, by the backend class it holds."""
    import sys

    from moto.core.base_backend import BackendDict

    found: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("moto."):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, BackendDict):
                found.setdefault(_backend_key(value), value)
    return found


def dump_state(own: dict[str, Any], attempts: int = 5) -> bytes:
    """One pickle of moto's in-use backends and `own`. While requests run, a dict can change size under
    the pickler: that attempt is thrown away and the next one taken."""
    from moto.core.base_backend import BackendDict

    for attempt in range(attempts):
        try:
            in_use = list(BackendDict._instances)  # type: ignore[misc]
            backends = {_backend_key(bd): dict(bd) for bd in in_use if len(bd)}
            buf = io.BytesIO()
            _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(
                {"format": SNAPSHOT_FORMAT, "backends": backends, "own": own}
            )
            return buf.getvalue()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


def restore_backends(backends: dict[str, dict[str, Any]]) -> None:
    """Put pickled backends back into the BackendDicts moto's handlers use (the same objects, refilled)."""
    import importlib

    from moto.core.base_backend import BackendDict

    for key in backends:
        importlib.import_module(key.split(":", 1)[0])
    live = _backend_dicts()
    for key, accounts in backends.items():
        bd = live.get(key)
        if bd is None:
            log.warning("snapshot holds state for %s, which this moto does not have; skipped", key)
            continue
        dict.clear(bd)
        dict.update(bd, accounts)
        if bd not in BackendDict._instances:  # type: ignore[misc]
            BackendDict._instances.append(bd)  # type: ignore[misc]


@dataclass
class Snapshot:
    """What a snapshot file held: moto's backends (already restored) and the runtime's own state."""

    own: dict[str, Any]


def durable_dir(base: Path) -> Path:
    """Where the local stack keeps its state (`$TMS_STATE_DIR/local`)."""
    return base / "local"


def load(directory: Path) -> Snapshot | None:
    """Restore moto's backends from the snapshot in `directory`; None when there is none."""
    path = directory / SNAPSHOT_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    state = pickle.loads(data)  # noqa: S301 - our own file under the user's state dir
    if state.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(
            f"{path} was written by another version of the local runtime; start with `tms local up --fresh`"
        )
    restore_backends(state["backends"])
    return Snapshot(own=state["own"])


def forget(directory: Path) -> bool:
    """Delete the snapshot and the journal; True when there was something to delete."""
    removed = False
    for name in (SNAPSHOT_NAME, JOURNAL_NAME):
        try:
            (directory / name).unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class Journal:
    """Data-store writes acknowledged since the last snapshot, one JSON line each, fsynced before the
    endpoint answers."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _file: Any = None

    def open(self) -> None:
        """Open for appending; a line torn by a crash (never acknowledged) is cut off first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the stack's life
        size = self._file.tell()
        if size:
            with open(self.path, "rb") as f:
                f.seek(max(0, size - 1))
                if f.read(1) != b"\n":
                    f.seek(0)
                    self._file.truncate(f.read().rfind(b"\n") + 1)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def position(self) -> int:
        with self._lock:
            return self._file.tell() if self._file is not None else 0

    def drop_before(self, position: int) -> None:
        """Forget the lines before `position` (they are in a snapshot now)."""
        with self._lock:
            if self._file is None:
                return
            self._file.flush()
            with open(self.path, "rb") as f:
                f.seek(position)
                tail = f.read()
            self._file.close()
            _write_atomically(self.path, tail)
            self._file = open(self.path, "ab")  # noqa: SIM115

    def entries(self) -> list[dict[str, Any]]:
        """Every complete line (a line torn by a crash was never acknowledged: it is skipped)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.split(b"\n"):
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


@dataclass
class WriteGate:
    """The durable stack's answer to the endpoint (local.moto.emulation.WriteGate): counts changes, runs one
    write per data store at a time and journals it, and holds every data store's writes back while a
    snapshot is taken (`exclusive`), so the snapshot and the journal's position are one cut."""

    journal: Journal
    changes: int = 0
    _locks: dict[str, threading.Lock] = field(
        default_factory=lambda: {service: threading.Lock() for service in sorted(JOURNALED_SERVICES)}
    )

    def changed(self) -> None:
        self.changes += 1  # a lost increment only delays a snapshot by one interval

    def guards(self, service: str) -> bool:
        return service in self._locks

    @contextmanager
    def writing(self, service: str) -> Iterator[None]:
        with self._locks[service]:
            yield

    def written(self, service: str, request: dict[str, Any]) -> None:
        self.journal.append({"service": service, **request})

    def checkpoint(self, function: str, shard_id: str, sequence: str) -> None:
        """A mapping handled its records up to `sequence`: journaled, so a restart reads on from there
        rather than from the last snapshot's checkpoint (which would deliver those records again)."""
        self.journal.append({CHECKPOINT: [function, shard_id, sequence]})

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No data-store write runs or starts while inside (locks taken in one order: no deadlock)."""
        with ExitStack() as held:
            for service in sorted(self._locks):
                held.enter_context(self._locks[service])
            yield


@dataclass
class Replayed:
    """What the journal gave back at start: writes handed to moto again, those moto refused, and each
    mapping's checkpoints journaled after the snapshot."""

    writes: int = 0
    refused: int = 0
    checkpoints: dict[str, dict[str, str]] = field(default_factory=dict)


def replay(entries: list[dict[str, Any]]) -> Replayed:
    """Hand the journaled writes to moto again, in order (the sequence numbers of stream records come out
    as they did the first time: each data store's writes were serialized), and collect the checkpoints."""
    from local.moto.emulation import replay_requests

    out = Replayed()
    requests = []
    for entry in entries:
        if CHECKPOINT in entry:
            function, shard_id, sequence = entry[CHECKPOINT]
            out.checkpoints.setdefault(function, {})[shard_id] = sequence
        else:
            requests.append(entry)
    out.writes, out.refused = replay_requests(requests)
    return out


def encode_data(data: Any) -> str:
    """Kinesis record data as moto holds it (base64 text)."""
    return data if isinstance(data, str) else base64.b64encode(data).decode()


def snapshot_interval() -> float:
    """TMS_LOCAL_SNAPSHOT_INTERVAL: seconds > 0 between background snapshots (default in contract.defaults)."""
    raw = os.environ.get(names.ENV_LOCAL_SNAPSHOT_INTERVAL, "").strip()
    if not raw:
        return defaults.LOCAL_SNAPSHOT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigurationError(
            f"{names.ENV_LOCAL_SNAPSHOT_INTERVAL}={raw!r}: expected seconds greater than 0 (e.g. 2 or 0.5)"
        )
    return value


@dataclass
class Snapshotter:
    """Writes the snapshot when asked (clean stop) and every `interval_s` while something changed."""

    directory: Path
    own_state: Callable[[], dict[str, Any]]
    gate: WriteGate
    interval_s: float = defaults.LOCAL_SNAPSHOT_INTERVAL_S
    _saved_changes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    last_seconds: float = 0.0

    @property
    def journal(self) -> Journal:
        return self.gate.journal

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tms-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        # A large state takes a while to pickle (holding the GIL): snapshots then come less often, so they
        # never take more than a fifth of the time.
        while not self._stop.wait(max(self.interval_s, 4 * self.last_seconds)):
            if self.gate.changes != self._saved_changes:
                try:
                    self.write()
                except Exception:  # a failed background snapshot is retried at the next interval
                    log.warning("background snapshot failed; retrying later", exc_info=True)

    def write(self) -> None:
        """Snapshot now; the journal keeps only what may be newer than it."""
        with self._write_lock:
            started = time.perf_counter()
            with self.gate.exclusive():  # one cut: no data-store write between the position and the state
                seen = self.gate.changes
                position = self.journal.position()
                data = dump_state(self.own_state())
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.directory / SNAPSHOT_NAME, data)
            self.journal.drop_before(position)
            self._saved_changes = seen
            self.last_seconds = time.perf_counter() - started


def take_running_executions() -> list[tuple[str, str]]:
    """Executions a snapshot recorded as RUNNING died with their process: remove them (so the same name can
    start again) and return their (name, input)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    dead: list[tuple[str, str]] = []
    for _account, _region, backend in stepfunctions_parser_backends.iter_backends():
        for machine in getattr(backend, "state_machines", []):
            for execution in list(machine.executions):
                status = getattr(getattr(execution, "exec_status", None), "value", None)
                if status == "RUNNING":
                    machine.executions.remove(execution)
                    dead.append((execution.name, str(execution.execution_input)))
    return dead


def ticket_statuses(table_name: str, region: str, account: str) -> tuple[int, list[str], list[str]]:
    """How many tickets the restored table holds (not the intake limits' counter items it also keeps), the
    ids of those PROCESSING, and of those TRIAGED whose Slack post was never claimed (their run died
    between RecordTriaged and the notifier): read in-process (a scan through the endpoint takes seconds)."""
    from moto.dynamodb.models import dynamodb_backends

    from bot.adapters.ticket_store import POSTED

    table = dynamodb_backends[account][region].get_table(table_name)
    count = 0
    processing, unannounced = [], []
    for item in list(table.all_items()):
        ticket_id = str(item.hash_key.value)
        if ticket_id.startswith(names.LIMIT_KEY_PREFIX):
            continue
        count += 1
        status = item.attrs.get("status")
        if status is not None and status.value == "PROCESSING":
            processing.append(ticket_id)
        elif status is not None and status.value == "TRIAGED":
            posted = item.attrs.get(POSTED)
            if posted is None or TRIAGED_POST not in posted.value:
                unannounced.append(ticket_id)
    return count, sorted(processing), sorted(unannounced)
