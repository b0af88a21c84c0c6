"""Cost per ticket: the usage arithmetic (pipeline/domain/usage.py), the price table's schema and the cost
model's arithmetic (tools/cost.py), and `tms cost --json` on a warehouse."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest

from contract.models import TicketUsage
from infra.config import load_config, read_cdk_json_context
from pipeline.domain.usage import (
    comprehend_units,
    estimated_tokens,
    path_taken,
    triage_transitions,
    write_units,
)
from tools import cost

# --- usage ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("chars", "units"), [(1, 3), (299, 3), (300, 3), (301, 4), (1000, 10), (5000, 50)])
def test_comprehend_bills_100_character_units_with_a_3_unit_minimum(chars: int, units: int):
    assert comprehend_units("x" * chars) == units


def test_token_estimate_is_four_characters_a_token_and_never_zero():
    assert estimated_tokens("") == 1
    assert estimated_tokens("x" * 4000) == 1000
    assert estimated_tokens("x" * 4001) == 1001


def test_dynamodb_bills_one_write_unit_per_started_kilobyte():
    assert [write_units(n) for n in (1, 1024, 1025, 65536)] == [1, 1, 2, 64]


def test_transitions_follow_the_path_the_execution_took_in_the_asl():
    with_pii = path_taken({"PiiRedactionEnabled": "DetectPii"})
    assert with_pii[0] == "ClaimTicket" and with_pii[-1] == "Notify"
    assert "DetectPii" in with_pii and "NoPiiDetection" not in with_pii
    without = path_taken({"PiiRedactionEnabled": "NoPiiDetection"})
    assert "NoPiiDetection" in without and "DetectPii" not in without
    assert "DetectSentiment" not in with_pii  # computed at intake (issue 28.3)
    assert triage_transitions(pii_detected=True) == len(with_pii) == 10
    assert triage_transitions(pii_detected=True, incident_failed=True) == 11  # NoIncident is one more state


def test_usages_add_up_field_by_field():
    a = TicketUsage(llm_input_tokens=10, lambda_gb_seconds=0.5, lambda_requests=1)
    b = TicketUsage(llm_input_tokens=5, lambda_gb_seconds=0.25, lambda_requests=1, sns_publishes=1)
    assert a.plus(b) == TicketUsage(
        llm_input_tokens=15, lambda_gb_seconds=0.75, lambda_requests=2, sns_publishes=1
    )


# --- the price table --------------------------------------------------------------------------------------


def test_the_price_table_is_data_with_a_region_a_source_and_a_date_for_every_price():
    table = cost.load_prices()
    assert table.region == "us-east-1" and table.currency == "USD"
    for price in [*table.variable.values(), *table.fixed.values(), *table.models.values()]:
        assert price.source.startswith("https://aws.amazon.com/")
        assert price.as_of <= table.as_of
    assert set(cost.VARIABLE_KEYS) <= set(table.variable) and set(cost.FIXED_KEYS) <= set(table.fixed)


def test_the_deployed_reply_model_has_a_price():
    config = load_config(read_cdk_json_context(), {})
    model = cost.load_prices().model(config.model_id)  # the inference profile's "us." prefix is ignored
    assert model.input_usd_per_1k > 0 and model.output_usd_per_1k > model.input_usd_per_1k


def test_a_price_table_missing_an_entry_is_a_clear_error(tmp_path: Path):
    doc = json.loads(cost.PRICES_PATH.read_text())
    del doc["variable"]["comprehend_unit"]
    broken = tmp_path / "prices.json"
    broken.write_text(json.dumps(doc))
    with pytest.raises(cost.PriceTableError, match="comprehend_unit"):
        cost.load_prices(broken)
    doc = json.loads(cost.PRICES_PATH.read_text())
    doc["fixed"]["kms_key_month"]["source"] = "somewhere"
    broken.write_text(json.dumps(doc))
    with pytest.raises(cost.PriceTableError, match="source"):
        cost.load_prices(broken)


# --- the arithmetic -----------------------------------------------------------------------------------------

TEMPLATE = {
    "Resources": {
        "Stream": {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
        },
        "Trigger": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]}},
        },
        "Audit": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]}},
        },
        "TableStream": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]}},
        },
        "KeyA": {"Type": "AWS::KMS::Key", "Properties": {}},
        "KeyB": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Alarm1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Alarm2": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Alarm3": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Job": {"Type": "AWS::Glue::Job", "Properties": {"WorkerType": "G.1X", "NumberOfWorkers": 2}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"StateMachineType": "STANDARD"},
        },
    }
}
MODEL = "us.anthropic.claude-3-haiku-20240307-v1:0"


def _facts() -> cost.StackFacts:
    return cost.stack_facts(TEMPLATE, model_id=MODEL, schedule_minutes=120)


def test_fixed_parts_are_counted_from_the_template_and_the_schedule():
    facts = _facts()
    assert (facts.kms_keys, facts.alarms, facts.secrets, facts.dashboards) == (2, 3, 1, 0)
    assert facts.stream_mode == "ON_DEMAND" and facts.stream_consumers == 2  # the table's stream is not one
    assert facts.glue_dpus == 2.0 and facts.etl_runs_per_month == 360
    fixed = {line.item.split(" (")[0]: line.usd for line in cost.fixed_lines(facts, cost.load_prices())}
    assert fixed["KMS customer managed keys"] == 2.0
    assert fixed["CloudWatch alarms"] == pytest.approx(0.3)
    assert fixed["Secrets Manager secrets"] == pytest.approx(0.4)
    assert fixed["Kinesis on-demand stream"] == pytest.approx(730 * 0.04)
    assert fixed["Glue warehouse load"] == pytest.approx(360 * 2 * 2 / 60 * 0.44)  # 2 DPU x 2 min a run
    assert fixed["Redshift Serverless loads"] == pytest.approx(360 * 8 / 60 * 0.375)  # 8 RPU x 60 s a run


def test_the_kb_sync_schedule_is_priced_per_month_from_its_rate_and_absent_without_it():
    # Given the template with the kb-sync function on a 5-minute rate schedule (issue 30.1)
    from contract import names

    template = {
        "Resources": {
            **TEMPLATE["Resources"],
            "KbSyncFn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": names.HANDLERS[names.FN_KB_SYNC]},
            },
            "KbSyncSchedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "rate(5 minutes)",
                    "Target": {"Arn": {"Fn::GetAtt": ["KbSyncFn", "Arn"]}},
                },
            },
        }
    }
    facts = cost.stack_facts(template, model_id=MODEL, schedule_minutes=120)
    prices = cost.load_prices()

    # Then it runs 8,640 times a month, each a schedule invocation, a Lambda request and ~0.5 GB-s, a LIST and a HEAD
    runs = 30 * 24 * 12
    assert facts.kb_sync_runs_per_month == runs
    lines = {line.item.split(" (")[0]: line.usd for line in cost.fixed_lines(facts, prices)}
    sync = {k: v for k, v in lines.items() if k.startswith("Knowledge-base sync")}
    assert sync["Knowledge-base sync: S3 LIST of kb/docs/"] == pytest.approx(runs * 0.005 / 1000)
    assert sync["Knowledge-base sync: S3 HEAD of the index"] == pytest.approx(runs * 0.0004 / 1000)
    assert sync["Knowledge-base sync: schedule"] == pytest.approx(runs * 1.0 / 1e6)
    assert sync["Knowledge-base sync: Lambda duration"] == pytest.approx(runs * 0.5 * 1.66667e-5)
    assert 0.05 < sum(sync.values()) < 0.25  # about $0.13 a month, plus its three alarms in the alarms line
    # and a stack without it has no such lines
    assert not [k for k in (line.item for line in cost.fixed_lines(_facts(), prices)) if "sync" in k]


def test_variable_cost_per_1000_tickets_is_units_times_prices_averaged_over_tickets_with_usage():
    one = TicketUsage(
        llm_input_tokens=1000,
        llm_output_tokens=200,
        comprehend_sentiment_units=3,
        comprehend_pii_units=5,
        state_transitions=11,
        lambda_requests=6,
        lambda_gb_seconds=2.0,
        kinesis_put_kib=1,
        dynamodb_write_units=4,
        s3_put_requests=3,
        sns_publishes=1,
    )
    est = cost.estimate([one, one, TicketUsage()], _facts(), cost.load_prices(), tickets_per_day=100)
    assert est.tickets_measured == 2  # a ticket without usage (older record) is not averaged in
    lines = {line.item: line.usd for line in est.variable}
    assert lines["Bedrock reply model, input tokens"] == pytest.approx(1000 * 0.00025)  # $/1k x 1k tickets
    assert lines["Bedrock reply model, output tokens"] == pytest.approx(200 * 0.00125)
    assert lines["Comprehend DetectSentiment"] == pytest.approx(3 * 0.0001 * 1000)
    assert lines["Comprehend DetectPiiEntities"] == pytest.approx(5 * 0.0001 * 1000)
    assert lines["Step Functions Standard transitions"] == pytest.approx(11 * 0.025)
    assert lines["Lambda duration"] == pytest.approx(2.0 * 0.0000166667 * 1000)
    assert lines["Lambda requests"] == pytest.approx(6 * 0.2 / 1000)
    assert lines["DynamoDB writes"] == pytest.approx(4 * 0.625 / 1000)
    assert lines["S3 PUT requests"] == pytest.approx(3 * 0.005)
    assert est.variable_usd_per_1000 == pytest.approx(sum(lines.values()))
    assert est.monthly_usd == pytest.approx(est.variable_usd_per_1000 * 3 + est.fixed_usd_per_month)
    doc = est.to_dict()
    assert doc["within_goal"] is (est.triage_usd_per_1000 <= 1.0)
    assert {"item", "quantity", "unit", "usd_per_unit", "usd"} == set(doc["variable"][0])


def test_no_ticket_with_usage_is_a_clear_error():
    with pytest.raises(cost.NoUsageError, match="tms demo"):
        cost.estimate([TicketUsage()], _facts(), cost.load_prices())


def test_an_unpriced_model_is_named():
    facts = cost.stack_facts(TEMPLATE, model_id="acme.unknown-model-v1:0", schedule_minutes=60)
    with pytest.raises(cost.PriceTableError, match=r"acme\.unknown-model-v1:0"):
        cost.estimate([TicketUsage(llm_input_tokens=1)], facts, cost.load_prices())


# --- tms cost --json --------------------------------------------------------------------------------------


def _warehouse_with(tmp_path: Path, usages: list[TicketUsage]) -> str:
    import duckdb

    from contract.models import ProcessedRecord, SentimentResult, TriageResult, warehouse_columns
    from tests.conftest import make_ticket
    from tools.analytics.warehouse import open_warehouse

    path = tmp_path / "wh.duckdb"
    open_warehouse(f"duckdb://{path}").close()
    sentiment = SentimentResult.model_validate(
        {
            "Sentiment": "NEUTRAL",
            "SentimentScore": {"Positive": 0.1, "Negative": 0.1, "Neutral": 0.7, "Mixed": 0.1},
        }
    )
    con = duckdb.connect(str(path))
    names = [c.name for c in warehouse_columns()]
    for usage in usages:
        ticket = make_ticket()
        triage = TriageResult(
            response_text=f"Dear Ana, ... {ticket.ticketId}",
            priority="NORMAL",
            priority_reasoning="Calm question.",
            model_id="offline-policy-v1",
        )
        row = ProcessedRecord.build(ticket, sentiment, triage, usage=usage).model_dump()
        con.execute(
            f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
            [row[n] for n in names],
        )
    con.close()
    return f"duckdb://{path}"


def test_tms_cost_json_prints_the_line_items_and_the_monthly_figure(tmp_path: Path, capsys):
    from tools.cli import main

    url = _warehouse_with(
        tmp_path, [TicketUsage(llm_input_tokens=900, llm_output_tokens=250, state_transitions=11)]
    )
    template = tmp_path / "template.json"
    template.write_text(json.dumps(TEMPLATE))
    args = ["--from", "warehouse", "--warehouse-url", url, "--template", str(template), "--model", MODEL]
    code = main(["cost", "--json", "--tickets-per-day", "500", *args])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tickets_measured"] == 1 and doc["tickets_per_day"] == 500
    assert doc["model_id"] == MODEL
    items = {line["item"]: line for line in doc["variable"]}
    assert items["Bedrock reply model, input tokens"]["quantity"] == 900
    assert items["Step Functions Standard transitions"]["usd"] == pytest.approx(11 * 0.025)
    assert doc["stack"]["kms_keys"] == 2 and doc["fixed_usd_per_month"] > 0
    assert doc["monthly_usd"] == pytest.approx(
        doc["variable_usd_per_1000_tickets"] * 15 + doc["fixed_usd_per_month"], abs=0.01
    )


def test_tms_cost_without_tickets_says_so_and_exits_2(tmp_path: Path, capsys):
    from tools.cli import main

    url = _warehouse_with(tmp_path, [])
    template = tmp_path / "template.json"
    template.write_text(json.dumps(TEMPLATE))
    code = main(["cost", "--from", "warehouse", "--warehouse-url", url, "--template", str(template)])
    assert code == 2
    assert "no tickets with recorded usage" in capsys.readouterr().err


def test_the_report_shows_the_cost_per_1000_tickets_of_the_warehouse(tmp_path: Path):
    from tools.analytics.report import build_report
    from tools.analytics.warehouse import open_warehouse

    usage = TicketUsage(llm_input_tokens=900, llm_output_tokens=250, state_transitions=11)
    template = tmp_path / "template.json"
    template.write_text(json.dumps(TEMPLATE))
    with closing(open_warehouse(_warehouse_with(tmp_path, [usage, usage]))) as warehouse:
        page = build_report(warehouse, template=template)
    assert "<h2>Cost per ticket</h2>" in page and "AWS cost per 1,000 tickets" in page
    assert "Step Functions Standard transitions" in page and "2 tickets measured" in page
    assert "SES reply mails (outbound)" in page


def _express_template() -> dict:
    doc = json.loads(json.dumps(TEMPLATE))
    doc["Resources"]["Machine"]["Properties"]["StateMachineType"] = "EXPRESS"
    return doc


@pytest.mark.parametrize("stale_cdk_out", [False, True])
def test_tms_cost_and_the_report_price_the_same_warehouse_the_same_whatever_the_checkout_holds(
    tmp_path: Path, monkeypatch, capsys, stale_cdk_out: bool
):
    """Issue 28.3: $0.99 (cost) vs $1.25 (report) on the same 31 tickets, depending on a cdk.out."""
    from contract import names
    from tools.analytics.report import build_report
    from tools.analytics.warehouse import open_warehouse
    from tools.cli import main

    # Given a checkout (cdk.json) where `make synth` may have left a stale STANDARD template behind
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "cdk.json").write_text((names.REPO_ROOT / "cdk.json").read_text())
    if stale_cdk_out:
        (checkout / "cdk.out").mkdir()
        (checkout / "cdk.out" / "tms.template.json").write_text(json.dumps(TEMPLATE))  # STANDARD
    monkeypatch.setattr(names, "REPO_ROOT", checkout)
    monkeypatch.chdir(checkout)
    synths: list[int] = []

    def synth() -> tuple[dict, str]:
        synths.append(1)
        return _express_template(), "a synth of cdk.json"

    monkeypatch.setattr(cost, "synthesized_template", synth)  # stands for the real (cached, ~4 s) synth
    usage = TicketUsage(
        llm_input_tokens=950, llm_output_tokens=250, comprehend_pii_units=5, state_transitions=12,
        lambda_gb_seconds=0.1, lambda_requests=9, s3_put_requests=5, sns_publishes=1,
    )  # fmt: skip
    url = _warehouse_with(tmp_path, [usage] * 3)

    # When tms cost and the report price it without an explicit template
    assert main(["cost", "--json", "--from", "warehouse", "--warehouse-url", url]) == 0
    doc = json.loads(capsys.readouterr().out)
    with closing(open_warehouse(url)) as warehouse:
        page = build_report(warehouse)

    # Then both synthesized (never read cdk.out) and show the same variable cost per 1,000 tickets
    assert len(synths) == 2 and doc["stack"]["state_machine_type"] == "EXPRESS"
    assert doc["stack"]["source"] == "a synth of cdk.json"
    assert f"${doc['variable_usd_per_1000_tickets']:.2f}" in page
    assert f"<th>{doc['variable_usd_per_1000_tickets']:.4f}</th>" in page
    assert f"<td>{doc['triage_usd_per_1000_tickets']:.4f}</td>" in page
    assert "Step Functions Standard transitions" not in page


def test_every_answered_ticket_is_charged_its_reply_mail_and_received_mail_is_priced_per_mail_and_chunk():
    prices = cost.load_prices()
    usage = TicketUsage(llm_input_tokens=900, state_transitions=11)
    # Given no reply approved yet: the reply every answered ticket gets is still one SES message
    none_sent = cost.estimate(
        [usage], _facts(), prices, mail=cost.MailUsage.measured(tickets=4, sent=0, received=0)
    )
    lines = {line.item: line for line in none_sent.variable}
    assert lines["SES reply mails (outbound)"].quantity == 1
    assert lines["SES reply mails (outbound)"].usd == pytest.approx(0.10)  # $0.10 per 1,000 mails
    assert lines["SES inbound mails"].usd == 0
    # Given 4 tickets, 6 replies sent and 2 customer answers received
    mail = cost.MailUsage.measured(tickets=4, sent=6, received=2)
    lines = {line.item: line for line in cost.estimate([usage], _facts(), prices, mail=mail).variable}
    assert lines["SES reply mails (outbound)"].usd == pytest.approx(1.5 * 0.10)
    assert lines["SES inbound mails"].usd == pytest.approx(0.5 * 0.10)
    assert lines["SES inbound mail chunks (256 KB)"].usd == pytest.approx(0.5 * 0.09)
    assert prices.variable["ses_inbound_chunk"].source == "https://aws.amazon.com/ses/pricing/"


def _mail_measured(tmp_path: Path, tickets: int, lifecycle_rows: str) -> cost.MailUsage:
    """The mail tms cost measures in a warehouse of `tickets` measured tickets and these ticket_lifecycle
    rows (the columns and VALUES of an INSERT)."""
    import duckdb

    from tools.analytics.warehouse import open_warehouse

    url = _warehouse_with(tmp_path, [TicketUsage(state_transitions=11)] * tickets)
    con = duckdb.connect(url.removeprefix("duckdb://"))
    con.execute(f"INSERT INTO ticket_lifecycle {lifecycle_rows}")
    con.close()
    with closing(open_warehouse(url)) as warehouse:
        return cost.warehouse_usages(warehouse)[1]


def test_the_warehouse_counts_replies_sent_and_customer_mails_received_from_the_lifecycle(tmp_path: Path):
    mail = _mail_measured(
        tmp_path,
        2,
        "(ticket_id, revision, version, status, changed_at, sla_breached, sent_at, customer_replied_at, "
        "reopen_count) VALUES ('a', 1, 1, 'SENT', now(), false, now(), now(), 0), "
        "('b', 1, 1, 'SENT', now(), false, now(), NULL, 0)",
    )
    assert mail == cost.MailUsage(replies=1.0, inbound=0.5, inbound_chunks=0.5)


def test_nudge_and_rating_mails_are_counted_and_priced_per_message(tmp_path: Path):
    # Given four measured tickets: one nudged then auto-closed, one resolved, two still open (issue 32)
    mail = _mail_measured(
        tmp_path,
        4,
        "(ticket_id, revision, version, status, changed_at, sla_breached, sent_at, nudged_at, closed_at, "
        "close_reason, resolved_at, reopen_count) VALUES "
        "('a', 1, 4, 'CLOSED', now(), false, now(), now(), now(), 'no_answer', NULL, 0), "
        "('b', 1, 3, 'RESOLVED', now(), false, now(), NULL, NULL, NULL, now(), 0), "
        "('c', 1, 2, 'WAITING_CUSTOMER', now(), false, now(), NULL, NULL, NULL, NULL, 0), "
        "('d', 1, 1, 'TRIAGED', now(), false, NULL, NULL, NULL, NULL, NULL, 0)",
    )

    # Then a quarter of the tickets sent a nudge and half were asked their rating
    assert (mail.nudges, mail.ratings) == (0.25, 0.5)
    # priced like any SES message: $0.10 per 1,000 mails
    lines = {line.item: line for line in cost.mail_lines(mail, cost.load_prices())}
    assert lines["SES nudge mails (auto-close)"].usd == pytest.approx(0.025)
    assert lines["SES rating question mails (CSAT)"].usd == pytest.approx(0.05)


def test_tms_cost_from_a_stack_that_is_not_running_says_so_and_exits_2(tmp_path: Path, monkeypatch, capsys):
    from contract import names
    from tools.cli import main

    monkeypatch.setenv(names.ENV_STATE_DIR, str(tmp_path / "no-stack"))
    monkeypatch.delenv(names.ENV_STREAM_NAME, raising=False)
    assert main(["cost", "--from", "stack", "--template", str(tmp_path / "unused.json")]) == 2
    assert "no stack to talk to" in capsys.readouterr().err


def test_every_object_the_warehouse_loads_is_billed_with_its_manifest_marker():
    from pipeline.domain.usage import workflow_usage
    from tests.conftest import make_ticket

    usage = workflow_usage(
        make_ticket(),
        TicketUsage(),
        pii_detected=False,
        incident_failed=False,
        update_bytes=500,
        message_bytes=2_000,
        archive_objects=1,
    )
    # The kept input, tickets/<id>.json with its marker, and the one lifecycle record with its marker: the
    # claim and the vector write leave the item PROCESSING, which the lifecycle feed skips.
    assert usage.s3_put_requests == 1 + 2 + 2
    with_original = workflow_usage(
        make_ticket(),
        TicketUsage(),
        pii_detected=True,
        incident_failed=False,
        update_bytes=500,
        message_bytes=2_000,
        archive_objects=2,
    )
    assert with_original.s3_put_requests == 6  # the PII original under originals/ gets no marker


def test_a_triaged_ticket_writes_one_lifecycle_record_as_the_usage_model_counts():
    from pipeline.domain.lifecycle_feed import lifecycle_record

    def change(old: dict | None, new: dict) -> dict:
        image = lambda d: {k: {"S": v} for k, v in d.items()}  # noqa: E731
        body = {"NewImage": image(new), "ApproximateCreationDateTime": 1_700_000_000, "SequenceNumber": "1"}
        if old is not None:
            body["OldImage"] = image(old)
        return {"eventName": "MODIFY" if old else "INSERT", "dynamodb": body}

    tid = "TKT-20261125-0123456789"
    claimed = {"ticket_id": tid, "status": "PROCESSING"}
    with_vector = {**claimed, "embedding_day": "2026-11-25"}
    triaged = {**with_vector, "status": "TRIAGED", "priority": "HIGH"}
    records = [lifecycle_record(change(None, claimed)), lifecycle_record(change(claimed, with_vector))]
    records.append(lifecycle_record(change(with_vector, triaged)))
    assert [r is not None for r in records] == [False, False, True]


# --- Express ----------------------------------------------------------------------------------------------


def _express_facts() -> cost.StackFacts:
    template = json.loads(json.dumps(TEMPLATE))
    template["Resources"]["Machine"]["Properties"]["StateMachineType"] = "EXPRESS"
    return cost.stack_facts(template, model_id=MODEL, schedule_minutes=120)


def test_an_express_workflow_is_priced_per_request_and_gb_second_not_per_transition():
    usage = TicketUsage(state_transitions=11, lambda_gb_seconds=0.5, lambda_requests=9)
    est = cost.estimate([usage], _express_facts(), cost.load_prices())
    lines = {line.item.split(" (")[0]: line for line in est.variable}
    assert "Step Functions Standard transitions" not in lines
    assert lines["Step Functions Express requests"].usd == pytest.approx(1.0 / 1_000_000 * 1000)
    # 0.5 GB-s at the smallest task function's 256 MB = 2 s of functions, + 11 states x 0.05 s = 2.55 s,
    # billed as 2.6 s at 64 MB.
    duration = lines["Step Functions Express duration"]
    assert "2.6 s x 64 MB" in duration.item
    assert duration.quantity == pytest.approx(2.6 * 64 / 1024)
    assert duration.usd == pytest.approx(2.6 * 64 / 1024 * 0.00001667 * 1000)
    assert est.variable_usd_per_1000 == pytest.approx(sum(line.usd for line in est.variable))
    assert any("Express workflow" in note for note in est.notes)


def test_express_duration_is_rounded_up_to_100_ms_and_capped_at_5_minutes():
    assert cost.express_seconds({"lambda_gb_seconds": 0.0, "state_transitions": 1}) == 0.1
    assert cost.express_seconds({"lambda_gb_seconds": 0.25, "state_transitions": 0}) == 1.0
    assert cost.express_seconds({"lambda_gb_seconds": 1000.0, "state_transitions": 11}) == 300.0


def test_the_same_usage_costs_less_on_express_than_on_standard():
    usage = TicketUsage(state_transitions=11, lambda_gb_seconds=0.5, comprehend_sentiment_units=3)
    standard = cost.estimate([usage], _facts(), cost.load_prices()).variable_usd_per_1000
    express = cost.estimate([usage], _express_facts(), cost.load_prices()).variable_usd_per_1000
    assert standard - express == pytest.approx(11 * 0.025 - 0.001 - 2.6 * 64 / 1024 * 0.01667, abs=1e-9)


def test_the_default_deployment_is_an_express_workflow():
    config = load_config(read_cdk_json_context(), {})
    assert config.workflow_type == "EXPRESS"
    assert load_config(read_cdk_json_context(), {"TMS_DEPLOY_WORKFLOW_TYPE": "STANDARD"}).workflow_type == (
        "STANDARD"
    )


# --- the goal, on a fixed realistic fixture ---------------------------------------------------------------


def _realistic_usages(tickets: int = 200) -> list[TicketUsage]:
    """What the default workflow records for generator tickets (their real lengths, so PII detection's units
    follow the text), with the per-ticket figures measured by bench/cost.py (2026-12-07: 1,255 input and 248
    output tokens, 120 embedding tokens) and the AWS function time docs/cost.md models (1.9 GB-s: the
    functions wait ~1.5 s on Bedrock), not this machine's."""
    from pipeline.domain.usage import workflow_usage
    from tools.generator import generate_tickets

    steps = TicketUsage(
        llm_input_tokens=1255, llm_output_tokens=248, embedding_input_tokens=120, lambda_requests=3,
        lambda_gb_seconds=1.9, dynamodb_write_units=1,
    )  # fmt: skip
    return [
        workflow_usage(
            generated.event,
            steps,
            pii_detected=True,
            incident_failed=False,
            update_bytes=2_000,
            message_bytes=4_000,
            archive_objects=2,
        )
        for generated in generate_tickets(tickets, seed=7)
    ]


