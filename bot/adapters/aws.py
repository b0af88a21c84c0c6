"""boto3 clients for the bot: the one client factory (contract.clients) with the "bot" profile,
short timeouts for Slack's 3-second budget. Built once per process, on first use.

Endpoints come from the standard AWS_ENDPOINT_URL variables (the local stack sets them), never from code.
"""

from __future__ import annotations

from typing import Any

from contract.clients import PROFILES, aws_client

BOT_CONFIG = PROFILES["bot"]


def client(service: str, profile: str = "bot") -> Any:
    """One configured boto3 client per service, profile and process.

    The "bot" profile answers inside Slack's 3-second ack budget; the notifier, which runs on SNS deliveries
    with no such budget, uses "default": a 2-second read timeout there turned a slow but successful claim
    write into an error, and its redelivery then found the claim and posted nothing (a lost post).
    """
    return aws_client(service, profile=profile)


class LazyClient:
    """A client built by `client(service)` at its first call, not when the app is wired.

    Building a boto3 client loads its service model (tens of ms each, more on a busy 2-core machine); a
    cold /ticket needs Kinesis only, so DynamoDB, SNS and Lambda wait for the listener that uses them.
    """

    def __init__(self, service: str) -> None:
        self.service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self.service), name)


def lazy_client(service: str) -> Any:
    """`client(service)`, deferred to its first use (see LazyClient)."""
    return LazyClient(service)
