"""`tms mail receive FILE.eml` (a customer's answer, through the same path as SES receipt) and
`tms ticket show TICKET_ID` (one ticket: status, history, mail ids)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from contract import names

RECEIVE_OUTCOMES = """outcomes (exit 1 for refused and malformed):
  appended           the customer's mail, recorded on its ticket (the status moves only once our reply is out)
  reopened           the customer's mail reopened a resolved ticket
  new_ticket         no ticket named (or resolved too long ago): a new ticket through the intake
  unverified         about a ticket but not proven the customer's (From is not the customer or a contact,
                     or the sender is not authenticated): posted marked, owner pinged, nothing moves
  rate_limited       over the new-ticket limit; a verified sender's mail joined their latest open ticket
  held               over the limit and not verified: kept under inbound-mail/held/, on no ticket
  duplicate          this Message-ID was already taken in
  ignored_automated  an auto-reply, a bounce, or our own mail
  refused            a spam or virus verdict FAIL
  malformed          unreadable or hostile (no From, nothing decodable, huge headers, deep nesting)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `mail` and `ticket` to the tms command."""
    mail = subparsers.add_parser(
        "mail", help="customer mail: feed a received message through the inbound path"
    )
    mail_sub = mail.add_subparsers(dest="mail_command", required=True, metavar="SUBCOMMAND")
    receive = mail_sub.add_parser(
        "receive",
        help="take one raw RFC 5322 message (.eml) in as SES receipt would",
        description="Puts the raw message in the bucket (as the SES receipt rule's S3 action does) and\n"
        "invokes the inbound-mail function with an SES receipt event: verdicts PASS unless told, the\n"
        "envelope sender the file's Return-Path (else its From), the recipients its To and Cc.",
        epilog=RECEIVE_OUTCOMES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    receive.add_argument("file", type=Path, help="the .eml file")
    receive.add_argument(
        "--verdict",
        action="append",
        default=[],
        metavar="NAME=STATUS",
        help="an SES verdict other than PASS, e.g. --verdict dmarc=FAIL (spf, dkim, spam, virus, dmarc: "
        "PASS, FAIL, GRAY, PROCESSING_FAILED, or MISSING to leave it out of the event; dmarc_policy: none, "
        "quarantine, reject)",
    )
    receive.add_argument("--json", action="store_true", help="print one JSON object")
    receive.set_defaults(func=_receive)

    ticket = subparsers.add_parser("ticket", help="look at one ticket")
    ticket_sub = ticket.add_subparsers(dest="ticket_command", required=True, metavar="SUBCOMMAND")
    show = ticket_sub.add_parser("show", help="status, history and mail ids of one ticket")
    show.add_argument("ticket_id", metavar="TICKET_ID")
    show.add_argument("--json", action="store_true", help="print the item as one JSON object")
    show.set_defaults(func=_show)
    contact = ticket_sub.add_parser(
        "contact",
        help="let another address speak for the ticket's customer (its mail must still authenticate)",
    )
    contact.add_argument("ticket_id", metavar="TICKET_ID")
    contact.add_argument("address", metavar="ADDRESS")
    contact.add_argument("--by", default="tms-cli", help="who adds it (recorded in the history)")
    contact.set_defaults(func=_contact)


VERDICTS = ("spf", "dkim", "spam", "virus", "dmarc")
MISSING_VERDICT = "MISSING"


def ses_receipt_event(message_id: str, raw: bytes, verdicts: dict[str, str], bucket: str) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action sends (after its S3 action stored the message)."""
    from email.parser import BytesHeaderParser
    from email.utils import getaddresses

    headers = BytesHeaderParser().parsebytes(raw)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    recipients = [
        a for _, a in getaddresses([str(v) for h in ("To", "Cc") for v in headers.get_all(h) or []]) if a
    ]
    senders = getaddresses([str(headers.get("Return-Path") or headers.get("From") or "")])
    receipt: dict[str, Any] = {"timestamp": now, "recipients": recipients}
    for name in VERDICTS:
        status = verdicts.get(name, "PASS").upper()
        if status != MISSING_VERDICT:
            receipt[f"{name}Verdict"] = {"status": status}
    if "dmarcVerdict" in receipt:
        receipt["dmarcPolicy"] = verdicts.get("dmarc_policy", "none").lower()
    receipt["action"] = {
        "type": "S3",
        "bucketName": bucket,
        "objectKey": names.INBOUND_MAIL_PREFIX + message_id,
    }
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now,
                        "source": senders[0][1] if senders else "",
                        "messageId": message_id,
                        "destination": recipients,
                        "commonHeaders": {
                            "from": [str(headers.get("From", ""))],
                            "subject": str(headers.get("Subject", "")),
                        },
                    },
                    "receipt": receipt,
                },
            }
        ]
    }


class InboundMailFailed(Exception):
    """The inbound-mail function raised on a received message (its error payload is the message)."""


def receive(info: Any, raw: bytes, verdicts: dict[str, str] | None = None) -> dict[str, Any]:
    """Deliver one raw message to a local stack as SES would: stored under `inbound/` by the receipt rule's
    S3 action, then the inbound-mail function invoked with the receipt event; its result for the message."""
    from contract.clients import aws_client
    from local.iam_record import SES_SERVICE, acting_as

    message_id = f"local-{uuid.uuid4().hex}"
    # What SES's receipt rule does on AWS, under SES's own principal (the bucket, key and function policies).
    with acting_as(SES_SERVICE):
        aws_client("s3", info, profile="cli").put_object(
            Bucket=info.bucket_name, Key=names.INBOUND_MAIL_PREFIX + message_id, Body=raw
        )
        event = ses_receipt_event(message_id, raw, verdicts or {}, info.bucket_name)
        resp = aws_client("lambda", info, profile="cli").invoke(
            FunctionName=f"{names.PROJECT}-{names.FN_INBOUND_MAIL}", Payload=json.dumps(event).encode()
        )
    payload = json.loads(resp["Payload"].read() or b"null")
    if resp.get("FunctionError"):
        raise InboundMailFailed(str(payload))
    (result,) = payload["results"]
    return dict(result)


