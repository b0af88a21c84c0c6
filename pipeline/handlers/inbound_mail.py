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
from pipeline.adapters.mail import DynamoLifecycle, KinesisIntake, S3RawMail, SnsEvents
from pipeline.domain.mailflow import MailConfig, Verdicts, receive_mail
from pipeline.handlers.mailer import mail_config
from pipeline.observability import logger
from pipeline.settings import mail_settings


@cache
def _deps() -> tuple[S3RawMail, DynamoLifecycle, KinesisIntake, SnsEvents, MailConfig]:
    s = mail_settings()
    return (
        S3RawMail(s.bucket_name),
        DynamoLifecycle(s.table_name),
        KinesisIntake(s.stream_name),
        SnsEvents(s.topic_arn),
        mail_config(s),
    )


def _verdict(receipt: dict[str, Any], name: str) -> str:
    return str((receipt.get(name) or {}).get("status", "PASS"))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One SES receipt event (Records[].ses.mail/receipt) per stored message."""
    raw_store, store, intake, events, config = _deps()
    results = []
    for record in event.get("Records", []):
        ses = record["ses"]
        receipt = ses.get("receipt", {})
        key = names.INBOUND_MAIL_PREFIX + ses["mail"]["messageId"]
        verdicts = Verdicts(
            _verdict(receipt, "spfVerdict"),
            _verdict(receipt, "dkimVerdict"),
            _verdict(receipt, "spamVerdict"),
            _verdict(receipt, "virusVerdict"),
        )
        out = receive_mail(raw_store.get(key), verdicts, store, intake, events, config, datetime.now(UTC))
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
