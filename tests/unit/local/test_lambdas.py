"""In-process Lambda invocations behave like the service: errors as payloads, nothing on stdout."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from local.lambdas import LocalLambdas
from pipeline.observability import metrics


@metrics.log_metrics
def _counting_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics.add_metric(name="Things", unit="Count", value=1)
    return {"ok": True}


def _failing_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from contract.errors import LlmThrottledError

    raise LlmThrottledError("slow down")


def test_many_invocations_with_metrics_disabled_print_nothing_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # Powertools prints its buffer once it holds 100 values, even when metrics are disabled.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    lambdas = LocalLambdas(registry={})
    lambdas.register("counter", _counting_handler)
    for _ in range(150):
        assert lambdas.invoke("counter", {}).function_error is None
    assert capsys.readouterr().out == ""


def test_an_exception_becomes_a_function_error_named_after_its_class():
    lambdas = LocalLambdas(registry={})
    lambdas.register("draft", _failing_handler)
    result = lambdas.invoke("arn:aws:lambda:us-east-1:123456789012:function:tms-draft", {})
    assert result.function_error == "Unhandled"
    body = json.loads(result.payload)
    assert body["errorType"] == "LlmThrottledError" and body["errorMessage"] == "slow down"
    # Counted per function and error type (the chaos report names them when a run fails).
    assert lambdas.errors == {"tms-draft": 1}
    assert lambdas.error_types == {"tms-draft": {"LlmThrottledError": 1}}


@metrics.log_metrics
def _handler_whose_metrics_another_invocation_dropped(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from local.lambdas import _end_invocation_metrics

    metrics.add_metric(name="Things", unit="Count", value=1)
    _end_invocation_metrics()  # what a concurrent invocation's end does to the shared metric set
    return {"ok": True}


def test_functions_running_at_once_print_no_empty_metrics_warning(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # pytest's own filters aside: what a `tms` process shows
        lambdas = LocalLambdas(registry={})  # the stack's runtime installs its filter when it starts
        lambdas.register("sla", _handler_whose_metrics_another_invocation_dropped)
        assert lambdas.invoke("sla", {}).function_error is None

    assert [str(w.message) for w in caught] == []
