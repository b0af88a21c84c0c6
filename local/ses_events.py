"""SES event publishing for the local endpoint: moto's SES v2 SendEmail ignores configuration sets, so the
local runtime publishes what SES would (a Send event, then Delivery, Bounce or Complaint) to the
configuration set's SNS event destination, in SES's own JSON shape.

Which outcome follows the send is decided like SES's mailbox simulator decides it: mail to
`bounce@simulator.amazonses.com` bounces, `complaint@...` complains, anything else is delivered.
https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

SIMULATOR_DOMAIN = "simulator.amazonses.com"


def outcome_for(destinations: list[str]) -> str:
    """What SES reports after the send for these recipients."""
    for address in destinations:
        local, _, domain = address.lower().partition("@")
        if domain == SIMULATOR_DOMAIN and local.startswith("bounce"):
            return "Bounce"
        if domain == SIMULATOR_DOMAIN and local.startswith("complaint"):
            return "Complaint"
    return "Delivery"


def ses_event(
    event_type: str, ses_message_id: str, source: str, destinations: list[str], tags: dict[str, list[str]]
) -> dict[str, Any]:
    """One SES event-publishing record (the JSON SNS delivers from a configuration set destination)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    event: dict[str, Any] = {
        "eventType": event_type,
        "mail": {
            "timestamp": now,
            "source": source,
            "messageId": ses_message_id,
            "destination": destinations,
            "tags": tags,
        },
    }
    if event_type == "Delivery":
        event["delivery"] = {
            "timestamp": now,
            "recipients": destinations,
            "smtpResponse": "250 2.6.0 Message received",
        }
    elif event_type == "Bounce":
        event["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": d,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
                for d in destinations
            ],
            "timestamp": now,
            "feedbackId": str(uuid.uuid4()),
        }
    elif event_type == "Complaint":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": d} for d in destinations],
            "complaintFeedbackType": "abuse",
            "timestamp": now,
        }
    elif event_type == "Send":
        event["send"] = {}
    return event


def events_for_send(
    params: dict[str, Any], ses_message_id: str, destination: dict[str, Any] | None
) -> list[tuple[str, str]]:
    """(topic ARN, JSON message) pairs to publish for one SendEmail call through a configuration set."""
    if not destination or not destination.get("Enabled", True):
        return []
    topic = (destination.get("SNSDestination") or {}).get("TopicARN")
    if not topic:
        return []
    wanted = {t.upper() for t in destination.get("MatchingEventTypes", [])}
    dest = params.get("Destination") or {}
    recipients = (
        list(dest.get("ToAddresses", []))
        + list(dest.get("CcAddresses", []))
        + list(dest.get("BccAddresses", []))
    )
    tags = {t["Name"]: [t["Value"]] for t in params.get("EmailTags") or []}
    source = params.get("FromEmailAddress", "")
    out = []
    for event_type in ("Send", outcome_for(recipients)):
        if event_type.upper() in wanted:
            out.append((topic, json.dumps(ses_event(event_type, ses_message_id, source, recipients, tags))))
    return out
