"""Slack Web API adapters: a configured WebClient, a paced poster, and the user directory.

Slack allows about one message per second per channel (https://api.slack.com/methods/chat.postMessage#rate_limiting)
and answers 429 with Retry-After beyond that. Posts are paced per channel (bursts wait their turn, none are
dropped) and 429s are retried by the SDK's retry handler after exactly Retry-After seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import SlackMessageGoneError, SlackPostError, SlackThreadUnreadableError
from bot.observability import logger

Sleep = Callable[[float], None]
Clock = Callable[[], float]
DEFAULT_API_URL = "https://slack.com/api/"
POST_INTERVAL_SECONDS = 1.0
MAX_RATE_LIMIT_RETRIES = 5


class RetryAfterHandler(RateLimitErrorRetryHandler):
    """The SDK's 429 handler, waiting exactly Retry-After through an injectable sleeper (tests never sleep)."""

    def __init__(self, sleep: Sleep = time.sleep, max_retry_count: int = MAX_RATE_LIMIT_RETRIES):
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Sleep for the Retry-After the 429 carried (1 s when absent), then retry."""
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        headers = {k.lower(): v for k, v in response.headers.items()}
        raw = headers.get("retry-after", ["1"])
        self._sleep(float(raw[0] if isinstance(raw, list) else raw))
        state.increment_current_attempt()


def make_web_client(token: str | None, api_url: str | None = None, *, sleep: Sleep = time.sleep) -> WebClient:
    """A WebClient for `api_url` (SLACK_API_URL, else Slack) that honours Retry-After."""
    base_url = api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=5,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), RetryAfterHandler(sleep)],
    )


@dataclass(frozen=True)
class Posted:
    """Where a message landed: channel id and ts (the thread key)."""

    channel: str
    ts: str

    @property
    def ref(self) -> str:
        """The message as one string ("<channel> <ts>": neither ever holds a space), for a string set."""
        return f"{self.channel} {self.ts}"

    @classmethod
    def from_ref(cls, ref: str) -> Posted:
        """The message a `ref` names."""
        channel, _, ts = ref.partition(" ")
        if not channel or not ts:
            raise ValueError(f"not a Slack message reference: {ref!r}")
        return cls(channel=channel, ts=ts)


class Poster(Protocol):
    """Port: post one chat.postMessage payload, return where it landed."""

    def post(self, payload: dict[str, Any]) -> Posted:
        """Post the payload (it names its channel and optional thread_ts)."""

    def update(
        self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]], **options: Any
    ) -> None:
        """Replace an earlier post (the ticket's root post shows its current state); `options` are further
        chat.update arguments (unfurl flags)."""


class SlackPoster:
    """Posts through the Web API, at most one message per `interval` seconds per channel (per process)."""

    def __init__(
        self,
        client: WebClient,
        *,
        interval: float = POST_INTERVAL_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ):
        self._client = client
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next_slot: dict[str, float] = {}

    def _lock(self, channel: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(channel, threading.Lock())

    def post(self, payload: dict[str, Any]) -> Posted:
        """Wait for the channel's next slot (queueing behind earlier posts), then post."""
        channel = payload["channel"]
        # Holding the channel's lock while waiting is the queue: a burst is posted in order, one per slot.
        with self._lock(channel):
            wait = self._next_slot.get(channel, 0.0) - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                resp = self._client.chat_postMessage(**payload)
            except SlackApiError as e:
                raise SlackPostError(
                    f"chat.postMessage to {channel} failed: {e.response.get('error')}"
                ) from e
            finally:
                self._next_slot[channel] = self._clock() + self._interval
        return Posted(channel=str(resp["channel"]), ts=str(resp["ts"]))

    def update(
        self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]], **options: Any
    ) -> None:
        """chat.update (its own rate tier: it takes no posting slot)."""
        try:
            self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks, **options)
        except SlackApiError as e:
            error = e.response.get("error")
            gone = SlackMessageGoneError if error == "message_not_found" else SlackPostError
            raise gone(f"chat.update of {channel}/{ts} failed: {error}") from e


# Why a thread cannot be read, by the error conversations.replies answers
# (https://api.slack.com/methods/conversations.replies#errors): what the operator can do about it.
THREAD_ERRORS = {
    "missing_scope": "the app lacks channels:history (groups:history for a private channel): reinstall it "
    "with bot/manifest.yaml",
    "not_in_channel": "the bot is not a member of the channel: invite it (/invite @tms) and run again",
    "channel_not_found": "the channel is gone (deleted) or the app cannot see it",
    "is_archived": "the channel is archived",
    "thread_not_found": "the thread's root message is gone",
}
REPLIES_PAGE = 200  # messages per conversations.replies page (Slack's recommended ceiling is 200)


class ThreadReader(Protocol):
    """Port: the messages tms itself posted in one thread."""

    def own_messages(self, channel: str, thread_ts: str) -> list[str]:
        """The ts of every message of the thread (root included) that tms's bot posted; raises
        SlackThreadUnreadableError (with the reason) when the thread cannot be read."""


