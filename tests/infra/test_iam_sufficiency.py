"""The deployed roles are broad enough for what the code does (issue 28.2, docs/iam.md).

A short local run with the call recorder on exercises every function once (a /ticket through the workflow,
an approval mailed to the customer, the customer's answer through SES inbound, the SLA timers firing, the
lifecycle feed, the notifier); every recorded (principal, action, resource) is then evaluated against the
synthesized template's policies. The other tests prove the checker notices a permission taken away.
"""

from __future__ import annotations

import copy
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from contract import defaults, names
from local.iam_record import Call, load
from tests.conftest import wait_for
from tests.infra.template import Synth
from tools.iam.sufficiency import Template, check, env_rewrites, needs, rewrite

ARCHIVE = f"arn:aws:s3:::{names.BUCKET_NAME}"
TABLE = f"arn:aws:dynamodb:us-east-1:123456789012:table/{names.TABLE_NAME}"
INDEX = f"{ARCHIVE}/{names.KB_INDEX_KEY}"
TITAN = f"arn:aws:bedrock:us-east-1::foundation-model/{defaults.BEDROCK_EMBEDDING_MODEL_ID}"
LIFECYCLE = f"function:{names.FN_TICKET_LIFECYCLE}"
KB_SYNC = f"function:{names.FN_KB_SYNC}"
ERASURE = f"function:{names.FN_ERASURE}"
LINK = f"function:{names.FN_LINK_INCIDENT}"
# The reply model as an inference profile, and the model it routes to in the region it picked.
PROFILE = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{defaults.BEDROCK_MODEL_ID}"
ROUTED = f"arn:aws:bedrock:us-west-2::foundation-model/{defaults.BEDROCK_MODEL_ID.split('.', 1)[1]}"


def _without(raw: dict[str, Any], logical_prefix: str, action: str) -> dict[str, Any]:
    """The template with `action` taken out of every statement of the policies starting with the prefix."""
    out = copy.deepcopy(raw)
    for logical, res in out["Resources"].items():
        if res["Type"] == "AWS::IAM::Policy" and logical.startswith(logical_prefix):
            for s in res["Properties"]["PolicyDocument"]["Statement"]:
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                s["Action"] = [a for a in actions if a != action] or ["none:None"]
    return out


HAND_CALLS = [
    Call("function:archive", "s3", "PutObject", (f"{ARCHIVE}/tickets/submitted_date=2026-12-07/T-1.json",)),
    Call(
        "function:sla-timer",
        "scheduler",
        "DeleteSchedule",
        ("arn:aws:scheduler:us-east-1:123456789012:schedule/tms-sla/T-1-warn",),
    ),
    Call("function:sla-timer", "dynamodb", "UpdateItem", (TABLE,)),
    Call("states", "dynamodb", "PutItem", (TABLE,)),
    # The knowledge base on AWS: the draft function checks the index ETag and reads it (docs/decisions/0020).
    Call("function:draft-reply", "s3", "HeadObject", (f"{ARCHIVE}/kb/index.json",)),
    Call("function:draft-reply", "s3", "GetObject", (f"{ARCHIVE}/kb/index.json",)),
    # Precedents on AWS (issue 30.2): the lifecycle function reads the index, redacts, embeds with Titan (the
    # local stack embeds offline, so no Bedrock call is recorded there) and writes the index conditionally.
    Call(LIFECYCLE, "s3", "HeadObject", (INDEX,)),
    Call(LIFECYCLE, "s3", "GetObject", (INDEX,)),
    Call(LIFECYCLE, "comprehend", "DetectPiiEntities", ("*",)),
    Call(LIFECYCLE, "bedrock-runtime", "InvokeModel", (TITAN,)),
    Call(LIFECYCLE, "s3", "PutObject", (INDEX,)),
    # Erasure takes a customer's precedents out of the index and deletes the older versions quoting them.
    Call(ERASURE, "s3", "ListObjectVersions", (ARCHIVE,)),
    Call(ERASURE, "s3", "GetObjectVersion", (INDEX,)),
    Call(ERASURE, "s3", "PutObject", (INDEX,)),
    Call(ERASURE, "s3", "DeleteObjectVersion", (INDEX,)),
    # kb-sync (issue 30.1) lists kb/docs/, reads what changed, embeds it with Titan (offline locally: no Bedrock
    # call is recorded there) and writes the index conditionally.
    Call(KB_SYNC, "s3", "ListObjectsV2", (ARCHIVE,)),
    Call(KB_SYNC, "s3", "GetObject", (f"{ARCHIVE}/{names.KB_DOCS_PREFIX}guides/vpn.md",)),
    Call(KB_SYNC, "s3", "HeadObject", (INDEX,)),
    Call(KB_SYNC, "bedrock-runtime", "InvokeModel", (TITAN,)),
    Call(KB_SYNC, "s3", "PutObject", (INDEX,)),
    # The incident step's second opinion on AWS (docs/incidents.md): Converse on the reply model; the local
    # stack's default reply model is offline, so the run below never makes this call.
    Call(LINK, "bedrock-runtime", "Converse", (PROFILE,)),
    Call(LINK, "bedrock-runtime", "Converse", (ROUTED,)),
    Call(LINK, "bedrock-runtime", "InvokeModel", (TITAN,)),
]


