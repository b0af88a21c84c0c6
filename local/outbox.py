"""The local Slack outbox (one chat.postMessage payload per line), read back: which ticket was announced,
which failed, which alarm opened or replied in its thread. `tms demo` and `tms chaos` both count with it."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from contract.models import OWN_TICKET_ID_PATTERN

# Demo and chaos tickets carry ids tms minted; a producer's id could be any word of a post's text.
TICKET_ID_RE = re.compile(OWN_TICKET_ID_PATTERN.strip("^$"))


@dataclass
class SlackPosts:
    """The outbox, classified: ticket posts (top level, or an incident report in its root's thread), failure
    posts, alarm posts (by alarm name)."""

    triaged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    alarm_opened: Counter[str] = field(default_factory=Counter)  # top-level ALARM posts
    alarm_threaded: Counter[str] = field(default_factory=Counter)  # replies (e.g. OK) in an alarm's thread
    total: int = 0


# bot/blocks.py:INCIDENT_REPORT_EVENT: a later report of an incident is posted in the root's thread, and that
# reply is the ticket's own post (this module may not import bot/).
INCIDENT_REPORT_EVENT = "tms_incident_report"


def _incident_report(payload: dict[str, object]) -> bool:
    metadata = payload.get("metadata")
    return isinstance(metadata, dict) and metadata.get("event_type") == INCIDENT_REPORT_EVENT


def parse_outbox(lines: Iterable[str], alarm_names: Iterable[str]) -> SlackPosts:
    """Classify outbox lines (chat.postMessage payloads) by what they announce."""
    posts = SlackPosts()
    alarms = sorted(alarm_names, key=len, reverse=True)  # the longest name first: no prefix mix-ups
    for line in lines:
        try:
            payload = json.loads(line)
        except ValueError:
            continue
        if payload.get("method") == "chat.update":
            continue  # an edit of an earlier post, not a post
        posts.total += 1
        text = str(payload.get("text", ""))
        alarm = next((a for a in alarms if a in text), None)
        if alarm is not None:
            (posts.alarm_threaded if payload.get("thread_ts") else posts.alarm_opened)[alarm] += 1
            continue
        match = TICKET_ID_RE.search(text)
        if match is None:
            continue
        if text.startswith(":x:"):
            posts.failed[match.group(0)] += 1
        elif not payload.get("thread_ts") or _incident_report(payload):
            posts.triaged[match.group(0)] += 1
    return posts


def read_outbox(path: str | Path, alarm_names: Iterable[str] = ()) -> SlackPosts:
    """parse_outbox over a file; a missing file is an empty outbox (nothing posted yet)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    return parse_outbox(lines, alarm_names)
