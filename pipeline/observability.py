"""Logger, tracer and metrics for the pipeline's Lambdas (one set per component)."""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "tms-pipeline"
NAMESPACE = "tms"

# stderr: on Lambda it reaches CloudWatch Logs all the same, and locally it keeps stdout clean for --json output.
logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
