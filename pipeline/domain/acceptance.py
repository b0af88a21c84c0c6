"""Measured acceptance (issue 30.5): how much the agent changed the drafted reply before it was sent.

The measure is a word-level Levenshtein distance normalised by the longer text's word count: 0 when the
reply went out as drafted, 1 when no word survived in place. Words, not characters, because an agent's edit
is a word choice (a fixed typo should not count as a rewrite, a replaced sentence should), and a plain
dynamic programme rather than `difflib.SequenceMatcher.ratio()`: the ratio is not a distance (it is not
symmetric, and its "autojunk" heuristic silently ignores words that occur often in texts of 200+ words,
which replies reach). rapidfuzz would do it faster but is not in the lock; a reply is at most
RESPONSE_MAX bytes (some 1,500 words), which this does in well under a second, once per sent reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from contract import defaults
from contract.names import ITEM_DRAFTED_REPLY as DRAFTED_REPLY
from contract.names import ITEM_REPLY_EDIT_DISTANCE as REPLY_EDIT_DISTANCE
from contract.names import ITEM_SENT_UNCHANGED as SENT_UNCHANGED

_WORD: Final = re.compile(r"\S+")

UNCHANGED: Final = "unchanged"
LIGHTLY_EDITED: Final = "lightly_edited"
REWRITTEN: Final = "rewritten"


def words(text: str) -> list[str]:
    """The words of a reply as compared: split on whitespace, so re-wrapping lines changes nothing."""
    return _WORD.findall(text)


def edit_distance(draft: str, sent: str) -> float:
    """Word-level Levenshtein distance between the draft and the sent reply, over the longer word count."""
    a, b = words(draft), words(sent)
    if a == b:
        return 0.0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return round(previous[-1] / len(a), 4)


def band(distance: float, light_max: float = defaults.ACCEPTANCE_LIGHT_EDIT_MAX) -> str:
    """unchanged (0), lightly edited (below `light_max`) or rewritten."""
    if not 0 <= distance <= 1:
        raise ValueError(f"an edit distance is between 0 and 1, not {distance}")
    if distance == 0:
        return UNCHANGED
    return LIGHTLY_EDITED if distance < light_max else REWRITTEN


@dataclass(frozen=True)
class Acceptance:
    """What the ticket item records when its reply is sent."""

    edit_distance: float
    sent_unchanged: bool

    def fields(self) -> dict[str, object]:
        """The item attributes (`reply_edit_distance`, `sent_unchanged`)."""
        return {REPLY_EDIT_DISTANCE: self.edit_distance, SENT_UNCHANGED: self.sent_unchanged}


def measure(item: dict[str, object]) -> Acceptance:
    """The acceptance of the reply the item is about to send: its `response_text` against the draft the
    model wrote (`drafted_reply`, which the first edit keeps; absent: the reply was never edited)."""
    sent = str(item.get("response_text") or "")
    drafted = item.get(DRAFTED_REPLY)
    draft = sent if drafted is None else str(drafted)
    distance = edit_distance(draft, sent)
    return Acceptance(distance, distance == 0)
