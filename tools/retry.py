"""`tms retry`: FAILED tickets run through the workflow again with their original input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from local.stack import StackInfo
from pipeline.domain.retry import RetryResult


def retry_failed(
    info: StackInfo, ticket_ids: Sequence[str] = (), *, all_failed: bool = False, now: datetime | None = None
) -> list[RetryResult]:
    """Retry the named tickets (each once, in order), or every FAILED one with `all_failed`."""
    from contract.clients import aws_client
    from pipeline.adapters.aws import DynamoTickets, S3ExecutionInputs, StepFunctionsStarter
    from pipeline.domain.retry import retry_ticket

    tickets = DynamoTickets(info.table_name, aws_client("dynamodb", info, profile="cli"))
    inputs = S3ExecutionInputs(info.bucket_name, aws_client("s3", info, profile="cli"))
    executions = StepFunctionsStarter(
        info.state_machine_arn, aws_client("stepfunctions", info, profile="cli")
    )
    ids = tickets.ids_with_status("FAILED") if all_failed else list(dict.fromkeys(ticket_ids))
    when = now or datetime.now(UTC)
    return [retry_ticket(tid, tickets, inputs, executions, when) for tid in ids]


def retry_report(results: Sequence[RetryResult]) -> dict[str, Any]:
    """The JSON object `tms retry --json` prints."""
    return {
        "requested": len(results),
        "started": sum(1 for r in results if r.started),
        "results": [
            {
                "ticket_id": r.ticket_id,
                "outcome": r.outcome.value,
                "detail": r.detail,
                "execution": r.execution_name,
            }
            for r in results
        ],
    }
