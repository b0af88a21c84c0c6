"""The local EventBridge Scheduler: fires due one-time `at()` schedules (moto stores them and never fires).

It reads the schedules through the same Scheduler API the timer code writes them with (ListSchedules, then
GetSchedule once per new or modified schedule), and when one is due hands its target's Input to the target
function as an asynchronous invocation, in-process like the runtime's other Lambda integrations (the async
invoker retries a failed invocation twice, as Lambda does). Then, as the service does for
`ActionAfterCompletion: DELETE`, it deletes the schedule.

Discovery: the local stack announces every schedule written to its endpoint (`notify_write`, from a moto
patch), and the runner reads just that schedule at once; the whole group is listed only every
`announced_list_interval_s` (10 s), as a safety net. Without announcements (`writes_announced` False) it
lists the group every `poll_interval_s` (0.5 s). Listing 600 open tickets' schedules twice a second was ~5 %
of a 300-ticket chaos run's CPU.

Accuracy: a known schedule fires within `fire_interval_s` (0.1 s) plus one GetSchedule round trip after its
due second (bench/sla.py measures it; the README promises 2 s on an unloaded machine). AWS itself fires
one-time schedules within about a minute with FlexibleTimeWindow OFF.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local import iam_record
from pipeline.domain.sla import parse_at

log = logging.getLogger("tms.local.scheduler")

Submit = Callable[[str, Any], None]  # (function name or ARN, event)


@dataclass(frozen=True)
class _Known:
    modified: Any
    due: datetime | None
    target_arn: str
    payload: Any
    delete_after: bool


@dataclass
class Fired:
    """One firing, for the benchmark and tests."""

    name: str
    due: datetime
    fired_at: datetime


@dataclass
class ScheduleRunner:
    """Polls one schedule group and fires what is due."""

    scheduler: Any
    group: str
    submit: Submit
    poll_interval_s: float = 0.5
    fire_interval_s: float = 0.1
    # True when every write to the group reaches `notify_write`: then the group is listed only this often.
    writes_announced: bool = False
    announced_list_interval_s: float = 10.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    fired: list[Fired] = field(default_factory=list)
    errors: int = 0
    _known: dict[str, _Known] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _written: set[str] = field(default_factory=set)
    _wake: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start the discovery and firing threads."""
        for target, name in ((self._discover_loop, "discover"), (self._fire_loop, "fire")):
            thread = threading.Thread(target=target, name=f"tms-local-scheduler-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # Two loops, so that firing on time never waits for a listing of thousands of schedules: discovery
    # keeps an index of every schedule's due time (ListSchedules, then GetSchedule for new or modified
    # ones); firing checks the index every `fire_interval_s` and confirms each due schedule with
    # GetSchedule (it may have been deleted or moved since) before invoking its target.
    def _discover_loop(self) -> None:
        interval = self.announced_list_interval_s if self.writes_announced else self.poll_interval_s
        next_listing = time.monotonic()  # list at once: the group may hold schedules from before the start
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_listing - time.monotonic()))
            if self._stop.is_set():
                break
            self._wake.clear()
            if time.monotonic() >= next_listing:
                self._guard(self.discover)
                next_listing = time.monotonic() + interval
            else:
                self._guard(self.refresh_written)

    def notify_write(self, group: str, name: str) -> None:
        """A schedule in `group` was created, updated or deleted: read it at the next wake-up."""
        if group != self.group:
            return
        with self._lock:
            self._written.add(name)
        self._wake.set()

    def _fire_loop(self) -> None:
        while not self._stop.wait(self.fire_interval_s):
            self._guard(self.fire_due)

    def _guard(self, step: Callable[[], Any]) -> None:
        try:
            step()
        except Exception:  # the endpoint is going away or briefly busy: try again next round
            if not self._stop.is_set():
                self.errors += 1
                log.warning("local scheduler step failed; retrying", exc_info=True)

    def tick(self) -> int:
        """Discover, then fire every due schedule once; how many fired."""
        self.discover()
        return self.fire_due()

    def discover(self) -> None:
        """Refresh the index of every schedule in the group."""
        with self._lock:
            self._written.clear()  # the listing below reads them, and any written while it runs
        seen: dict[str, Any] = {}
        pages = self.scheduler.get_paginator("list_schedules").paginate(
            GroupName=self.group, PaginationConfig={"PageSize": 100}
        )
        for page in pages:
            for summary in page.get("Schedules", []):
                if summary.get("State", "ENABLED") == "ENABLED":
                    seen[summary["Name"]] = summary.get("LastModificationDate")
        with self._lock:
            for name in [n for n in self._known if n not in seen]:
                del self._known[name]
            stale = [n for n, m in seen.items() if n not in self._known or self._known[n].modified != m]
        self._index(stale)

    def refresh_written(self) -> None:
        """Refresh the index of just the schedules announced since the last look."""
        with self._lock:
            written, self._written = self._written, set()
        self._index(sorted(written))

    def _index(self, names: list[str]) -> None:
        done = 0
        try:
            for name in names:
                known = self._describe(name)
                with self._lock:
                    if known is None:
                        self._known.pop(name, None)
                    else:
                        self._known[name] = known
                done += 1
        except BaseException:
            with self._lock:  # not read yet: the next wake-up reads them
                self._written.update(names[done:])
            raise

    def fire_due(self) -> int:
        """Invoke the target of every indexed schedule that is due, then delete it; how many fired."""
        now = self.clock()
        with self._lock:
            due = sorted((k.due, n) for n, k in self._known.items() if k.due is not None and k.due <= now)
        count = 0
        for _due, name in due:
            current = self._describe(name)  # still there, still the same?
            with self._lock:
                self._known.pop(name, None)
            if current is None or current.due is None or current.due > now:
                if current is not None:
                    with self._lock:
                        self._known[name] = current
                continue
            # EventBridge Scheduler invokes the target with the schedule's role (checked by tools.iam).
            iam_record.record_service_call(
                f"scheduler:{self.group}", "lambda", "Invoke", (current.target_arn,)
            )
            self.submit(current.target_arn, current.payload)
            self.fired.append(Fired(name, current.due, now))
            count += 1
            if current.delete_after:
                self._delete(name)
        return count

    def _describe(self, name: str) -> _Known | None:
        try:
            s = self.scheduler.get_schedule(Name=name, GroupName=self.group)
        except self.scheduler.exceptions.ResourceNotFoundException:
            return None  # deleted between the list and now (a first response cancelled it)
        if s.get("State", "ENABLED") != "ENABLED":
            return None  # disabled: never fires
        target = s["Target"]
        raw = target.get("Input") or "{}"
        return _Known(
            modified=s.get("LastModificationDate"),
            due=parse_at(s["ScheduleExpression"]),
            target_arn=target["Arn"],
            payload=json.loads(raw),
            delete_after=s.get("ActionAfterCompletion") == "DELETE",
        )

    def _delete(self, name: str) -> None:
        with contextlib.suppress(self.scheduler.exceptions.ResourceNotFoundException):
            self.scheduler.delete_schedule(Name=name, GroupName=self.group)


