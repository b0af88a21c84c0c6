"""Rating page Lambda (issue 32), behind API Gateway (a throttled stage): GET shows the form, POST records the
answer once. The local stack serves the same handler on 127.0.0.1 (local/csat_server.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.domain.csat import PAGE_HEADERS, TOKEN_MAX, Outcome, Verdict, form_page, result_page
from pipeline.handlers.sla_timer import csat_service
from pipeline.observability import logger, metrics

BODY_MAX = 8192  # a rating and a 1,000-character comment, form-encoded, fit many times over


def _response(status: int, page: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(PAGE_HEADERS), "body": page}


def _form(event: dict[str, Any]) -> dict[str, str]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    fields = parse_qs(body[:BODY_MAX], max_num_fields=8)
    return {k: v[0] for k, v in fields.items() if v}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy event (REST or HTTP API) in, an HTML page out."""
    method = str(event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method"))
    service = csat_service()
    if service is None:
        return _response(*result_page(Outcome(Verdict.FORGED)))
    now = datetime.now(UTC)
    query = event.get("queryStringParameters") or {}
    if method == "POST":
        form = _form(event)
        token = (form.get("t") or query.get("t") or "")[: TOKEN_MAX + 1]
        outcome = service.record(token, form.get("rating", ""), form.get("comment", ""), now)
        metrics.add_metric(name=f"CsatPost{outcome.verdict.title()}", unit="Count", value=1)
        logger.info("rating posted", extra={"ticket_id": outcome.ticket_id, "verdict": outcome.verdict})
        return _response(*result_page(outcome))
    if method != "GET":
        return {"statusCode": 405, "headers": {"Allow": "GET, POST"}, "body": ""}
    token = str(query.get("t") or "")[: TOKEN_MAX + 1]
    outcome = service.check(token, now)
    if outcome.verdict is Verdict.OK:
        return _response(200, form_page(token))
    return _response(*result_page(outcome))
