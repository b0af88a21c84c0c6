"""Logger and metrics for the pipeline's Lambdas (one set per component; why there is no tracer:
contract/observability.py)."""

from __future__ import annotations

from contract.observability import component_observability

SERVICE = "tms-pipeline"

logger, metrics = component_observability(SERVICE)
