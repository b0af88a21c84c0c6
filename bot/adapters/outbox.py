"""The local outbox: without Slack credentials, chat.postMessage payloads are appended to a JSON Lines file.

Each line is the exact payload, plus the `ts` Slack would have answered (generated here, unique and
increasing), so replies carry a `thread_ts` that points at a line in the same file. An edit of an earlier
post (chat.update) is a line with `"method": "chat.update"` and the `ts` it replaces.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from bot.adapters.slack import Clock, Posted


class OutboxPoster:
    """Appends posts to a file instead of calling Slack."""

    def __init__(self, path: str | Path, *, clock: Clock = time.time):
        self._path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._last = 0

    def _next_ts(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post(self, payload: dict[str, Any]) -> Posted:
        """Append one line; return a generated ts so threads still work."""
        with self._lock:
            ts = self._next_ts()
            self._append({**payload, "ts": ts})
        return Posted(channel=str(payload["channel"]), ts=ts)

    def update(
        self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]], **options: Any
    ) -> None:
        """Append the edit of the post at `ts` (with its chat.update options, as the payload Slack gets)."""
        with self._lock:
            self._append(
                {"method": "chat.update", "channel": channel, "ts": ts, "text": text, "blocks": blocks}
                | options
            )

    def _append(self, line: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: concurrent processes do not interleave lines.
        with self._path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


class OutboxThreads:
    """The outbox as a thread history: every post in it is tms's own, so a thread's messages are the post at
    `thread_ts` and the posts whose `thread_ts` names it (edits are not messages)."""

    def __init__(self, path: str | Path):
        self._path = Path(path)

    def own_messages(self, channel: str, thread_ts: str) -> list[str]:
        """The ts of the thread's posts, in file order (a missing file has none)."""
        try:
            lines = self._path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for raw in lines:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a torn last line of a crashed writer
            if not isinstance(line, dict) or line.get("method") or str(line.get("channel")) != channel:
                continue
            if thread_ts in (str(line.get("ts")), str(line.get("thread_ts"))):
                out.append(str(line["ts"]))
        return out
