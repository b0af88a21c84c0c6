"""Mail adapters: SES v2 sending, the local .eml copy, lifecycle writes on the tickets table, SNS events,
the Kinesis intake and the S3 inbound store.

Clients come from pipeline.adapters.aws.client (endpoint from AWS_ENDPOINT_URL: that is all that makes them
local). ClientError codes become our errors here, never in the domain.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from contract import names
from contract.clients import dynamodb_serializer
from contract.models import TicketMailMessage, TicketSubmitted, format_utc
from pipeline.adapters.aws import client, from_item
from pipeline.domain.lifecycle import StatusChange
from pipeline.domain.mail import MESSAGE_ID_TICKET_RE
from pipeline.domain.mailflow import MailRejectedError, TransitionRefusedError

# SES v2 error codes that mean "this mail will not go": shown to the agent, who can fix and retry.
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors
REJECTIONS = {
    "MessageRejected": "SES rejected the message",
    "MailFromDomainNotVerifiedException": "the sender's MAIL FROM domain is not verified",
    "AccountSuspendedException": "the SES account is suspended",
    "SendingPausedException": "sending is paused for this account or configuration set",
    "NotFoundException": "the configuration set does not exist",
    "BadRequestException": "SES refused the request",
    "TooManyRequestsException": "SES throttled the send (after retries)",
    "LimitExceededException": "the SES sending quota is exhausted",
    "Throttling": "SES throttled the send (after retries)",
}


def _av(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        value = format_utc(value)
    elif isinstance(value, float):  # the serializer refuses floats (acceptance's edit distance)
        value = Decimal(str(value))
    return dict(dynamodb_serializer().serialize(value))


class DynamoLifecycle:
    """Lifecycle steps as conditional UpdateItems on the tickets table (the same item layout as the bot)."""

    def __init__(self, table_name: str, dynamodb: Any = None):
        self._table = table_name
        self._ddb = dynamodb or client("dynamodb")

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item (strongly consistent), or None."""
        item = self._ddb.get_item(
            TableName=self._table, Key={"ticket_id": {"S": ticket_id}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def apply(self, change: StatusChange) -> dict[str, Any]:
        """Status (when the step sets one), fields, counters and list appends, version + 1 and a history
        entry, all in one write conditioned on the allowed statuses and any expected values."""
        names_: dict[str, str] = {"#k": "ticket_id", "#status": "status", "#h": "history"}
        entry = change.history_entry()
        values: dict[str, Any] = {
            ":empty": {"L": []},
            ":entry": {"L": [_av(entry)]},
            ":by": _av(change.actor),
            ":at": _av(entry["at"]),
            ":what": _av(str(change.step)),
        }
        if change.counts_version or change.increment:
            values |= {":zero": _av(0), ":one": _av(1)}
        sets = [
            "#h = list_append(if_not_exists(#h, :empty), :entry)",
            "updated_by = :by",
            "updated_at = :at",
            "last_action = :what",
        ]
        if change.counts_version:
            names_["#v"] = "version"
            sets.insert(0, "#v = if_not_exists(#v, :zero) + :one")
        if change.rule.to is not None:
            values[":to"] = _av(str(change.rule.to))
            sets.append("#status = :to")
        for i, (name, value) in enumerate(change.set_fields.items()):
            names_[f"#f{i}"] = name
            values[f":f{i}"] = _av(value)
            sets.append(f"#f{i} = :f{i}")
        for i, (name, value) in enumerate(change.append.items()):
            names_[f"#a{i}"] = name
            values[f":a{i}"] = {"L": [_av(value)]}
            sets.append(f"#a{i} = list_append(if_not_exists(#a{i}, :empty), :a{i})")
        for i, (name, value) in enumerate(change.set_if_absent.items()):
            names_[f"#n{i}"] = name
            values[f":n{i}"] = _av(value)
            sets.append(f"#n{i} = if_not_exists(#n{i}, :n{i})")
        if change.increment:
            names_["#inc"] = change.increment
            sets.append("#inc = if_not_exists(#inc, :zero) + :one")
        allowed = sorted(str(s) for s in change.rule.allowed_from)
        for i, status in enumerate(allowed):
            values[f":s{i}"] = _av(status)
        condition = (
            f"attribute_exists(#k) AND #status IN ({', '.join(f':s{i}' for i in range(len(allowed)))})"
        )
        for i, (name, value) in enumerate(change.expect.items()):
            names_[f"#e{i}"] = name
            values[f":e{i}"] = _av(value)
            condition += f" AND #e{i} = :e{i}"
        for i, name in enumerate(change.expect_absent):
            names_[f"#x{i}"] = name
            condition += f" AND attribute_not_exists(#x{i})"
        try:
            resp = self._ddb.update_item(
                TableName=self._table,
                Key={"ticket_id": {"S": change.ticket_id}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names_,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old: Any = e.response.get("Item")
                raise TransitionRefusedError(
                    change.ticket_id, str(change.step), from_item(old) if old else self.get(change.ticket_id)
                ) from e
            raise
        return from_item(resp["Attributes"])


class SesMailSender:
    """SES v2 SendEmail with raw content, through the configuration set (delivery events) and tagged with
    the ticket id (so SES events name their ticket)."""

    def __init__(self, configuration_set: str, sesv2: Any = None):
        self._config_set = configuration_set
        self._ses = sesv2 or client("sesv2")

    def send(self, raw: bytes, *, to: str, from_address: str, ticket_id: str) -> str:
        """The SES message id, or MailRejectedError with a reason for the agent."""
        kwargs: dict[str, Any] = {
            "FromEmailAddress": from_address,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": "ticket_id", "Value": ticket_id}],
        }
        if self._config_set:
            kwargs["ConfigurationSetName"] = self._config_set
        try:
            return str(self._ses.send_email(**kwargs)["MessageId"])
        except ClientError as e:
            err = e.response.get("Error", {})
            code = str(err.get("Code", ""))
            what = REJECTIONS.get(code, f"SES error {code}")
            raise MailRejectedError(f"{what}: {err.get('Message', '')}".strip(": "), code) from e
        except BotoCoreError as e:
            raise MailRejectedError(f"SES could not be reached: {e}", "Unreachable") from e


def eml_name(ticket_id: str, sequence_hint: str) -> str:
    """`<ticket id>-<n>.eml`: the ticket id is in the name, so `ls outbox | grep TKT-...` finds its mails."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sequence_hint)
    return f"{ticket_id}-{safe}.eml"


class EmlCopySender:
    """Sends through `inner`, then keeps the exact bytes as an .eml file (local runtime: open it in any
    mail client). A rejected send writes nothing."""

    def __init__(self, inner: Any, outbox_dir: Path):
        self._inner = inner
        self._dir = outbox_dir

    def send(self, raw: bytes, *, to: str, from_address: str, ticket_id: str) -> str:
        """Send, then write `<ticket id>-<mail sequence>.eml`."""
        ses_id = str(self._inner.send(raw, to=to, from_address=from_address, ticket_id=ticket_id))
        self._dir.mkdir(parents=True, exist_ok=True)
        m = MESSAGE_ID_TICKET_RE.search(raw[:8192].decode("utf-8", errors="replace"))
        path = self._dir / eml_name(ticket_id, m.group(2) if m else ses_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
        return ses_id


class SnsEvents:
    """Publishes mail events on the tickets topic with the attributes subscriptions filter on."""

    def __init__(self, topic_arn: str, sns: Any = None):
        self._topic = topic_arn
        self._sns = sns or client("sns")

    def publish(self, message: TicketMailMessage) -> None:
        """One SNS message per event."""
        self._sns.publish(
            TopicArn=self._topic,
            Message=message.model_dump_json(),
            MessageAttributes={
                names.ATTR_EVENT_TYPE: {"DataType": "String", "StringValue": names.EVENT_TICKET_MAIL},
                names.ATTR_TICKET_ID: {"DataType": "String", "StringValue": message.ticket_id},
            },
        )


class KinesisIntake:
    """Writes a new ticket event to the tickets stream (mail that starts a ticket)."""

    def __init__(self, stream_name: str, kinesis: Any = None):
        self._stream = stream_name
        self._kinesis = kinesis or client("kinesis")

    def put(self, event: TicketSubmitted) -> None:
        """One record, partitioned by ticket id."""
        self._kinesis.put_record(
            StreamName=self._stream, Data=event.to_record_bytes(), PartitionKey=event.ticketId
        )


class S3RawMail:
    """The raw MIME the SES receipt rule's S3 action stored."""

    def __init__(self, bucket: str, s3: Any = None):
        self._bucket = bucket
        self._s3 = s3 or client("s3")

    def get(self, key: str) -> bytes:
        """The object's bytes."""
        return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

    def put(self, key: str, raw: bytes) -> None:
        """Store a raw message (what SES's S3 action does; `tms mail receive` does it locally)."""
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=raw)


class S3HeldMail:
    """Held mail (over a limit, or not proven anyone's): one JSON record under inbound-mail/held/<day>/, next
    to the raw message it names. (No listing command yet: `aws s3 ls`.)"""

    def __init__(self, bucket: str, s3: Any = None):
        self._bucket = bucket
        self._s3 = s3 or client("s3")

    def hold(self, record: dict[str, Any]) -> str:
        """Store the record (a redelivered mail overwrites its own); its s3:// address."""
        ident = str(record.get("message_id") or record.get("raw_key") or json.dumps(record, sort_keys=True))
        key = f"{names.INBOUND_HELD_PREFIX}{str(record['at'])[:10]}/{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json"
        )
        return f"s3://{self._bucket}/{key}"


class ReplyKeys(Protocol):
    """Port: the key that signs reply addresses."""

    def key(self) -> bytes:
        """The key's bytes (empty: no signed addresses)."""


class SecretsManagerReplyKey:
    """The key from a Secrets Manager secret's string (Powertools' provider, cached for five minutes)."""

    def __init__(self, secret_arn: str, secretsmanager: Any = None):
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        self._arn = secret_arn
        self._provider = SecretsProvider(boto3_client=secretsmanager or client("secretsmanager"))

    def key(self) -> bytes:
        """The secret string, UTF-8."""
        return str(self._provider.get(self._arn, max_age=300)).encode()


def reply_key(secret_arn: str, value: Any = None, keys: ReplyKeys | None = None) -> bytes:
    """The reply-address key: from `keys`, else the secret (AWS), else the plain value (local), else empty."""
    if keys is None and secret_arn:
        keys = SecretsManagerReplyKey(secret_arn)
    if keys is not None:
        return keys.key()
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else (value or "")
    return str(plain).encode()
