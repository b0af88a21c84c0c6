"""Listeners by Slack surface, as in Bolt's starter template: each module exposes `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, incidents, views


def register(app: App) -> None:
    """Register every listener on `app`."""
    commands.register(app)
    actions.register(app)
    incidents.register(app)
    views.register(app)
    events.register(app)