def test_calls_the_roles_grant_pass(synth: Synth):
    assert check(Template(synth.raw), HAND_CALLS) == []


@pytest.mark.parametrize(
    ("policy", "action", "expected"),
    [
        ("WorkflowArchiveRole", "s3:PutObject", "function:archive: s3.PutObject needs s3:PutObject on"),
        ("SlaTimerRole", "scheduler:DeleteSchedule", "function:sla-timer: scheduler.DeleteSchedule needs"),
        ("SlaTimerRole", "kms:Decrypt", "function:sla-timer: dynamodb.UpdateItem needs kms:Decrypt on"),
        ("WorkflowStateMachineRole", "dynamodb:PutItem", "states: dynamodb.PutItem needs dynamodb:PutItem"),
        (
            "WorkflowDraftReplyRole",
            "s3:GetObject",
            "function:draft-reply: s3.HeadObject needs s3:GetObject on",
        ),
        ("LifecycleFunctionRole", "s3:PutObject", f"{LIFECYCLE}: s3.PutObject needs s3:PutObject on {INDEX}"),
        ("LifecycleFunctionRole", "s3:GetObject", f"{LIFECYCLE}: s3.GetObject needs s3:GetObject on {INDEX}"),
        (
            "LifecycleFunctionRole",
            "bedrock:InvokeModel",
            f"{LIFECYCLE}: bedrock-runtime.InvokeModel needs bedrock:InvokeModel on {TITAN}",
        ),
        (
            "LifecycleFunctionRole",
            "comprehend:DetectPiiEntities",
            f"{LIFECYCLE}: comprehend.DetectPiiEntities needs comprehend:DetectPiiEntities",
        ),
        (
            "KbSyncFunctionRole",
            "s3:ListBucket",
            f"{KB_SYNC}: s3.ListObjectsV2 needs s3:ListBucket on {ARCHIVE}",
        ),
        ("KbSyncFunctionRole", "s3:PutObject", f"{KB_SYNC}: s3.PutObject needs s3:PutObject on {INDEX}"),
        (
            "IncidentsLinkIncidentRole",
            "bedrock:InvokeModel",
            f"{LINK}: bedrock-runtime.Converse needs bedrock:InvokeModel on {PROFILE}",
        ),
        (
            "KbSyncFunctionRole",
            "bedrock:InvokeModel",
            f"{KB_SYNC}: bedrock-runtime.InvokeModel needs bedrock:InvokeModel on {TITAN}",
        ),
        (
            "ErasureFunctionRole",
            "s3:DeleteObjectVersion",
            f"{ERASURE}: s3.DeleteObjectVersion needs s3:DeleteObjectVersion on {INDEX}",
        ),
    ],
)
def test_a_permission_taken_out_of_the_stack_is_named_with_its_principal_and_call(
    synth: Synth, policy: str, action: str, expected: str
):
    findings = check(Template(_without(synth.raw, policy, action)), HAND_CALLS)
    assert [str(f) for f in findings if str(f).startswith(expected)], [str(f) for f in findings]


