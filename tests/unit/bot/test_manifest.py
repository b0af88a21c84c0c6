"""The app manifest asks for what the listeners use: every event the app listens to is subscribed with
its history scope, the message shortcut's callback id is the one the app registers, and each scope and event
is justified in docs/slack-intake.md."""

from __future__ import annotations

import yaml

from bot import blocks
from tests.paths import REPO_ROOT

MANIFEST = yaml.safe_load((REPO_ROOT / "bot" / "manifest.yaml").read_text())
DOC = (REPO_ROOT / "docs" / "slack-intake.md").read_text()
# Event subscription -> the scope Slack requires for it (https://api.slack.com/events).
NEEDS = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "reaction_added": "reactions:read",
}


def test_every_subscribed_event_has_its_scope_and_the_listeners_events_are_subscribed() -> None:
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    scopes = MANIFEST["oauth_config"]["scopes"]["bot"]
    assert set(events) == set(NEEDS)
    assert {NEEDS[e] for e in events} <= set(scopes)
    assert "reactions:write" in scopes  # the :eyes: mark


def test_the_message_shortcut_is_the_one_the_app_handles() -> None:
    (shortcut,) = MANIFEST["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", blocks.CREATE_TICKET_SHORTCUT)


def test_each_scope_and_event_is_justified_in_the_docs() -> None:
    for name in [
        *MANIFEST["oauth_config"]["scopes"]["bot"],
        *MANIFEST["settings"]["event_subscriptions"]["bot_events"],
    ]:
        assert f"`{name}`" in DOC, name


def test_the_doc_is_the_one_the_manifest_points_to() -> None:
    assert "docs/slack-intake.md" in (REPO_ROOT / "bot" / "manifest.yaml").read_text()
