"""What a ticket consumes of each billed AWS unit: the arithmetic behind `TicketUsage` (issue 17).

Everything here is computed from what the functions really send and receive, the same way on both runtimes:
the Comprehend text the workflow sent, the model's own token counts (or, for a model that reports none, a
tokenizer-free estimate), the states of the path the execution took (read from the ASL file that deployed),
the configured memory times the measured duration of each function, and the sizes of the items, objects
and messages written. Prices live apart, as data (tools/prices.json).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from contract import names
from contract.models import TicketSubmitted, TicketUsage

# Amazon Comprehend bills its NLP and PII APIs in units of 100 characters with a 3-unit minimum per request
# (https://aws.amazon.com/comprehend/pricing/).
COMPREHEND_UNIT_CHARS = 100
COMPREHEND_MIN_UNITS = 3
# A tokenizer-free estimate for a model that reports no usage (the offline model, a fake): about four
# characters of English per token, the rule of thumb OpenAI and Anthropic publish for their tokenizers.
# It is an estimate, documented as such (README "Cost per ticket"); real models report their own counts.
CHARS_PER_TOKEN = 4
DYNAMODB_WRITE_UNIT_BYTES = 1024  # one on-demand write request unit per KB written (item size)
KINESIS_BILLING_KIB = 1024  # on-demand ingest: each record rounded up to 1 KiB
SNS_CHUNK_BYTES = 64 * 1024  # each 64 KB chunk of a published message is billed as one request
LAMBDA_BILLING_MS = 1  # Lambda bills duration rounded up to the millisecond


def comprehend_units(text: str) -> int:
    """Billed Comprehend units of one request on `text` (100 characters each, at least 3)."""
    return max(COMPREHEND_MIN_UNITS, math.ceil(len(text) / COMPREHEND_UNIT_CHARS))


def estimated_tokens(text: str) -> int:
    """Tokens of `text` estimated without a tokenizer (CHARS_PER_TOKEN characters each, at least 1)."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def write_units(size_bytes: int) -> int:
    """DynamoDB on-demand write request units of writing an item of `size_bytes`."""
    return max(1, math.ceil(size_bytes / DYNAMODB_WRITE_UNIT_BYTES))