def test_the_default_configuration_costs_at_most_1_dollar_per_1000_tickets_with_the_reply_mail():
    config = load_config(read_cdk_json_context(), {})
    template = _express_template()
    facts = cost.stack_facts(template, model_id=config.model_id, schedule_minutes=config.schedule_minutes)
    assert config.pii_redaction and config.workflow_type == "EXPRESS"
    # Every ticket answered once, half the customers write back once (a generous assumption), every ticket
    # ends with its rating question and 30 % of them were nudged first (issue 32)
    mail = cost.MailUsage(replies=1.0, inbound=0.5, inbound_chunks=0.5, nudges=0.3, ratings=1.0)
    est = cost.estimate(_realistic_usages(), facts, cost.load_prices(), mail=mail)
    lines = {line.item.split(" (")[0]: line.usd for line in est.variable}
    assert lines["Comprehend DetectSentiment"] == 0  # computed at intake
    assert 0.30 <= lines["Comprehend DetectPiiEntities"] <= 0.60  # the whole text: ~5 units a ticket
    assert lines["SES reply mails"] == pytest.approx(0.10)
    # the goal is read on triage and the answer, the reply mail and the customer's mail back included
    assert est.triage_usd_per_1000 <= cost.GOAL_USD_PER_1000
    assert est.triage_usd_per_1000 + sum(cost.FEATURE_BUDGET_USD_PER_1000.values()) <= cost.GOAL_USD_PER_1000
    # the follow-up mails are priced on top, within their own budget, and the one figure holds both
    assert est.followup_usd_per_1000 == pytest.approx(0.13)
    assert est.followup_usd_per_1000 <= sum(cost.FOLLOWUP_BUDGET_USD_PER_1000.values())
    assert est.variable_usd_per_1000 == pytest.approx(est.triage_usd_per_1000 + est.followup_usd_per_1000)
    assert est.variable_usd_per_1000 > cost.GOAL_USD_PER_1000  # all-in it is over: docs/cost.md says so


