"""`tms customer forget` on the embedded local stack: a customer's tickets (one through the stream, one opened
by their mail) are triaged, posted, timed, archived and loaded into the warehouse; after the erasure their
address and name are nowhere (table, every object version, both warehouse tables, both outboxes), their
Slack post is redacted, another customer's data is untouched, and a second run has nothing to erase."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from contract import names
from contract.models import Customer
from local.poller import MappingConfig
from local.runtime import LocalStack
from local.stack import mail_outbox_dir
from tests.conftest import make_ticket
from tests.fixtures_spark import spark  # noqa: F401
from tests.integration.conftest import item, put
from tools.cli import main
from tools.cli.mail import ses_receipt_event

pytestmark = [pytest.mark.integration, pytest.mark.spark]

ADA = Customer(
    first_name="Ada", last_name="Lovelace", full_name="Ada Lovelace", email="ada@example.com", company="AE"
)
PERSONAL = ("ada@example.com", "ada lovelace")
MAIL = b"""From: Ada Lovelace <Ada@Example.com>
To: support@tms.example.com
Subject: Dashboard down again
Message-ID: <CAFerase1@mail.example.com>
Date: Thu, 02 Jan 2025 11:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

The dashboard answers 503 since this morning. Ada Lovelace, Analytical Engines
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("erasure")
    env = {names.ENV_STATE_DIR: str(tmp / "state")}
    with LocalStack.start(
        outbox=tmp / "slack.jsonl", mapping=MappingConfig(retry_delay_s=0.05), extra_env=env
    ) as s:
        yield s


def _forget(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["customer", "forget", *args, "--json"]) == 0
    return dict(json.loads(out.getvalue()))


def _personal(text: str) -> bool:
    return any(p in text.lower() for p in PERSONAL)


def _all_versions(stack: LocalStack) -> list[tuple[str, str]]:
    s3 = stack.client("s3")
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=stack.info.bucket_name):
        for v in page.get("Versions", []):
            body = s3.get_object(Bucket=stack.info.bucket_name, Key=v["Key"], VersionId=v["VersionId"])
            out.append((v["Key"], body["Body"].read().decode("utf-8", errors="replace")))
    return out


def _table(stack: LocalStack) -> list[dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.info.table_name)
    return [i for p in pages for i in p["Items"]]


