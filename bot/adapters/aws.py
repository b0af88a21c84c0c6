"""boto3 clients for the bot, built once per process and configured for Slack's 3-second budget.

Endpoints come from the standard AWS_ENDPOINT_URL variables (the local stack sets them), never from code.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# The bot writes inside Slack's 3 s ack budget: short timeouts, few standard-mode retries.
BOT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=1,
    read_timeout=2,
    max_pool_connections=20,
)


@cache
def client(service: str) -> Any:
    """One configured boto3 client per service and process."""
    return boto3.client(service, config=BOT_CONFIG)  # type: ignore[call-overload]