def test_tms_cost_shows_the_goal_on_triage_and_the_follow_up_mail_apart():
    facts = cost.stack_facts(_express_template(), model_id=MODEL, schedule_minutes=120)
    mail = cost.MailUsage(replies=1.0, nudges=0.5, ratings=1.0)
    est = cost.estimate(_realistic_usages(20), facts, cost.load_prices(), mail=mail)

    text = cost.render(est)
    doc = est.to_dict()

    assert "of which follow-up mail (nudge, rating)" in text
    assert f"{est.followup_usd_per_1000:.4f}" in text and f"{est.triage_usd_per_1000:.4f}" in text
    assert doc["followup_mail_usd_per_1000_tickets"] == pytest.approx(0.15)
    assert doc["triage_usd_per_1000_tickets"] == pytest.approx(doc["variable_usd_per_1000_tickets"] - 0.15)
    assert doc["within_goal"] is (doc["triage_usd_per_1000_tickets"] <= cost.GOAL_USD_PER_1000)


def test_the_budget_tables_in_docs_are_the_ones_tms_cost_checks():
    from contract import names

    doc = (names.REPO_ROOT / "docs" / "cost.md").read_text()
    for feature, usd in {**cost.FEATURE_BUDGET_USD_PER_1000, **cost.FOLLOWUP_BUDGET_USD_PER_1000}.items():
        assert f"| {feature} | {usd:.2f} |" in doc


