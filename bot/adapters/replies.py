"""SNS adapter: hands an approved reply to the mailer (a pipeline function subscribed to the tickets topic).

The bot does not send mail itself: SES is called by one function whose claim makes it exactly once, and
Slack's 3 s ack budget only has to cover one SNS publish.
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from bot.errors import ReplyQueueError
from contract import names
from contract.models import ReplyApprovedMessage


class ReplyQueue(Protocol):
    """Port: where approved replies go to be sent."""

    def approved(self, message: ReplyApprovedMessage) -> None:
        """Hand the approval over durably, or raise ReplyQueueError."""


class SnsReplyQueue:
    """Publishes ReplyApproved on the tickets topic (the mailer's subscription filters on event_type)."""

    def __init__(self, topic_arn: str, client: Any):
        self._topic = topic_arn
        self._client = client

    def approved(self, message: ReplyApprovedMessage) -> None:
        """One SNS message per approval."""
        try:
            self._client.publish(
                TopicArn=self._topic,
                Message=message.model_dump_json(),
                MessageAttributes={
                    names.ATTR_EVENT_TYPE: {"DataType": "String", "StringValue": names.EVENT_REPLY_APPROVED},
                    names.ATTR_TICKET_ID: {"DataType": "String", "StringValue": message.ticket_id},
                },
            )
        except (ClientError, BotoCoreError) as e:
            raise ReplyQueueError(f"could not hand {message.ticket_id} to the mailer") from e