def _receive(args: argparse.Namespace) -> int:
    from contract.errors import ConfigurationError
    from local.stack import resolve

    verdicts: dict[str, str] = {}
    for v in args.verdict:
        name, _, status = v.partition("=")
        if name.lower() not in (*VERDICTS, "dmarc_policy") or not status:
            raise ConfigurationError(
                f"--verdict {v!r}: expected spf|dkim|spam|virus|dmarc|dmarc_policy=STATUS"
            )
        verdicts[name.lower()] = status
    try:
        raw = args.file.read_bytes()
    except OSError as e:
        raise ConfigurationError(f"cannot read {args.file}: {e.strerror}") from e
    try:
        result = receive(resolve(), raw, verdicts)
    except InboundMailFailed as e:
        print(f"inbound-mail failed: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        target = result["new_ticket_id"] or result["ticket_id"] or "-"
        detail = f" ({result['detail']})" if result["detail"] else ""
        status = f", status {result['status']}" if result["status"] else ""
        print(f"{result['outcome']}: {target}{status}{detail}")
    return 1 if result["outcome"] in ("refused", "malformed") else 0


def with_outcome(item: dict[str, Any]) -> dict[str, Any]:
    """The item plus how it ended (issue 32): `close_reason` (no_answer: auto-closed; resolved: by an agent;
    None while open) and `csat` (the rating, its redacted comment and when; None before an answer)."""
    reason = item.get("close_reason") or ("resolved" if item.get("status") == "RESOLVED" else None)
    rating = item.get("csat_rating")
    csat = (
        {"rating": rating, "comment": item.get("csat_comment") or "", "at": item.get("csat_at")}
        if rating
        else None
    )
    return item | {"close_reason": reason, "csat": csat}


def item_json(item: dict[str, Any]) -> str:
    """A stored ticket as JSON: DynamoDB's numbers (Decimal) as JSON numbers, so a script reads
    `retrieval_confidence`, the sentiment scores and the usage counts as numbers; sets as sorted lists."""
    from decimal import Decimal

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, set):
            return sorted(plain(v) for v in value)
        return str(value)

    return json.dumps(item, default=plain, sort_keys=True)


def _show(args: argparse.Namespace) -> int:
    from contract.clients import aws_client
    from local.stack import resolve
    from pipeline.adapters.aws import DynamoTickets

    info = resolve()
    item = DynamoTickets(info.table_name, aws_client("dynamodb", info, profile="cli")).get(args.ticket_id)
    if item is None:
        print(f"no ticket {args.ticket_id}", file=sys.stderr)
        return 1
    item.pop("embedding", None)  # the incident vector (float16 bytes): nothing a person reads
    item.setdefault("assignee", None)  # always there: null while nobody owns the ticket (issue 32)
    item = with_outcome(item)
    # The knowledge-base sources are stored as a JSON array (one warehouse column): shown as the list.
    item["sources"] = json.loads(item["sources"]) if item.get("sources") else []
    if args.json:
        print(item_json(item))
        return 0
    print(
        f"{item['ticket_id']}  {item.get('status', '?')}  {item.get('priority', '')}  {item.get('subject', '')}"
    )
    print(f"customer: {item.get('customer_full_name', '')} <{item.get('customer_email', '')}>")
    notes = [f"assigned by {item['assigned_by']}"] if item["assignee"] and item.get("assigned_by") else []
    notes += [f"reassigned from {item['reassigned_from']}"] if item.get("reassigned_from") else []
    print(f"assignee: {item['assignee'] or 'nobody'}" + (f" ({', '.join(notes)})" if notes else ""))
    for key in (
        "approved_by",
        "sent_at",
        "ses_message_id",
        "send_error",
        "customer_replied_at",
        "resolved_at",
        "nudged_at",
        "closed_at",
        "close_reason",
    ):
        if item.get(key):
            print(f"{key}: {item[key]}")
    if item["csat"]:
        print(f"csat: {item['csat']['rating']} {item['csat']['comment']}".rstrip())
    if "retrieval_confidence" in item:
        print(f"retrieval confidence: {float(item['retrieval_confidence']):.2f}")
    for src in item["sources"]:
        print(f"source: {src['title']}  {src['uri']}  ({float(src['score']):.2f})")
    print("history:")
    for h in item.get("history") or []:
        extra = " ".join(f"{k}={v}" for k, v in h.items() if k not in ("at", "action", "actor"))
        print(f"  {h.get('at')}  {h.get('action'):<17} {h.get('actor')}  {extra}".rstrip())
    if item.get("mail_ids"):
        print("mail:")
        for m in item["mail_ids"]:
            print(f"  {m}")
    return 0


def _contact(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pipeline.adapters.clients import aws_client
    from pipeline.local.stack import resolve

    from pipeline.adapters.mail import DynamoLifecycle
    from pipeline.domain.mailflow import add_contact

    info = resolve()
    store = DynamoLifecycle(info.table_name, aws_client("dynamodb", info, profile="cli"))
    try:
        added = add_contact(store, args.ticket_id, args.address, args.by, datetime.now(UTC))
    except ValueError as e:
        print(f"tms: error: {e}", file=sys.stderr)
        return 1
    print(f"{args.address.strip().lower()} {'added to' if added else 'already speaks for'} {args.ticket_id}")
    return 0