# --- knowledge-base retrieval (issue 30, docs/decisions/0020-knowledge-base-store.md) ---------------------


def _with_knowledge_base(template: dict) -> dict:
    doc = json.loads(json.dumps(template))
    doc["Resources"]["DraftReply"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Environment": {"Variables": {"TMS_KB_PROVIDER": "s3", "TMS_MODEL_ID": MODEL}}},
    }
    return doc


def test_a_stack_that_grounds_drafts_is_charged_its_index_reads_and_one_that_does_not_is_not():
    usage = [TicketUsage(llm_input_tokens=1000, lambda_requests=3)]
    grounded = cost.stack_facts(
        _with_knowledge_base(_express_template()), model_id=MODEL, schedule_minutes=120
    )
    plain = cost.stack_facts(_express_template(), model_id=MODEL, schedule_minutes=120)

    with_kb = {line.item: line.usd for line in cost.estimate(usage, grounded, cost.load_prices()).variable}
    without = {line.item: line.usd for line in cost.estimate(usage, plain, cost.load_prices()).variable}

    reads = "Knowledge-base index reads (S3 HEAD + GET, at most)"
    assert grounded.knowledge_base and not plain.knowledge_base
    assert with_kb[reads] == pytest.approx(2 * 0.0004)  # a HEAD and a GET per ticket at most, $0.0004 / 1,000
    assert reads not in without


