"""Inbound mail Lambda: the SES receipt rule stored the raw message in S3 and invokes this with its verdicts.

The same function runs locally: `tms mail receive FILE.eml` puts the file in the bucket and invokes it with
an event of the same shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contract import names
from pipeline.adapters.limits import DynamoRateLimiter, SnsLimitAlerts
from pipeline.adapters.mail import (
    DynamoLifecycle,
    KinesisIntake,
    S3HeldMail,
    S3RawMail,
    SnsEvents,
)
from pipeline.domain.mail_trust import MISSING, Verdicts
from pipeline.domain.mailflow import Envelope, InboundPorts, MailConfig, receive_mail
from pipeline.handlers.mailer import mail_config
from pipeline.observability import logger
from pipeline.settings import mail_settings


@cache
def _deps() -> tuple[S3RawMail, DynamoLifecycle, KinesisIntake, SnsEvents, MailConfig, InboundPorts]:
    s = mail_settings()
    ports = InboundPorts(
        limiter=DynamoRateLimiter(s.table_name),
        held=S3HeldMail(s.bucket_name),
        alerts=SnsLimitAlerts(s.alarms_topic_arn) if s.alarms_topic_arn else None,
    )
    return (
        S3RawMail(s.bucket_name),
        DynamoLifecycle(s.table_name),
        KinesisIntake(s.stream_name),
        SnsEvents(s.topic_arn),
        mail_config(s),
        ports,
    )


def _verdict(receipt: dict[str, Any], name: str) -> str:
    """A verdict's status; MISSING when the event does not carry it (never read as a pass)."""
    return str((receipt.get(name) or {}).get("status") or MISSING).upper()


def verdicts_of(receipt: dict[str, Any]) -> Verdicts:
    """The receipt's verdicts and the sender domain's DMARC policy."""
    return Verdicts(
        spf=_verdict(receipt, "spfVerdict"),
        dkim=_verdict(receipt, "dkimVerdict"),
        spam=_verdict(receipt, "spamVerdict"),
        virus=_verdict(receipt, "virusVerdict"),
        dmarc=_verdict(receipt, "dmarcVerdict"),
        dmarc_policy=str(receipt.get("dmarcPolicy") or MISSING).lower(),
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One SES receipt event (Records[].ses.mail/receipt) per stored message."""
    raw_store, store, intake, events, config, ports = _deps()
    results = []
    for record in event.get("Records", []):
        ses = record["ses"]
        receipt = ses.get("receipt", {})
        key = names.INBOUND_MAIL_PREFIX + ses["mail"]["messageId"]
        envelope = Envelope(
            recipients=tuple(str(r).lower() for r in receipt.get("recipients") or ()),
            mail_from=str(ses["mail"].get("source") or ""),
            raw_key=key,
        )
        out = receive_mail(
            raw_store.get(key),
            verdicts_of(receipt),
            store,
            intake,
            events,
            config,
            datetime.now(UTC),
            envelope,
            ports,
        )
        logger.info("inbound mail handled", extra={"ticket_id": out.ticket_id, "outcome": out.outcome})
        results.append(
            {
                "key": key,
                "outcome": out.outcome,
                "ticket_id": out.ticket_id,
                "detail": out.detail,
                "new_ticket_id": out.new_ticket_id,
                "status": out.status,
            }
        )
    return {"results": results}
