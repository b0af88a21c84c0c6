"""The local EventBridge Scheduler: fires due one-time `at()` schedules (moto stores them and never fires).

It reads the schedules through the same Scheduler API the timer code writes them with (ListSchedules, then
GetSchedule once per new or modified schedule), and when one is due hands its target's Input to the target
function as an asynchronous invocation, in-process like the runtime's other Lambda integrations (the async
invoker retries a failed invocation twice, as Lambda does). Then, as the service does for
`ActionAfterCompletion: DELETE`, it deletes the schedule.

Accuracy: a schedule fires at most `poll_interval_s` (0.25 s) plus one list round trip after its due second
(bench/sla.py measures it; the README promises 2 s). AWS itself fires one-time schedules within about a minute
with FlexibleTimeWindow OFF.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
    poll_interval_s: float = 0.25
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    fired: list[Fired] = field(default_factory=list)
    errors: int = 0
    _known: dict[str, _Known] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the polling thread."""
        self._thread = threading.Thread(target=self._run, name="tms-local-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.tick()
            except Exception:  # the endpoint is going away or briefly busy: try again next tick
                if self._stop.is_set():
                    return
                self.errors += 1
                log.warning("schedule poll failed; retrying", exc_info=True)

    def tick(self) -> int:
        """Fire every due schedule once; how many fired."""
        seen: dict[str, Any] = {}
        pages = self.scheduler.get_paginator("list_schedules").paginate(
            GroupName=self.group, PaginationConfig={"PageSize": 100}
        )
        for page in pages:
            for summary in page.get("Schedules", []):
                if summary.get("State", "ENABLED") == "ENABLED":
                    seen[summary["Name"]] = summary.get("LastModificationDate")
        for name in list(self._known):
            if name not in seen:
                del self._known[name]
        now = self.clock()
        count = 0
        for name, modified in seen.items():
            known = self._known.get(name)
            if known is None or known.modified != modified:
                known = self._describe(name, modified)
                if known is None:
                    continue
                self._known[name] = known
            if known.due is None or known.due > now:
                continue
            self.submit(known.target_arn, known.payload)
            self.fired.append(Fired(name, known.due, now))
            count += 1
            if known.delete_after:
                self._delete(name)
            self._known.pop(name, None)
        return count

    def _describe(self, name: str, modified: Any) -> _Known | None:
        try:
            s = self.scheduler.get_schedule(Name=name, GroupName=self.group)
        except self.scheduler.exceptions.ResourceNotFoundException:
            return None  # deleted between the list and now (a first response cancelled it)
        target = s["Target"]
        raw = target.get("Input") or "{}"
        return _Known(
            modified=modified,
            due=parse_at(s["ScheduleExpression"]),
            target_arn=target["Arn"],
            payload=json.loads(raw),
            delete_after=s.get("ActionAfterCompletion") == "DELETE",
        )

    def _delete(self, name: str) -> None:
        with contextlib.suppress(self.scheduler.exceptions.ResourceNotFoundException):
            self.scheduler.delete_schedule(Name=name, GroupName=self.group)
