"""Logger and metrics for the Slack bot and the notifier (one set per component; why there is no tracer:
contract/observability.py)."""

from __future__ import annotations

from contract.observability import component_observability

SERVICE = "tms-bot"

logger, metrics = component_observability(SERVICE)