def test_knowledge_base_retrieval_as_measured_fits_its_budget_row():
    # bench/kb_index.py, 2026-12-07 (260 hand-written tickets, examples/kb): the draft step embeds 62 tokens
    # of redacted ticket on average and the quotations add 130 prompt tokens (p95 309); the search adds
    # ~0.15 s of the 1,024 MB draft function at most (Titan call + HEAD). Priced at the p95 prompt.
    config = load_config(read_cdk_json_context(), {})
    assert config.knowledge_base  # on by default
    facts = cost.stack_facts(
        _with_knowledge_base(_express_template()), model_id=config.model_id, schedule_minutes=120
    )
    plain = cost.stack_facts(_express_template(), model_id=config.model_id, schedule_minutes=120)
    base = _realistic_usages(50)
    grounded = [
        u.plus(TicketUsage(llm_input_tokens=309, embedding_input_tokens=62, lambda_gb_seconds=0.15))
        for u in base
    ]

    added = (
        cost.estimate(grounded, facts, cost.load_prices()).variable_usd_per_1000
        - cost.estimate(base, plain, cost.load_prices()).variable_usd_per_1000
    )

    assert 0 < added <= cost.FEATURE_BUDGET_USD_PER_1000["knowledge-base retrieval"]


def test_a_stack_that_keeps_precedents_is_charged_them_per_resolved_ticket_and_one_that_does_not_is_not():
    usage = [TicketUsage(llm_input_tokens=1000, lambda_requests=3)]
    template = _express_template()
    template["Resources"]["Lifecycle"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Environment": {"Variables": {"TMS_PRECEDENT_BASE_URL": "https://help.example.com/t"}}
        },
    }
    keeping = cost.stack_facts(template, model_id=MODEL, schedule_minutes=120)
    plain = cost.stack_facts(_express_template(), model_id=MODEL, schedule_minutes=120)

    with_precedents = cost.estimate(usage, keeping, cost.load_prices())
    without = cost.estimate(usage, plain, cost.load_prices())

    added = {line.item: line.usd for line in with_precedents.variable if line.item.startswith("Precedents")}
    assert keeping.precedents and not plain.precedents
    assert not [line for line in without.variable if line.item.startswith("Precedents")]
    # one DetectPiiEntities call of 17 units per resolved ticket dominates: $1.70 per 1,000
    assert added["Precedents: Comprehend DetectPiiEntities"] == pytest.approx(1.70)
    assert with_precedents.triage_usd_per_1000 - without.triage_usd_per_1000 == pytest.approx(
        sum(added.values())
    )


