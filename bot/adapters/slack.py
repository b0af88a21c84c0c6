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

from bot.errors import SlackMessageGoneError, SlackPostError
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
