"""Is this customer message a request? The offline rule that decides which top-level messages in a watched
customer channel become tickets (issue 31): greetings, thanks, "it's resolved" and other chatter do not.

The rule is a handful of named signals, each with a weight, summed into a score; a message is ticketed when
the score reaches the threshold of the strictness setting (`TMS_TICKETING_STRICTNESS`). Every decision
carries its reason (the signals that fired, with their weights), for the logs and the thread reply. Pure
standard-library code: it runs in the bot Lambda on every channel message, with no model and no network.

Weights and thresholds were tuned on the calibration half of bench/data/channel_messages.jsonl only;
`bench/ticketing_rule.py` measures them on the held-out half (docs/ticketing-rule.md).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal, cast

from contract import defaults, names

Strictness = Literal["lenient", "balanced", "strict"]

# Score a message needs to become a ticket. `balanced` is the tuned point; `lenient` also tickets a message
# with a single weak signal (a long message without chatter cues, a bare interrogative); `strict` wants two
# signals, so a lone question mark or a lone problem word is not enough.
THRESHOLDS: Final[dict[Strictness, float]] = {"lenient": 1.0, "balanced": 2.0, "strict": 2.5}


@dataclass(frozen=True)
class Signal:
    """One piece of evidence: its name, its weight and the words that triggered it."""

    name: str
    weight: float
    evidence: str = ""

    def describe(self) -> str:
        """`problem words ('failing') +2.0`."""
        said = f" ({self.evidence!r})" if self.evidence else ""
        return f"{self.name}{said} {self.weight:+.1f}"


@dataclass(frozen=True)
class TicketingDecision:
    """Whether a message becomes a ticket, its score, the threshold applied and why."""

    ticket: bool
    score: float
    threshold: float
    strictness: Strictness
    signals: tuple[Signal, ...]

    @property
    def reason(self) -> str:
        """One line for logs and the thread: the verdict, the score against the threshold, the signals."""
        verdict = "request" if self.ticket else "chatter"
        relation = ">=" if self.ticket else "<"
        fired = ", ".join(s.describe() for s in self.signals) or "no signal"
        return (
            f"{verdict}: score {self.score:+.1f} {relation} {self.threshold:.1f} ({self.strictness}); {fired}"
        )


def parse_strictness(value: str | None) -> Strictness:
    """A strictness from configuration text (empty: the default); ValueError naming the allowed values."""
    text = (value or "").strip().lower() or defaults.TICKETING_STRICTNESS
    if text not in names.TICKETING_STRICTNESS_VALUES:
        allowed = ", ".join(names.TICKETING_STRICTNESS_VALUES)
        raise ValueError(f"{names.ENV_TICKETING_STRICTNESS} must be one of {allowed}, not {value!r}")
    return cast(Strictness, text)


# --- Slack markup -----------------------------------------------------------------------------------------
# https://api.slack.com/reference/surfaces/formatting: <@U…>, <@U…|name>, <#C…|name>, <!here>, <!subteam^S…>,
# <https://…|label>, :emoji_name:, *bold*, _italic_, ~strike~, `code`, ```blocks```, and &amp; &lt; &gt;.
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:here|channel|everyone|subteam\^[A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^|>\s]*)(?:\|([^>]*))?>", re.IGNORECASE)
_BARE_URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
# A named emoji has a letter in its name (`:+1:` and `:-1:` aside), so clock times like 14:00 stay text.
_EMOJI_NAME = re.compile(r":(?=[a-z0-9_+'-]*[a-z])[a-z0-9_+'-]+:|:[+-]1:", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<!\w)[*_~]+|[*_~]+(?!\w)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Normalised:
    """A message with its Slack markup resolved: plain lower-case text plus what the markup held."""

    text: str
    code_blocks: int
    emoji: int


def normalise(raw: str) -> Normalised:
    """Slack markup to plain lower-case text: mentions and links dropped (a link's label kept), emoji and
    emphasis removed, code blocks counted and removed, inline code kept as its words."""
    text = raw or ""
    code_blocks = len(_CODE_BLOCK.findall(text))
    text = _CODE_BLOCK.sub(" ", text)
    text = _USER.sub(" ", text)
    text = _CHANNEL.sub(lambda m: f" #{m.group(1) or 'channel'} ", text)
    text = _SPECIAL.sub(" ", text)
    text = _LINK.sub(lambda m: f" {m.group(2) or ''} ", text)
    text = html.unescape(text)
    text = _BARE_URL.sub(" ", text)
    emoji = len(_EMOJI_NAME.findall(text))
    text = _EMOJI_NAME.sub(" ", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        # So: pictographs (👍 ☕ ❄); Sk/Cf/Mn around them: skin tones, ZWJ, variation selectors (but not the
        # accents of "läuft", which NFC keeps precomposed).
        if category == "So" or ch in "\u200d\ufe0f" or 0x1F3FB <= ord(ch) <= 0x1F3FF:
            emoji += category == "So"
            kept.append(" ")
        else:
            kept.append(ch)
    text = unicodedata.normalize("NFC", "".join(kept)).replace("`", " ")
    text = _EMPHASIS.sub(" ", text).replace("\u2019", "'").replace("\u2018", "'")
    return Normalised(text=_SPACES.sub(" ", text).strip().lower(), code_blocks=code_blocks, emoji=emoji)


# --- Signals ----------------------------------------------------------------------------------------------
class _Lazy:
    """A case-insensitive pattern compiled on first use. The bot's settings import this module at every cold
    start, most of which never read a channel message; compiling the word lists there cost ~7 ms."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled once)."""
        if self._compiled is None:
            self._compiled = re.compile(self.source, re.IGNORECASE)
        return self._compiled


def _words(*patterns: str) -> _Lazy:
    return _Lazy(r"(?<![\w'])(?:" + "|".join(patterns) + r")(?![\w'])")


# A question to support: interrogatives opening a sentence (EN, DE, ES) and the request-shaped "any idea".
_INTERROGATIVE = _Lazy(
    r"(?:^|[.!?¿:;,\n—-]\s*|\b(?:hi|hey|hello|hallo|hola|team|folks|all|q|question|frage)\b[ ,:—-]+)"
    r"(?:how|hw|what|what's|whats|why|when|where|who|which|is there|are there|is it|is that|is the|"
    r"are you|are we|can|could|would|does|do|did|should|any (?:idea|ideas|update|news|eta|tips|way)|"
    r"wie|was|warum|wann|wo|gibt es|kann|könnt|können|ist das|"
    r"cómo|como|qué|que|por qué|cuándo|dónde|hay|es posible|pueden|podéis|sabéis)\b"
)
_REQUEST_VERBS = _words(
    r"need", r"needs", r"needed", r"please", r"pls", r"plz", r"kindly", r"help", r"can you", r"could you",
    r"can someone", r"could someone", r"can we", r"could we", r"would like", r"we'd like", r"i'd like",
    r"we want", r"i want", r"looking for", r"trying to", r"who can", r"who do i", r"who should",
    r"take a look", r"bitte", r"brauchen", r"brauche", r"necesitamos", r"necesito", r"ayudar", r"ayuda",
    r"por favor",
)  # fmt: skip
_PROBLEM = _words(
    r"errors?", r"errored", r"fail(?:s|ed|ing|ure)?", r"broken", r"brokn", r"breaks?", r"crash(?:es|ed|ing)?",
    r"down", r"outage", r"incident", r"unreachable", r"time(?:s|d)? ?out", r"timeouts?", r"exception",
    r"bugs?", r"issues?", r"problems?", r"wrong", r"stuck", r"hangs?", r"slow", r"delay(?:ed)?", r"latency",
    r"missing", r"empty", r"blank", r"nothing (?:loads|syncs|happens|works)", r"does nothing",
    r"not (?:working|loading|load|showing|receiving|getting|allowed)", r"doesn't", r"don't", r"didn't",
    r"won't", r"isn't", r"aren't", r"can't", r"cant", r"cannot", r"couldn't", r"unable", r"denied",
    r"rejected", r"refused", r"invalid", r"expired", r"revoked", r"locked out", r"logged out", r"twice",
    r"duplicates?", r"off by", r"unreadable", r"mojibake", r"silently", r"blocking", r"urgent", r"still",
    r"anymore", r"[45]\d\d(?:s|er)?", r"[45]xx", r"econn\w+", r"traceback", r"\w+error",
    r"fehler", r"kaputt", r"funktioniert nicht", r"geht nicht", r"nicht mehr", r"stimmt nicht", r"keine",
    r"problema", r"falla", r"no funciona", r"no (?:podemos|puedo|sincroniza|carga|llega|llegan)",
)  # fmt: skip
# Problem words that say the opposite: "no errors since", "no problem at all", "not urgent".
_NO_PROBLEM = _words(
    r"no (?:errors?|issues?|problems?|rush|worries)", r"not urgent(?: anymore)?", r"don't worry",
    r"no problem at all",
)  # fmt: skip
# A chatter cue followed by a contrast is not chatter: "thanks, but it's still failing", "fixed! one more thing".
_CONTRAST = _words(
    r"but", r"however", r"unfortunately", r"though", r"one more thing", r"quick follow-up", r"follow-up",
    r"aber", r"leider", r"pero",
)  # fmt: skip
_THANKS = _words(
    r"thanks?", r"thank you", r"thx", r"ty", r"cheers", r"appreciated?", r"many thanks", r"merci(?: beaucoup)?",
    r"danke", r"vielen dank", r"gracias", r"muchas gracias", r"you rock",
)  # fmt: skip


def _opening_or_anywhere(openers: tuple[str, ...], phrases: tuple[str, ...]) -> _Lazy:
    """Short words that count only when they open the message ("since this morning", "would be great" are
    no greeting or acknowledgement), or phrases that count anywhere."""
    opening = r"^(?:" + "|".join(openers) + r")(?![\w'])"
    return _Lazy(opening + "|" + _words(*phrases).source)


_GREETING = _opening_or_anywhere(
    ("hi", "hey", "hello", "yo", "morning", "good morning", "hallo", "guten morgen", "hola", "buenos días", "buenas"),
    ("happy to be here", "just joined", "looking forward"),
)  # fmt: skip
_ACK = _opening_or_anywhere(
    ("ok", "okay", "k", "perfect", "great", "cool", "sure", "alright", "yup", "yep", "ack", "right", "perfecto", "vale"),
    ("got it", "sounds good", "noted", "understood", "roger(?: that)?", "will do", "makes sense", "no worries",
     "that explains it", "alles klar"),
)  # fmt: skip
_RESOLVED = _words(
    r"works now", r"working now", r"works again", r"working again", r"works like a charm", r"fixed",
    r"resolved", r"all good", r"all sorted", r"all fine", r"sorted", r"nvm", r"never ?mind", r"false alarm",
    r"close (?:this|it)", r"feel free to close", r"found it", r"workaround", r"closing the loop",
    r"that's all i needed", r"did the trick", r"ya funciona", r"läuft wieder", r"funktioniert wieder",
    r"it was (?:our|dns|a)", r"looks correct", r"looking good",
)  # fmt: skip
_DEFER = _words(
    r"will try", r"i'll", r"we'll", r"let me check", r"get back to you", r"report back", r"come back to you",
    r"keep an eye", r"will pass it on", r"i'll wait", r"lo reviso", r"os digo",
)  # fmt: skip
_FYI = _words(
    r"fyi", r"heads up", r"just so you know", r"just letting you know", r"for visibility", r"out of office",
    r"ooo", r"if that helps", r"in case it's (?:still )?useful", r"forgot to mention", r"btw the",
    r"i've forwarded", r"nothing needed",
)  # fmt: skip
_LAUGHTER = _words(r"lol", r"haha\w*", r"jaja\w*", r"lmao", r"rofl")
_SMALLTALK = _words(
    r"weekend", r"holidays?", r"offsite", r"coffee", r"how are you", r"how's everyone", r"how have you been",
    r"hope you're", r"hope your", r"enjoy", r"congrats", r"congratulations", r"good luck", r"happy friday",
    r"meme", r"snowing", r"long time no see", r"staying warm", r"launching",
    r"what could go wrong",
)  # fmt: skip
# The whole message is a "me too": at the top level it answers the message above, already a ticket.
_ME_TOO = _Lazy(r"^(?:\+1|same|same here|same issue here|me too|same for us|us too|\s|[.!,])*(?:from us)?$")
_TOKEN = re.compile(r"[\w']+")

_WEIGHTS: Final = {
    "question mark": 2.0,
    "interrogative": 1.0,
    "request words": 2.0,
    "problem words": 2.0,
    "more problem words": 0.5,
    "code block": 2.0,
    "long message": 0.5,
    "thanks": -1.0,
    "greeting": -0.5,
    "acknowledgement": -1.0,
    "resolved": -2.5,
    "later on our side": -1.5,
    "fyi": -1.5,
    "small talk": -2.0,
    "laughter": -1.0,
    "only a me-too": -2.0,
    "nothing but emoji or markup": -2.0,
}
_LONG_MESSAGE_WORDS: Final = 12


def _first(pattern: _Lazy, text: str) -> str:
    match = pattern.compiled.search(text)
    return match.group(0).strip(" ,:;.!?¿—-") if match else ""


def signals(raw: str) -> tuple[Signal, ...]:
    """The signals that fire on a message, request evidence first."""
    norm = normalise(raw)
    text = norm.text
    words = _TOKEN.findall(text)
    if not words and not norm.code_blocks:
        return (Signal("nothing but emoji or markup", _WEIGHTS["nothing but emoji or markup"]),)
    found: list[Signal] = []

    def fire(name: str, evidence: str = "") -> None:
        found.append(Signal(name, _WEIGHTS[name], evidence))

    if "?" in text or "¿" in text:
        fire("question mark")
    if said := _first(_INTERROGATIVE, text):
        fire("interrogative", said)
    if said := _first(_REQUEST_VERBS, text):
        fire("request words", said)
    problem_text = _NO_PROBLEM.compiled.sub(" ", text)
    problems = list(dict.fromkeys(m.group(0) for m in _PROBLEM.compiled.finditer(problem_text)))
    if problems:
        fire("problem words", problems[0])
    if len(problems) > 1:
        fire("more problem words", ", ".join(problems[1:3]))
    if norm.code_blocks:
        fire("code block")
    if len(words) >= _LONG_MESSAGE_WORDS:
        fire("long message", f"{len(words)} words")

    # After a contrast only what follows counts: "thanks, but it's still failing" thanks nobody.
    contrast = _CONTRAST.compiled.search(text)
    cue_text = text[contrast.end() :] if contrast else text
    if words and _ME_TOO.compiled.match(text):
        fire("only a me-too", text)
    for name, pattern in (
        ("resolved", _RESOLVED),
        ("thanks", _THANKS),
        ("greeting", _GREETING),
        ("acknowledgement", _ACK),
        ("later on our side", _DEFER),
        ("fyi", _FYI),
        ("small talk", _SMALLTALK),
        ("laughter", _LAUGHTER),
    ):
        if said := _first(pattern, cue_text):
            fire(name, said)
    return tuple(found)


def decide(raw: str, strictness: Strictness = defaults.TICKETING_STRICTNESS) -> TicketingDecision:
    """Whether a top-level customer message becomes a ticket at `strictness`, with the reason."""
    if strictness not in THRESHOLDS:
        raise ValueError(f"unknown ticketing strictness {strictness!r}; one of {', '.join(THRESHOLDS)}")
    fired = signals(raw)
    score = round(sum(s.weight for s in fired), 2)
    threshold = THRESHOLDS[strictness]
    return TicketingDecision(
        ticket=score >= threshold, score=score, threshold=threshold, strictness=strictness, signals=fired
    )
