"""The fault plan of a chaos run: the default mix, the injected notifier crash, and the alarms the faults
that fired must raise. The faults themselves fire in the adapters (local.faults), by configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contract import names
from contract.errors import TmsError

# The fault mix. llm_invalid_output is added so some tickets end FAILED with a reason and the
# reconciliation of failed tickets is exercised on every run, not only when retries happen to run out.
DEFAULT_FAULTS: dict[str, float] = {
    "llm_throttle": 0.30,
    # The workflow's one Comprehend call (sentiment is computed at intake since issue 28.3).
    "pii_error": 0.05,
    "dynamodb_throttle": 0.02,
    "s3_error": 0.05,
    "slack_429": 0.05,
    "notifier_crash": 0.02,
    "llm_invalid_output": 0.005,
}


class NotifierCrashError(TmsError):
    """Injected: the notifier died after its side effects, before its invocation was acknowledged."""


def crash_after(
    handler: Callable[[Any, Any], Any], should_fail: Callable[[str], bool]
) -> Callable[[Any, Any], Any]:
    """The handler, dying after its side effects when `notifier_crash` fires: the worst moment, since the
    redelivery must then do nothing twice."""

    def crashing(event: Any, context: Any) -> Any:
        result = handler(event, context)
        if should_fail("notifier_crash"):
            raise NotifierCrashError("injected fault notifier_crash: died after its side effects")
        return result

    return crashing


def expected_alarms(
    faults_fired: Mapping[str, int], poison_submitted: int, failed_tickets: int, project: str = names.PROJECT
) -> list[str]:
    """The alarms this run's events must have fired."""
    out = []
    if poison_submitted:
        out.append(f"{project}-DlqNotEmpty")
    if failed_tickets:
        out.append(f"{project}-ExecutionsFailed")
    for fault, alarm in (
        ("llm_throttle", "DraftReplyErrors"),
        ("llm_unavailable", "DraftReplyErrors"),
        ("s3_error", "ArchiveErrors"),
        ("notifier_crash", "NotifierErrors"),
    ):
        if faults_fired.get(fault) and f"{project}-{alarm}" not in out:
            out.append(f"{project}-{alarm}")
    return out
