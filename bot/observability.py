"""Logger, tracer and metrics for the Slack bot and the notifier (one set per component)."""

from __future__ import annotations

import logging
import sys

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "tms-bot"
NAMESPACE = "tms"

# stderr: on Lambda it reaches CloudWatch Logs all the same, and locally `tms bot` keeps stdout for its banner.
logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
