"""Runs our Lambda handlers in-process with Lambda-shaped events and context.

Used by the local stack wherever AWS would invoke a function: the state machine's `lambda:invoke` tasks,
SNS subscriptions and the Kinesis poller. An unhandled exception becomes the same
`{"errorType", "errorMessage"}` payload with a function error that the Lambda service returns, so the
ASL's Retry/Catch blocks match our error class names exactly as on AWS.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract import names
from local.iam_record import acting_as, function

Handler = Callable[[Any, Any], Any]


@dataclass
class LocalLambdaContext:
    """The attributes of the AWS Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_s: float = 60.0
    region: str = "us-east-1"
    account_id: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


@dataclass
class InvokeResult:
    payload: bytes
    function_error: str | None = None


class UnknownFunctionError(LookupError):
    """No handler is registered under that function name."""


class LocalLambdas:
    """A registry of function name -> handler, invoked in-process."""

    def __init__(self, registry: dict[str, str] | None = None, region: str = "us-east-1"):
        self._paths = dict(registry if registry is not None else names.HANDLERS)
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._region = region
        self.invocations: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.error_types: dict[str, dict[str, int]] = {}  # function -> exception type -> count
        # Hooks called before each invocation (fault injection: e.g. a notifier crash).
        self.before_invoke: list[Callable[[str, Any], None]] = []
        # Powertools keeps one metric set per process, shared by every function running here at once, and
        # each local invocation ends by dropping it (_end_invocation_metrics): a function that flushes
        # right after another one ended finds it empty and warns "No application metrics to publish" on
        # the user's terminal. On Lambda one environment runs one invocation at a time, and locally
        # metrics are off (LOCAL_ENV_DEFAULTS), so the warning says nothing here.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

    def names(self) -> list[str]:
        """The registered function names."""
        return list(self._paths)

    def register(self, function_name: str, handler_path_or_callable: str | Handler) -> None:
        """Add or replace a function."""
        with self._lock:
            if callable(handler_path_or_callable):
                self._handlers[function_name] = handler_path_or_callable
                self._paths[function_name] = getattr(handler_path_or_callable, "__qualname__", "callable")
            else:
                self._paths[function_name] = handler_path_or_callable
                self._handlers.pop(function_name, None)

    def _resolve(self, function_name: str) -> Handler:
        short = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        key = next((k for k in self._paths if short == k or short.endswith(f"-{k}")), None)
        if key is None:
            raise UnknownFunctionError(f"no local handler for function {function_name!r}")
        with self._lock:
            handler = self._handlers.get(key)
            if handler is None:
                module_name, attr = self._paths[key].rsplit(".", 1)
                handler = getattr(importlib.import_module(module_name), attr)
                self._handlers[key] = handler
        return handler

    def invoke(self, function_name: str, event: Any) -> InvokeResult:
        """Invoke synchronously; exceptions become a Lambda function-error payload."""
        short = function_name.rsplit(":", 1)[-1]
        self.invocations[short] = self.invocations.get(short, 0) + 1
        key = next((k for k in self._paths if short == k or short.endswith(f"-{k}")), short)
        memory = names.FUNCTION_MEMORY_MB.get(key, names.DEFAULT_FUNCTION_MEMORY_MB)
        ctx = LocalLambdaContext(function_name=short, memory_limit_in_mb=memory, region=self._region)
        try:
            # Resolving inside the try: a handler that fails to import is a function error, as on AWS.
            handler = self._resolve(function_name)
            for hook in self.before_invoke:
                hook(short, event)
            with acting_as(function(key)):  # its calls are made under this function's role
                result = handler(event, ctx)
        except Exception as e:
            self.errors[short] = self.errors.get(short, 0) + 1
            types = self.error_types.setdefault(short, {})
            types[type(e).__name__] = types.get(type(e).__name__, 0) + 1
            body = {
                "errorType": type(e).__name__,
                "errorMessage": str(e),
                "stackTrace": traceback.format_exception(e)[-5:],
            }
            return InvokeResult(json.dumps(body).encode("utf-8"), "Unhandled")
        finally:
            _end_invocation_metrics()
        return InvokeResult(json.dumps(result, default=str).encode("utf-8"))


_OBSERVABILITY_MODULES = ("pipeline.observability", "bot.observability")


def _end_invocation_metrics() -> None:
    """Lambda flushes a function's metrics at the end of every invocation. Locally they are disabled, and
    Powertools then keeps them, until at 100 values it prints them to stdout regardless (that broke
    `--json` output); so each local invocation ends with them dropped."""
    for name in _OBSERVABILITY_MODULES:
        metrics = getattr(sys.modules.get(name), "metrics", None)
        if metrics is not None:
            metrics.clear_metrics()