def item_size(attributes: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it, closely enough for billing: attribute names plus values
    (strings as UTF-8, numbers ~ their digits)."""
    size = 0
    for name, value in attributes.items():
        size += len(name.encode("utf-8"))
        if isinstance(value, Mapping) and len(value) == 1:  # typed JSON {"S": ...} / {"N": ...}
            value = next(iter(value.values()))
        size += len(str(value).encode("utf-8"))
    return size


# What the workflow's claim writes besides the ticket's own fields (ClaimTicket in the ASL): the execution
# ARN and the time, at most this many bytes with their attribute names.
_CLAIM_OVERHEAD_BYTES = 200
# The link-incident step's vector: float16 components plus the window GSI's key attributes.
_VECTOR_KEYS_BYTES = 80


def claim_item_size(ticket: TicketSubmitted) -> int:
    """The ticket's item as the workflow's claim writes it (the ClaimTicket state's attributes)."""
    d = ticket.data
    return _CLAIM_OVERHEAD_BYTES + item_size(
        {
            "ticket_id": ticket.ticketId,
            "status": "PROCESSING",
            "submitted_at": ticket.submittedAt.isoformat(),
            "source": ticket.source.value,
            "subject": d.subject,
            "description": d.description,
            "product": d.product,
            "issue_type": d.issue_type,
            "customer_full_name": d.customer.full_name,
        }
    )


def vector_bytes(dimensions: int) -> int:
    """What the link-incident step adds to the item: the float16 vector and its index keys."""
    return dimensions * 2 + _VECTOR_KEYS_BYTES


def kinesis_put_kib(record_bytes: int) -> int:
    """KiB of Kinesis on-demand ingest billed for one record of `record_bytes`."""
    return max(1, math.ceil(record_bytes / KINESIS_BILLING_KIB))


def sns_requests(message_bytes: int) -> int:
    """Billed SNS publish requests for one message of `message_bytes`."""
    return max(1, math.ceil(message_bytes / SNS_CHUNK_BYTES))


@cache
def _definition(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def path_taken(choices: Mapping[str, str] | None = None, *, asl_path: Path = names.ASL_PATH) -> list[str]:
    """The states an execution enters on its way to the end, following `Next`, `Default` for a Choice, and
    `choices` (state name -> the state it went to instead: a Choice's branch, a Catch target)."""
    states = _definition(asl_path)["States"]
    taken: list[str] = []
    name: str | None = _definition(asl_path)["StartAt"]
    while name is not None:
        if name in taken:  # pragma: no cover - the workflow has no loops; never count one forever
            raise ValueError(f"the path loops at {name}")
        taken.append(name)
        state = states[name]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        name = (choices or {}).get(name) or state.get("Next") or state.get("Default")
    return taken


def triage_transitions(*, pii_detected: bool, incident_failed: bool = False) -> int:
    """State transitions of a triaged ticket: what a Standard workflow bills (an Express one bills duration).
    One per state entered; retries add one each and are not counted here: they are rare and the ASL bounds
    them."""
    choices = {"PiiRedactionEnabled": "DetectPii" if pii_detected else "NoPiiDetection"}
    if incident_failed:
        choices["LinkIncident"] = "NoIncident"
    return len(path_taken(choices))


class Stopwatch:
    """A function invocation's billed Lambda usage: configured memory x the measured duration."""

    def __init__(self, function: str, context: Any = None):
        self._started = time.monotonic()
        configured = names.FUNCTION_MEMORY_MB.get(function, names.DEFAULT_FUNCTION_MEMORY_MB)
        # Lambda's context says what the function really has; the local context is built from the same table.
        self.memory_mb = int(getattr(context, "memory_limit_in_mb", 0) or configured)

    def usage(self) -> TicketUsage:
        """One request and its GB-seconds so far (duration rounded up to the billed millisecond)."""
        billed_ms = (
            math.ceil((time.monotonic() - self._started) * 1000 / LAMBDA_BILLING_MS) * LAMBDA_BILLING_MS
        )
        return TicketUsage(
            lambda_requests=1, lambda_gb_seconds=round(self.memory_mb / 1024 * billed_ms / 1000, 9)
        )


# The trigger keeps each ticket's execution input under inputs/ before it starts the workflow (one PUT).
INPUT_OBJECTS = 1

# Titan Text Embeddings V2 at 512 dimensions, as deployed: the vector the link-incident step adds to the item.
DEPLOYED_VECTOR_DIMENSIONS = 512


def workflow_usage(
    ticket: TicketSubmitted,
    steps: TicketUsage,
    *,
    pii_detected: bool,
    incident_failed: bool,
    update_bytes: int,
    message_bytes: int,
    archive_objects: int,
) -> TicketUsage:
    """A triaged ticket's whole usage: what its functions reported (`steps`: tokens, GB-seconds, the vector
    write) plus what follows from the path it took and the sizes it wrote.

    Counted here: the Comprehend call on the text the workflow sent (pii_text(): subject and the whole
    description; sentiment is computed at intake without one); the states entered; the Kinesis record;
    the claim put and the triage update of the item (an update bills the item's whole size); the S3 PUTs:
    the execution input the trigger keeps under inputs/ (what `tms retry` re-runs), the archive objects and
    the one lifecycle record the triage update produces (the lifecycle feed skips the claim and the vector
    write: the item is still PROCESSING), each object the warehouse loads with its manifest marker; the SNS
    message; the invocations of the trigger, the SLA timer, the notifier and the lifecycle function (one per
    item change the table's stream delivers: an upper bound, the stream mapping batches them; their
    GB-seconds are not measured per ticket: batch- or message-sized and small, README "Cost per ticket").
    """
    text = ticket.data.pii_text()  # what DetectPii is sent (the ASL's States.Format builds the same string)
    item_changes = 2 if incident_failed else 3  # claim, (vector), triage update: each a stream record
    lifecycle_records = (
        1  # only the triage update changes a lifecycle column (pipeline/domain/lifecycle_feed.py)
    )
    claimed = claim_item_size(ticket)
    after = claimed + update_bytes + (0 if incident_failed else vector_bytes(DEPLOYED_VECTOR_DIMENSIONS))
    return steps.plus(
        TicketUsage(
            comprehend_sentiment_units=0,  # sentiment is computed at intake, no Comprehend call (issue 28.3)
            comprehend_pii_units=comprehend_units(text) if pii_detected else 0,
            state_transitions=triage_transitions(pii_detected=pii_detected, incident_failed=incident_failed),
            lambda_requests=3 + item_changes,
            kinesis_put_kib=kinesis_put_kib(len(ticket.to_record_bytes())),
            dynamodb_write_units=write_units(claimed) + write_units(after),
            # The manifest marker after the ticket's archive object and after its lifecycle record
            # (contract/manifests.py); the PII original under originals/ and the input under inputs/ get none.
            s3_put_requests=INPUT_OBJECTS + archive_objects + 1 + 2 * lifecycle_records,
            sns_publishes=sns_requests(message_bytes),
        )
    )
