"""Mailer Lambda: a ReplyApproved message (SNS, filtered on event_type) in, the customer's mail out, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract.lambda_events import sns_messages
from contract.models import ReplyApprovedMessage
from pipeline.adapters.mail import DynamoLifecycle, EmlCopySender, SesMailSender, SnsEvents, reply_key
from pipeline.adapters.sla import LambdaFirstResponses
from pipeline.domain.limits import MailLimits
from pipeline.domain.mail_trust import parse_domains
from pipeline.domain.mailflow import MailConfig, MailSender, send_approved_reply
from pipeline.observability import logger, metrics
from pipeline.settings import MailSettings, mail_settings


def mail_config(s: MailSettings) -> MailConfig:
    """The mail identity, reopen window, reply-address key, trusted domains and limits from the settings
    (the key read once per cold start: from Secrets Manager on AWS)."""
    return MailConfig(
        s.reply_from,
        s.reply_to,
        timedelta(days=s.reopen_window_days),
        reply_key=reply_key(s.reply_key_secret_arn, s.reply_key),
        trusted_domains=parse_domains(s.trusted_domains),
        limits=MailLimits.of(s.tickets_per_sender, s.tickets_per_domain),
    )


@cache
def mail_deps() -> tuple[DynamoLifecycle, MailSender, SnsEvents, MailConfig]:
    """The mail ports (the timer function sends the nudge and the rating question with the same)."""
    s = mail_settings()
    sender: MailSender = SesMailSender(s.configuration_set)
    if s.mail_outbox_dir:  # the local stack also keeps each mail as an .eml file
        sender = EmlCopySender(sender, Path(s.mail_outbox_dir))
    return DynamoLifecycle(s.table_name), sender, SnsEvents(s.topic_arn), mail_config(s)


@cache
def _responses() -> LambdaFirstResponses | None:
    """The timer function, told of first responses and of replies that now wait on the customer."""
    s = mail_settings()
    return LambdaFirstResponses(s.sla_function) if s.sla_function else None


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Send each approved reply; an unexpected error raises so Lambda retries (the claim makes that safe)."""
    outcomes = []
    for sns in sns_messages(event):
        msg = ReplyApprovedMessage.model_validate_json(sns["Message"])
        responses = _responses()
        outcome = send_approved_reply(
            msg, *mail_deps(), now=datetime.now(UTC), responses=responses, waits=responses
        )
        logger.info("approved reply handled", extra={"ticket_id": msg.ticket_id, "outcome": outcome.outcome})
        if outcome.outcome == "failed":
            metrics.add_metric(name="RepliesNotSent", unit="Count", value=1)
        outcomes.append(
            {"ticket_id": outcome.ticket_id, "outcome": outcome.outcome, "detail": outcome.detail}
        )
    return {"outcomes": outcomes}