# --- the recorded run --------------------------------------------------------------------------------------
AGENT, LEAD = "U0AGENT", "U0LEAD"


def _rating_link(outbox: Path, ticket_id: str) -> str:
    for path in outbox.glob(f"{ticket_id}-*.eml"):
        body = message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",))
        if body is None:  # a mail without a text part carries no rating link
            continue
        found = re.search(r"http://127\.0\.0\.1:\d+/rate\?t=\S+", body.get_content())
        if found:
            return found[0]
    return ""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[set[Call], dict[str, str]]]:
    """Every function once, with the recorder on: the calls and the local stack's environment."""
    from contract.models import Source, TicketData, TicketSubmitted
    from tests.fakes.bot_harness import TICKET_CHANNEL, bot_on_local_stack
    from tests.fakes.slack_api import block_action_payload
    from tools.cli import main

    tmp = tmp_path_factory.mktemp("iam")
    log = tmp / "calls.jsonl"
    env = {
        names.ENV_IAM_RECORD: str(log),
        # Precedents on (as the test synth has them): Grace's resolved ticket becomes one, erasure takes it out.
        names.ENV_PRECEDENT_BASE_URL: "https://support.example.com/tickets",
        names.ENV_SLACK_POST_INTERVAL: "0",
        **{f"{names.ENV_SLA_PREFIX}{p}": "2s" for p in ("HIGH", "MEDIUM", "NORMAL")},
    }
    with bot_on_local_stack(tmp, extra_env=env, with_sla=True) as (bot, stack, slack):
        slack.add_user(AGENT, "Ada Lovelace", "ada@example.com")
        local_env = {**stack.info.env()}
        # A /ticket left alone: triage, the notifier's post, its SLA timers fire (warning, breach).
        assert bot.command("Production is down | Every request fails, customers are furious.").status == 200
        # A customer's ticket: approved, mailed, answered by mail (SES inbound).
        data = TicketData.model_validate(
            {
                "subject": "Invoices page times out",
                "description": "Since this morning the invoices page never loads; we cannot bill anyone.",
                "customer": {
                    "first_name": "Grace",
                    "last_name": "Hopper",
                    "full_name": "Grace Hopper",
                    "email": "grace@customer.example",
                },
                "product": "Amazon EC2",
                "issue_type": "Instance Connectivity",
            }
        )
        event = TicketSubmitted.new(data, Source.API, now=datetime.now(UTC))
        stack.client("kinesis").put_record(
            StreamName=stack.info.stream_name, Data=event.to_record_bytes(), PartitionKey=event.ticketId
        )
        tid = event.ticketId
        item = wait_for(lambda: (bot.clients.store.get(tid) or {}).get("slack_ts") and bot.clients.store.get(tid),
                         60, "the customer's ticket posted")  # fmt: skip
        click = block_action_payload(
            action_id="ticket_approve", value=f"{tid}|0", user_id=LEAD,
            channel_id=TICKET_CHANNEL, message_ts=item["slack_ts"],
        )  # fmt: skip
        assert bot.interact(click).status == 200
        stack.wait_idle(timeout=60)
        outbox = Path(stack.info.extra[names.ENV_MAIL_OUTBOX_DIR])
        (sent,) = outbox.glob(f"{tid}-*.eml")
        message_id = next(line for line in sent.read_text().splitlines() if line.startswith("Message-ID:"))
        answer = tmp / "answer.eml"
        answer.write_bytes(
            (
                f"From: Grace Hopper <grace@customer.example>\r\nTo: {names.LOCAL_REPLY_FROM}\r\n"
                f"Subject: Re: [{tid}] Invoices\r\nMessage-ID: <answer-1@customer.example>\r\n"
                f"In-Reply-To: {message_id.split(':', 1)[1].strip()}\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, it works.\r\n"
            ).encode()
        )
        assert main(["mail", "receive", str(answer), "--json"]) == 0
        wait_for(lambda: stack.schedules.fired, 30, "an SLA timer fired")
        stack.wait_idle(timeout=60)
        # Resolved: the timer function mails the rating question, answered on the rating page (issue 32).
        resolve = block_action_payload(
            action_id="ticket_resolve", value=tid, user_id=LEAD,
            channel_id=TICKET_CHANNEL, message_ts=item["slack_ts"],
        )  # fmt: skip
        assert bot.interact(resolve).status == 200
        link = wait_for(lambda: _rating_link(outbox, tid), 30, "the rating question")
        form = urlencode({"t": link.partition("?t=")[2], "rating": "4", "comment": "Quick, thanks"}).encode()
        with urllib.request.urlopen(link, data=form, timeout=10) as page:  # noqa: S310 (the local page)
            assert page.status == 200
        stack.wait_idle(timeout=60)
        # The customer asks to be forgotten: the erasure function, as `tms customer forget` runs it on AWS.
        erased = stack.lambdas.invoke(
            f"{names.PROJECT}-{names.FN_ERASURE}", {"email": "grace@customer.example"}
        )
        assert erased.function_error is None, erased.payload
        # A document under kb/docs/ joins the knowledge base on kb-sync's next run (issue 30.1).
        stack.client("s3").put_object(
            Bucket=stack.info.bucket_name,
            Key=names.KB_DOCS_PREFIX + "vpn-dpd.md",
            Body=b"---\nurl: https://help.example.com/vpn-dpd\n---\n# VPN drops\n\nRaise the DPD timeout.\n",
        )
        synced = stack.kb_sync.run_once() if stack.kb_sync is not None else None
        assert synced is not None and synced.function_error is None, synced and synced.payload
        # The ETL twin loads the archive as the Glue job does (its S3 calls are the job role's).
        from tools.analytics.runner import run_etl

        loaded = run_etl(stack.info, warehouse_url=f"duckdb://{tmp / 'warehouse.duckdb'}")
        assert loaded.read >= 1
    yield load(log), local_env


