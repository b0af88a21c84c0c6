"""boto3 clients for the bot: the one client factory (pipeline.adapters.clients) with the "bot" profile,
short timeouts for Slack's 3-second budget. Built once per process.

Endpoints come from the standard AWS_ENDPOINT_URL variables (the local stack sets them), never from code.
"""

from __future__ import annotations

from typing import Any

from pipeline.adapters.clients import PROFILES, aws_client

BOT_CONFIG = PROFILES["bot"]


def client(service: str) -> Any:
    """One configured boto3 client per service and process."""
    return aws_client(service, profile="bot")