def test_a_stack_that_asks_the_second_opinion_is_charged_its_modeled_calls_and_one_that_does_not_is_not():
    usage = [TicketUsage(llm_input_tokens=1000, lambda_requests=3)]
    template = _express_template()
    template["Resources"]["LinkIncident"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Environment": {"Variables": {"TMS_INCIDENT_JUDGE": "reply-model"}}},
    }
    asking = cost.stack_facts(template, model_id=MODEL, schedule_minutes=120)
    plain = cost.stack_facts(_express_template(), model_id=MODEL, schedule_minutes=120)

    with_judge = cost.estimate(usage, asking, cost.load_prices())
    without = cost.estimate(usage, plain, cost.load_prices())

    price = cost.load_prices().model(MODEL)
    lines = {
        line.item: line for line in with_judge.variable if line.item.startswith("Incident second opinion")
    }
    assert asking.incident_second_opinion and not plain.incident_second_opinion
    assert len(lines) == 2 and not [line for line in without.variable if "second opinion" in line.item]
    # 0.262 calls a ticket x (700 prompt + 15 answer tokens) at the reply model's prices, per 1,000 tickets
    expected = 0.262 * (700 * price.input_usd_per_1k + 15 * price.output_usd_per_1k)
    assert sum(line.usd for line in lines.values()) == pytest.approx(expected)
    assert with_judge.variable_usd_per_1000 - without.variable_usd_per_1000 == pytest.approx(expected)
    assert any("second opinion" in note and "upper bound" in note for note in with_judge.notes)
    assert "Incident second opinion, input tokens" in cost.render(with_judge)