def test_a_forgotten_customer_is_nowhere_and_the_other_customer_is_untouched(
    stack: LocalStack,
    spark: Any,  # noqa: F811
) -> None:
    from tools.analytics import run_etl
    from tools.analytics.warehouse import open_warehouse

    # Given Ada's ticket, Ana's ticket, and Ada's mail that opens a second ticket
    base = make_ticket(subject="Export fails")
    ada = base.model_copy(update={"data": base.data.model_copy(update={"customer": ADA})})
    ana = make_ticket(subject="Login loop")
    put(stack, ada, ana)
    stack.wait_idle(timeout=120)
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.info.bucket_name, Key=names.INBOUND_MAIL_PREFIX + "local-erase", Body=MAIL)
    event = ses_receipt_event("local-erase", MAIL, {}, stack.info.bucket_name)
    resp = stack.client("lambda").invoke(
        FunctionName=f"{names.PROJECT}-{names.FN_INBOUND_MAIL}", Payload=json.dumps(event).encode()
    )
    (received,) = json.loads(resp["Payload"].read())["results"]
    assert received["outcome"] == "new_ticket"
    stack.wait_idle(timeout=120)
    mailed = received["new_ticket_id"]
    assert (item(stack, ada.ticketId) or {}).get("slack_ts") and (item(stack, mailed) or {}).get("status")
    # ... an older version of Ada's archive object, a quarantine batch shared with Ana, a mail copy
    (archive_key,) = [k for k, _ in _all_versions(stack) if k.startswith("tickets/") and ada.ticketId in k]
    body = s3.get_object(Bucket=stack.info.bucket_name, Key=archive_key)["Body"].read()
    s3.put_object(Bucket=stack.info.bucket_name, Key=archive_key, Body=body)
    quarantine = f"{names.QUARANTINE_PREFIX}etl/run=1/rejects.jsonl"
    lines = [
        json.dumps({"source": k, "record": f"{who} bad"}) + "\n"
        for k, who in (("a", ADA.email), ("b", "ana"))
    ]
    s3.put_object(Bucket=stack.info.bucket_name, Key=quarantine, Body="".join(lines).encode())
    outbox_dir = mail_outbox_dir()
    outbox_dir.mkdir(parents=True, exist_ok=True)
    (outbox_dir / f"{ada.ticketId}-1.eml").write_text(f"To: {ADA.email}\n\nDear Ada Lovelace\n")
    (outbox_dir / f"{ana.ticketId}-1.eml").write_text("To: ana@example.com\n\nDear Ana\n")
    # ... and both in the warehouse
    result = run_etl(stack.info)
    assert result.merged >= 3 and result.lifecycle.merged >= 3
    ada_post = (item(stack, ada.ticketId) or {})["slack_ts"]
    armed = {
        s["Name"]
        for s in stack.client("scheduler").list_schedules(GroupName=names.SLA_SCHEDULE_GROUP)["Schedules"]
    }
    assert f"{ada.ticketId}-breach" in armed

    # When Ada is forgotten (the address in another case)
    report = _forget("ADA@example.com")

    # Then every store says what it changed
    assert sorted(report["tickets"]) == sorted([ada.ticketId, mailed])
    changed = report["changed"]
    assert (
        changed["dynamodb:tickets"] >= 2 and changed["s3:tickets/"] >= 3 and changed["s3:inbound-mail/"] == 1
    )
    assert changed["warehouse:tickets"] == 2 and changed["warehouse:ticket_lifecycle"] == 2
    assert (
        changed["scheduler:sla-timers"] >= 2 and changed["slack:posts"] == 2 and changed["outbox:mail"] == 1
    )
    assert changed["s3:quarantine/"] == 1 and not report["nothing_to_erase"]
    # And Ada is nowhere: table, every object version, the warehouse, the outboxes, the timers
    assert not [i for i in _table(stack) if _personal(json.dumps(i))]
    versions = _all_versions(stack)
    assert [k for k, b in versions if _personal(b) or ada.ticketId in k or mailed in k] == []
    wh = open_warehouse()
    try:
        for table in ("tickets", "ticket_lifecycle"):
            _, rows = wh.query(f"SELECT * FROM {table}")  # noqa: S608
            assert not [r for r in rows if _personal(str(r)) or r[0] in (ada.ticketId, mailed)]
            assert [r for r in rows if r[0] == ana.ticketId]  # Ana's rows stay
    finally:
        wh.close()
    outbox = Path(stack.info.slack_outbox).read_text().splitlines()
    assert not [line for line in outbox if _personal(line)]
    redacted = [json.loads(line) for line in outbox if '"chat.update"' in line and ada_post in line]
    assert redacted and "erased" in redacted[-1]["text"] and ada.ticketId in redacted[-1]["text"]
    assert sorted(p.name for p in outbox_dir.glob("*.eml")) == [f"{ana.ticketId}-1.eml"]
    schedules = stack.client("scheduler").list_schedules(GroupName=names.SLA_SCHEDULE_GROUP)["Schedules"]
    assert not [s for s in schedules if s["Name"].startswith((ada.ticketId, mailed))]
    # And Ana is untouched
    assert (item(stack, ana.ticketId) or {}).get("customer_email") == "ana@example.com"
    assert [k for k, _ in versions if k.startswith("tickets/") and ana.ticketId in k]
    assert any("Ana Silva" in line for line in outbox)
    kept = s3.get_object(Bucket=stack.info.bucket_name, Key=quarantine)["Body"].read().decode()
    assert kept == lines[1]

    # When the erasure runs again, it has nothing to erase
    again = _forget("ada@example.com")
    assert again["nothing_to_erase"] and not any(again["changed"].values())