@dataclass
class RateRunner:
    """A rate() schedule of EventBridge Scheduler: one function every `interval_s`, the first time one interval
    after the start (as a new rate schedule fires). Runs are asynchronous invocations on AWS with no retry (the
    next run is the retry); a failed one's event goes to `dlq_url`, as the function's on-failure destination
    sends it there."""

    invoke: Callable[[str, Any], Any]  # LocalLambdas.invoke: (function, event) -> InvokeResult
    function: str
    interval_s: float
    sqs: Any = None
    dlq_url: str = ""
    runs: int = 0
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Run every interval in a daemon thread."""
        self._thread = threading.Thread(
            target=self._loop, name=f"tms-local-rate-{self.function}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop running (a run in progress finishes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the endpoint is going away: the next interval tries again
                if not self._stop.is_set():
                    log.warning(
                        "local %s run failed; next run at the next interval", self.function, exc_info=True
                    )

    def run_once(self) -> Any:
        """One run now, as the schedule would start it: the function's result."""
        event: dict[str, Any] = {}
        # The schedule's own Invoke is not recorded: its role is the one CDK's Lambda target makes for this
        # function alone (tests/infra/test_kb_sync_infra.py), not the SLA group's that `scheduler:` names.
        result = self.invoke(self.function, event)
        self.runs += 1
        if getattr(result, "function_error", None):
            self.failures += 1
            if self.sqs is not None and self.dlq_url:
                with iam_record.acting_as(iam_record.function(self.function)):
                    self.sqs.send_message(
                        QueueUrl=self.dlq_url,
                        MessageBody=json.dumps(
                            {
                                "requestContext": {
                                    "functionArn": self.function,
                                    "condition": "RetriesExhausted",
                                },
                                "requestPayload": event,
                                "responsePayload": json.loads(result.payload or b"null"),
                            }
                        ),
                    )
        return result
