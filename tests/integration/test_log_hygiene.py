"""No ticket text, email address or Slack token reaches a log line at INFO, anywhere in the local pipeline.

The local stack runs the deployed code paths (trigger, workflow, draft-reply, archive, notifier through its
real Slack adapter with a bot token), so what it logs is what CloudWatch would receive.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

import pytest

from contract import names
from contract.models import Customer, Source, TicketData, TicketSubmitted
from local.poller import MappingConfig
from local.runtime import LocalStack
from local.slack_api import LocalSlackApi
from tests.integration.conftest import item, put

pytestmark = pytest.mark.integration

TOKEN = "xoxb-4242424242-planted0token0value"
EMAIL_IN_TEXT = "rosa.leak@planted-mail.example"
CUSTOMER_EMAIL = "owner.planted@customer-mail.example"
PHONE = "+1 415 555 0188"
CARD = "4111 1111 1111 1111"
SUBJECT = "Billing portal plantedsubjectphrase"
DESCRIPTION_PHRASE = "plantedbodyphrase zebra umbrella"
CUSTOMER_NAME = "Quintessa Plantedname"
PLANTED = (TOKEN, EMAIL_IN_TEXT, CUSTOMER_EMAIL, PHONE, CARD, SUBJECT, DESCRIPTION_PHRASE, CUSTOMER_NAME)
# Every module a Lambda or the runtime loads, imported up front so their loggers exist before capture starts.
LOGGING_MODULES = [*(h.rsplit(".", 1)[0] for h in names.HANDLERS.values()), "local.runtime"]


class Capture(logging.Handler):
    """Every record at INFO and above, with its message, extra keys and traceback as text."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text + " " + json.dumps(record.__dict__, default=str))


def _ticket(description: str, email: str = CUSTOMER_EMAIL) -> TicketSubmitted:
    return TicketSubmitted.new(
        TicketData(
            subject=SUBJECT,
            description=description,
            customer=Customer(
                first_name="Quintessa",
                last_name="Plantedname",
                full_name=CUSTOMER_NAME,
                email=email,
                company="Planted Co",
            ),
            product="Amazon S3",
            issue_type="Billing",
        ),
        Source.API,
    )


def _run_planted_tickets(tmp_path: Path) -> tuple[Capture, list[str]]:
    """Two tickets and one invalid record, all full of planted PII, through the local stack."""
    for module in LOGGING_MODULES:
        importlib.import_module(module)
    capture = Capture()
    loggers = [
        logging.getLogger(),
        *(
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ),
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        if logger.level in (logging.NOTSET, logging.DEBUG):
            logger.setLevel(logging.INFO)  # the deployed level (POWERTOOLS_LOG_LEVEL=INFO)
    outbox = tmp_path / "slack.jsonl"
    tickets = [
        _ticket(
            f"Call me on {PHONE} or write to {EMAIL_IN_TEXT}. {DESCRIPTION_PHRASE}. Card {CARD} was charged twice."
        ),
        _ticket(f"Production is down and I am furious. {DESCRIPTION_PHRASE}, mail {EMAIL_IN_TEXT}"),
    ]
    # An invalid record (bad customer email) carrying the same text: the rejection path must not echo it.
    poison = json.loads(tickets[0].model_dump_json())
    poison["data"]["customer"]["email"] = f"not-an-address {CUSTOMER_EMAIL}"
    try:
        with (
            LocalSlackApi(outbox) as slack,
            LocalStack.start(
                outbox=outbox,
                mapping=MappingConfig(retry_delay_s=0.05),
                extra_env={"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.base_url},
            ) as stack,
        ):
            put(stack, *tickets, json.dumps(poison).encode())
            stack.wait_idle(timeout=120)
            states = [(item(stack, t.ticketId) or {}).get("status") for t in tickets]
            posted = slack.posts
    finally:
        for logger, level in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
    return capture, [str(s) for s in states] + [f"posts={posted}"]


def test_no_log_line_carries_ticket_text_email_or_slack_token(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    capture, facts = _run_planted_tickets(tmp_path)
    out, err = capfd.readouterr()
    # The planted tickets really ran: triaged, posted with the token, and the handlers logged.
    assert facts[:2] == ["TRIAGED", "TRIAGED"]
    assert facts[2] != "posts=0"
    assert any("ticket archived" in line for line in capture.lines)

    logged = "\n".join([*capture.lines, out, err])
    leaks = {
        planted: [line[:300] for line in logged.splitlines() if planted in line][:3] for planted in PLANTED
    }
    assert {k: v for k, v in leaks.items() if v} == {}