def test_every_recorded_call_is_granted_by_the_synthesized_policies(synth: Synth, recorded):
    calls, local_env = recorded
    t = Template(synth.raw)
    rw = env_rewrites(t, local_env)
    keys = t.encryption_keys()
    findings = check(t, calls, rw)
    assert not findings, "\n".join(str(f) for f in findings)
    # Every principal was exercised: draft-reply too, by its knowledge-base read (the local stack grounds drafts
    # in kb/index.json as the deployed one does; its reply model and embedder are offline, so no Bedrock call).
    exercised = {c.principal for c in calls}
    assert any(
        c.principal == f"function:{names.FN_DRAFT_REPLY}" and c.operation == "HeadObject" for c in calls
    ), sorted({(c.principal, c.operation) for c in calls if "draft" in c.principal})
    # Precedents: the lifecycle function wrote the index, erasure rewrote it and deleted the versions quoting them
    kb_calls = {(c.principal, c.operation) for c in calls if INDEX in c.resources}
    assert {
        (LIFECYCLE, "PutObject"),
        (ERASURE, "PutObject"),
        (ERASURE, "DeleteObjectVersion"),
        (KB_SYNC, "PutObject"),
    } <= kb_calls, kb_calls
    expected = {f"function:{fn}" for fn in names.HANDLERS}
    expected |= {"states", f"scheduler:{names.SLA_SCHEDULE_GROUP}", "service:ses.amazonaws.com", "glue"}
    assert expected <= exercised, sorted(expected - exercised)
    checked = {(n.call.principal, n.action, n.resource) for c in calls for n in needs(rewrite(c, rw), keys)}
    print(f"{len(checked)} distinct (principal, action, resource) checked")
