"""Text that reaches Slack: escaping for customer-controlled strings and mentions built only from real ids.

Slack turns `<...>` in message text into live mentions (`<@U…>`, `<!channel>`, `<!subteam^S…>`) and links
(`<https://…|label>`), and requires `&`, `<` and `>` to be sent as entities
(https://api.slack.com/reference/surfaces/formatting#escaping). Every string a customer, a mail header or a
model can influence goes through `escape` before it is put into any text Slack parses; a mention is only
ever built from an id that has the shape of a Slack user (or user group) id, anything else is shown as
escaped plain text. Pure functions: listeners, logic and blocks share them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Slack user ids: U… (workspace) or W… (Enterprise Grid); user-group ids: S…
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID_RE = re.compile(r"^S[A-Z0-9]{2,}$")
# Explicit bidirectional overrides and isolates re-order what the reader sees (a "Trojan Source" label):
# dropped. The implicit marks (U+200E/F) and right-to-left text itself are left alone.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def escape(value: object) -> str:
    """Customer text made inert for mrkdwn and message text: `&`, `<`, `>` as entities, bidi overrides gone."""
    text = str(value if value is not None else "")
    return text.translate(_BIDI_CONTROLS).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fence(value: str) -> str:
    """Escaped text for inside a ``` code block: a fence in the text would end the block early."""
    return escape(value).replace("```", "`\u200b``")


def is_user_id(value: str) -> bool:
    """Whether `value` has the shape of a Slack user id."""
    return bool(USER_ID_RE.match(value or ""))


def is_group_id(value: str) -> bool:
    """Whether `value` has the shape of a Slack user-group id."""
    return bool(GROUP_ID_RE.match(value or ""))


def user_mention(user_id: str) -> str:
    """`<@U…>` for a real user id; anything else (a mail address, a forged value) as escaped text."""
    return f"<@{user_id}>" if is_user_id(user_id) else escape(user_id)


def group_mention(group_id: str) -> str:
    """`<!subteam^S…>` for a real user-group id; anything else as escaped text."""
    return f"<!subteam^{group_id}>" if is_group_id(group_id) else escape(group_id)


# Slack's date formatting (https://api.slack.com/reference/surfaces/formatting#date-formatting): each reader
# sees the time in their own time zone; clients that cannot render it show the fallback, plain UTC.
DATE_TOKENS = "{date_short_pretty} {time}"


def slack_date(value: str | datetime | None, *, missing: str = "-") -> str:
    """`<!date^EPOCH^{date_short_pretty} {time}|2026-12-07 09:30 UTC>` for a time (ISO text or a datetime);
    `missing` for nothing, and the escaped text for something that is not a time."""
    if value is None or value == "":
        return missing
    when = value if isinstance(value, datetime) else _parse_time(str(value))
    if when is None:
        return escape(str(value))
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{DATE_TOKENS}|{fallback}>"


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


_SAFE_URL = re.compile(r"^https://[^\s<>|&\x00-\x1f\x7f]+$")


def link(url: str, label: str) -> str:
    """`<https://…|label>` for a plain HTTPS URL; anything else (another scheme, a `|` or `>` that would
    end the link early) as escaped text, so a stored source can never become a mention or a hidden link."""
    text = escape(label).replace("|", "\u2223")
    if not _SAFE_URL.match(url or ""):
        return f"{text} ({escape(url)})"
    return f"<{url}|{text}>"
