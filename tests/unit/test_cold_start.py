"""Cold start mechanisms (issue 17): what a Lambda handler's import pulls in, and the cheap email check.

Timings live in bench/cold_start.py; these tests guard the mechanisms the timings depend on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contract import models, names
from contract.models import SPECIAL_USE_DOMAINS, Customer, common_email

# Never on a handler's import path: the X-Ray SDK (Lambda active tracing records the invocation), LangChain
# (only the draft-reply adapter, when it builds its model), email-validator (uncommon addresses only).
# pydantic-settings: the functions read their settings with contract.settings (its import was ~50 ms).
HEAVY = ("aws_xray_sdk", "langchain_core", "langchain_aws", "email_validator", "pydantic_settings", "dotenv")
# Powertools' batch utility (asyncio with it) and event data classes (all ~40 load together): the handlers read
# their events with contract.lambda_events instead (~50 ms of a stream handler's cold start).
HEAVY_PARTS = ("aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.data_classes")
HANDLER_MODULES = sorted({path.rsplit(".", 1)[0] for path in names.HANDLERS.values()})


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_importing_a_handler_loads_no_heavy_optional_library(module):
    # Given a fresh interpreter, as a Lambda cold start; When the handler module is imported
    loaded = _modules_after_import(module)

    # Then none of the heavy libraries came with it
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY_PARTS)) == []


def test_the_bolt_app_is_built_without_walking_the_call_stack(monkeypatch):
    # Given Bolt would name an unnamed app after its caller's file with inspect.stack() (every frame's source,
    # every loaded module's real path: ~60 ms of a cold start here)
    import inspect

    from slack_sdk import WebClient

    from bot.app import Clients, build_app
    from bot.config import BotSettings
    from bot.observability import SERVICE
    from tests.fakes.bot_harness import BOT_TOKEN, SIGNING_SECRET

    def no_stack(*args, **kwargs):
        raise AssertionError("inspect.stack() called while building the app")

    monkeypatch.setattr(inspect, "stack", no_stack)

    # When the app is built as the Lambda handler builds it
    unused: Any = None  # building the app talks to none of the other clients
    clients = Clients(WebClient(BOT_TOKEN), unused, unused, unused, unused, unused, unused)
    app = build_app(BotSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET), clients)

    # Then it was named from configuration, not from the stack
    assert app.name == SERVICE


def test_a_plain_address_is_validated_without_importing_email_validator():
    code = (
        "import sys; from contract.models import Customer; "
        "c = Customer(first_name='A', last_name='B', full_name='A B', email='Ada.L+x@Example.COM'); "
        "print(c.email, 'email_validator' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["Ada.L+x@example.com", "False"]


def test_the_special_use_domains_are_email_validators_own():
    assert set(SPECIAL_USE_DOMAINS) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _reference(value: str) -> str | None:
    try:
        return email_validator.validate_email(value, check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        return None


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
ADDRESSES = [
    "ada@example.com",
    "Ada.Lovelace@EXAMPLE.org",
    "a@b.co",
    "x@123.example.com",
    "first.last+tag@sub-domain.example.io",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.c",
    "a@example.123",
    "a@xn--bcher-kva.example",
    "a@ab--cd.com",
    "a@localhost",
    "a@host.localhost",
    "a@mail.test",
    "a@x.invalid",
    "a@x.onion",
    "a@x.arpa",
    "a@x.local",
    "a@example",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["b" * 60] * 4) + ".com",
    '"quoted"@example.com',
    "üser@example.com",
    "user@bücher.example",
    "Ada <ada@example.com>",
    "a b@example.com",
    "",
    "@example.com",
    "a@",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_fast_path_agrees_with_email_validator(address):
    common = common_email(address)

    # The fast path only answers what email-validator accepts, and normalizes it the same way.
    assert common is None or common == _reference(address)


@settings(max_examples=300, deadline=None)
@given(
    local=st.lists(st.text(ATEXT, min_size=1, max_size=12), min_size=1, max_size=4).map(".".join),
    labels=st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,8}[A-Za-z0-9]", fullmatch=True), max_size=3),
    tld=st.sampled_from(["com", "ORG", "io", "test", "local", "invalid", "dev", "c0m", "x"]),
)
def test_generated_addresses_get_the_same_answer_as_email_validator(local, labels, tld):
    address = f"{local}@{'.'.join([*labels, 'example', tld])}"
    common = common_email(address)

    assert common is None or common == _reference(address)


def test_an_invalid_address_is_still_refused_with_email_validators_reason():
    with pytest.raises(ValidationError, match="not a valid email address"):
        Customer(first_name="A", last_name="B", full_name="A B", email="ada@mail.test")


def test_the_published_schema_still_says_format_email():
    schema = models.TicketSubmitted.model_json_schema()

    assert json.dumps(schema).count('"format": "email"') >= 1


_SNAPSHOT_PROBE = """
import json, os, threading
import bot.handler
from contract import clients
def target(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # the descriptor listdir itself had open
        return ""
sockets = [fd for fd in os.listdir("/proc/self/fd") if target(fd).startswith("socket:")]
print(json.dumps({
    "sockets": sockets,
    "threads": [t.name for t in threading.enumerate()],
    "app_built": bot.handler.slack_handler.cache_info().currsize,
    "clients": clients._cached_client.cache_info().currsize,
    "sessions": clients._session.cache_info().currsize,
}))
"""


def test_the_bot_init_creates_nothing_a_snapstart_snapshot_would_share():
    # Given bot_snapstart: Lambda snapshots the environment after the init (the handler module's import) and
    # resumes every new environment from that one snapshot, so whatever the init created is shared by all
    # (AWS: "Handling uniqueness with Lambda SnapStart").
    # When the bot's handler module is imported in a fresh interpreter, as at init
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **names.LAMBDA_RUNTIME_ENV}
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT_PROBE], capture_output=True, text=True, check=True, env=env
    )
    state = json.loads(out.stdout)

    # Then no connection is open, no thread runs, and neither the app (settings, secret, Slack clients) nor
    # any AWS client or session exists yet: all are built at the first request, after the restore, so the
    # bot needs no after-restore hook (snapshot_restore_py). The rest of the init is code and constants.
    assert state == {"sockets": [], "threads": ["MainThread"], "app_built": 0, "clients": 0, "sessions": 0}
