"""The logger and metrics of one tms Lambda component: bot/observability.py and pipeline/observability.py each
make their set here, under their own service name.

Tracing: no in-process tracer. Lambda active tracing (CDK: Tracing.ACTIVE) still records every invocation
with its Initialization, Invocation and Overhead segments, and every log line carries the invocation's
`xray_trace_id` (Powertools Logger reads _X_AMZN_TRACE_ID), so logs and traces stay joined. Powertools'
Tracer would import the AWS X-Ray SDK (~0.25 s of every cold start here, in maintenance mode since
2026-02-25, end of support 2027-02-25; AWS points to OpenTelemetry/ADOT instead, and Powertools' OTel
tracer is still an RFC): see README "Cold start". Per-call subsegments, if ever needed, come from the
ADOT Lambda layer, added in CDK, not from an import on the hot path.
"""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "tms"


def component_observability(service: str) -> tuple[Logger, Metrics]:
    """The component's Powertools logger and metrics, both named for service."""
    # stderr: on Lambda it reaches CloudWatch Logs all the same, and locally stdout stays free for the
    # commands' own output (`tms bot`'s banner, --json output).
    logger = Logger(service=service, logger_handler=logging.StreamHandler(sys.stderr))
    return logger, Metrics(namespace=NAMESPACE, service=service)