class SlackThreads:
    """conversations.replies, every page, filtered to the messages of this app's bot (the `bot_id` and bot
    user id auth.test answers for the token): people's messages and other apps' never match."""

    def __init__(self, client: WebClient, *, page_size: int = REPLIES_PAGE):
        self._client = client
        self._page = page_size
        self._me: tuple[str, str] | None = None

    def _identity(self) -> tuple[str, str]:
        if self._me is None:
            try:
                resp = self._client.auth_test()
            except SlackApiError as e:
                error = str(e.response.get("error") or "unknown")
                raise SlackThreadUnreadableError("", "", error, "auth.test failed: the bot token") from e
            bot_id, user_id = str(resp.get("bot_id") or ""), str(resp.get("user_id") or "")
            if not bot_id and not user_id:
                raise SlackThreadUnreadableError("", "", "no_identity", "auth.test named no bot")
            self._me = (bot_id, user_id)
        return self._me

    def own_messages(self, channel: str, thread_ts: str) -> list[str]:
        """Every page of the thread; the ts of this bot's messages, in thread order."""
        bot_id, user_id = self._identity()
        out: list[str] = []
        cursor = ""
        while True:
            try:
                resp = self._client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=self._page, cursor=cursor or None
                )
            except SlackApiError as e:
                error = str(e.response.get("error") or "unknown")
                raise SlackThreadUnreadableError(
                    channel, thread_ts, error, THREAD_ERRORS.get(error, f"Slack answered {error}")
                ) from e
            for m in resp.get("messages") or []:
                mine = (bot_id and m.get("bot_id") == bot_id) or (user_id and m.get("user") == user_id)
                if mine and m.get("ts"):
                    out.append(str(m["ts"]))
            cursor = str((resp.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return out


@dataclass(frozen=True)
class Profile:
    """What intake needs to know about the agent who ran /ticket."""

    full_name: str
    first_name: str
    last_name: str
    email: str
    complete: bool = True  # False when Slack told us nothing about the user (names are the user id)


class Directory(Protocol):
    """Port: Slack user profiles."""

    def profile(self, user_id: str) -> Profile:
        """The user's name and email."""


class SlackDirectory:
    """users.info, cached per process: profiles rarely change and /ticket must ack fast."""

    def __init__(self, client: WebClient):
        self._client = client
        self._cache: dict[str, Profile] = {}

    def profile(self, user_id: str) -> Profile:
        """The user's name and email (needs the users:read and users:read.email scopes)."""
        cached = self._cache.get(user_id)
        if cached:
            return cached
        user = self._client.users_info(user=user_id).get("user")
        if not isinstance(user, dict):
            # An ok answer without the user object happens (reported in issue 12): the ticket is still
            # filed, under the user id; not cached, so the next /ticket asks Slack again.
            logger.warning("users.info answered without a user", extra={"slack_user": user_id})
            return Profile(full_name=user_id, first_name=user_id, last_name=user_id, email="", complete=False)
        raw_profile = user.get("profile")
        p: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
        full = p.get("real_name") or user.get("real_name") or user.get("name") or user_id
        first, _, last = full.partition(" ")
        profile = Profile(
            full_name=full,
            first_name=p.get("first_name") or first,
            last_name=p.get("last_name") or last,
            # Empty when the workspace hides emails or the app lacks users:read.email: intake then uses
            # the documented placeholder address.
            email=p.get("email") or "",
        )
        self._cache[user_id] = profile
        return profile


USER_GROUPS_TTL_SECONDS = 300.0
USER_GROUPS_RETRY_SECONDS = 30.0


class SlackUserGroups:
    """usergroups.users.list (scope usergroups:read), cached per group for a few minutes per process.

    Workspaces on plans without user groups answer with an error (and so does a missing scope or an unknown
    group): it is logged once per group and error, and the group counts as empty, so a role granted only
    through it is held by nobody (fail closed). Grant user ids directly there.
    """

    def __init__(
        self, client: WebClient, *, ttl: float = USER_GROUPS_TTL_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        """The user ids in the group (cached; empty when Slack cannot say)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        try:
            users = self._client.usergroups_users_list(usergroup=group_id).get("users") or []
            members = frozenset(str(u) for u in users)
        except (SlackClientError, OSError) as e:
            error = (
                str(e.response.get("error") or "unknown")
                if isinstance(e, SlackApiError)
                else type(e).__name__
            )
            with self._lock:
                if (group_id, error) not in self._warned:
                    self._warned.add((group_id, error))
                    logger.warning(
                        "user group unavailable, treated as empty",
                        extra={"usergroup": group_id, "error": error},
                    )
            with self._lock:  # asked again sooner than a good answer: the error may pass
                self._cache[group_id] = (now - self._ttl + USER_GROUPS_RETRY_SECONDS, frozenset())
            return frozenset()
        with self._lock:
            self._cache[group_id] = (now, members)
        return members
