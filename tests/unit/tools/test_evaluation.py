"""`tms eval` checks: each policy rule caught on a crafted bad reply; truth files; confusion; judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from moto import mock_aws

from pipeline.domain.policy import RULES
from tools.evaluation import (
    ALL_RULES,
    EvaluationInputError,
    JudgeScores,
    LangChainJudge,
    TruthFileError,
    check_record,
    evaluate,
    read_archive_records,
    read_truth,
    render_report,
    write_truth,
)

TICKET = "TKT-20250304-ABCDEFGHJK"
OTHER = "TKT-20250304-ZZZZZZZZZZ"

GOOD_REPLY = (
    "Hello Maria,\n\n"
    f"Thank you for contacting us about ticket {TICKET}. We reviewed the timeouts on your function.\n\n"
    "1. Check the function timeout setting in the Lambda console.\n"
    "2. Review the duration metric for the downstream calls.\n\n"
    "A specialist will contact you within 2-4 hours. Could you share a request id from a slow invocation?\n"
)


def record(reply: str = GOOD_REPLY, **overrides: Any) -> dict[str, Any]:
    base = {
        "ticket_id": TICKET,
        "customer_first_name": "Maria",
        "product": "AWS Lambda",
        "issue_type": "Function Timeout",
        "subject": "Lambda timeouts",
        "description": "Our function times out.",
        "response_text": reply,
        "priority": "HIGH",
        "sentiment": "NEGATIVE",
    }
    return base | overrides


def rules_broken(rec: dict[str, Any]) -> set[str]:
    return {rule for rule, _ in check_record(rec).violations}


def test_a_compliant_reply_breaks_no_rule():
    assert rules_broken(record()) == set()


BAD_REPLIES = {
    "cites_ticket_id": record(GOOD_REPLY.replace(TICKET, OTHER)),
    "word_limit": record(GOOD_REPLY.replace("We reviewed", "We reviewed " + "really " * 230)),
    "no_contractions": record(GOOD_REPLY.replace("We reviewed", "We've reviewed")),
    "no_exclamation": record(GOOD_REPLY.replace("function.\n", "function!\n")),
    "steps_2_to_3": record(GOOD_REPLY.replace("2. Review", "Review")),
    "escalation_matches_priority": record(priority="NORMAL"),
    "greeting": record(GOOD_REPLY.replace("Hello Maria,", "Maria,")),
    "asks_for_information": record(
        GOOD_REPLY.replace("Could you share a request id from a slow invocation?", "We will be in touch.")
    ),
    "priority_valid": record(priority="P1"),
}


def test_every_rule_has_a_crafted_bad_reply():
    assert set(BAD_REPLIES) == set(ALL_RULES) == {*RULES, "priority_valid"}


@pytest.mark.parametrize("rule", sorted(BAD_REPLIES))
def test_each_rule_is_caught_on_its_crafted_bad_reply(rule):
    assert rule in rules_broken(BAD_REPLIES[rule])


def test_greeting_must_address_the_customer_by_name():
    assert "greeting" in rules_broken(record(customer_first_name="Ana"))


def test_reply_citing_a_second_ticket_breaks_the_citation_rule():
    assert "cites_ticket_id" in rules_broken(record(GOOD_REPLY + f"See also {OTHER}.\n"))


def test_invalid_priority_is_reported_without_a_spurious_escalation_violation():
    assert rules_broken(record(priority="High")) == {"priority_valid"}


def test_report_counts_violations_per_rule_and_compliance():
    records = [record(), BAD_REPLIES["no_exclamation"], BAD_REPLIES["priority_valid"]]
    report = evaluate(records)
    assert (report.records, report.compliant) == (3, 1)
    assert report.rule_violations["no_exclamation"] == 1
    assert report.rule_violations["priority_valid"] == 1
    assert report.rule_violations["word_limit"] == 0
    as_json = report.as_dict()
    assert as_json["rules"]["no_exclamation"]["pass_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert as_json["rules"]["no_exclamation"]["examples"][0].startswith(TICKET)
    text = render_report(report)
    for rule in ALL_RULES:
        assert rule in text


def test_generator_events_are_not_mistaken_for_processed_records():
    with pytest.raises(EvaluationInputError, match="not a processed record"):
        evaluate([{"ticketId": TICKET, "data": {}}])


# --- Truth files and the confusion table ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["truth.json", "truth.csv"])
def test_truth_file_round_trips(tmp_path: Path, name: str):
    truth = {TICKET: "SLIGHTLY NEGATIVE", OTHER: "POSITIVE"}
    write_truth(tmp_path / name, truth)
    assert read_truth(tmp_path / name) == truth


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.json", "{not json", "not valid JSON"),
        ("t.json", "[1, 2]", "expected a JSON object"),
        ("t.json", json.dumps({"no pe": "NEGATIVE"}), "'no pe' is not a ticket id"),
        ("t.json", json.dumps({TICKET: "ANGRY"}), "target 'ANGRY'"),
        ("t.json", "{}", "no entries"),
        ("t.csv", "id,sentiment\n", "header 'ticket_id,target'"),
        ("t.csv", f"ticket_id,target\n{TICKET},NEGATIVE,extra\n", ":2: expected 2 columns"),
    ],
)
def test_malformed_truth_file_is_a_clear_error(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TruthFileError, match=message):
        read_truth(path)


def test_missing_truth_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TruthFileError, match="cannot read truth file"):
        read_truth(tmp_path / "absent.json")


def test_confusion_table_compares_detected_sentiment_with_the_target():
    records = [
        record(ticket_id="TKT-20250304-0000000001", sentiment="NEGATIVE"),
        record(ticket_id="TKT-20250304-0000000002", sentiment="NEUTRAL"),
        record(ticket_id="TKT-20250304-0000000003", sentiment="POSITIVE"),
        record(ticket_id="TKT-20250304-0000000004", sentiment="NEUTRAL"),
    ]
    truth = {
        "TKT-20250304-0000000001": "SLIGHTLY NEGATIVE",
        "TKT-20250304-0000000002": "NEGATIVE",
        "TKT-20250304-0000000003": "POSITIVE",
    }
    report = evaluate(records, truth=truth)
    assert report.confusion["SLIGHTLY NEGATIVE"]["NEGATIVE"] == 1
    assert report.confusion["NEGATIVE"]["NEUTRAL"] == 1
    assert report.confusion["POSITIVE"]["POSITIVE"] == 1
    assert report.truth_missing == 1
    assert report.sentiment_agreement() == pytest.approx(2 / 3)
    assert "agreement with target: 66.7% of 3 tickets" in render_report(report)


# --- S3 archive -------------------------------------------------------------------------------------------


def test_records_are_read_from_the_archive_prefix_only():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="archive")
        for i in range(3):
            rec = record(ticket_id=f"TKT-20250304-000000000{i}")
            s3.put_object(
                Bucket="archive",
                Key=f"tickets/submitted_date=2025-03-04/{i}.json",
                Body=json.dumps(rec) + "\n",
            )
        s3.put_object(Bucket="archive", Key="quarantine/x.json", Body="not json")
        records = read_archive_records(s3, "archive")
    assert sorted(r["ticket_id"] for r in records) == [f"TKT-20250304-000000000{i}" for i in range(3)]


# --- LLM judge --------------------------------------------------------------------------------------------


class ToolFakeChatModel(GenericFakeChatModel):
    """GenericFakeChatModel cannot do structured output; binding tools is all it lacks (FACTS.md)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _scores(**values: Any) -> AIMessage:
    args = {
        "contextual_relevance": 5,
        "technical_accuracy": 4,
        "professional_tone": 3,
        "actionable_guidance": 4,
        "rationale": "ok",
    } | values
    return AIMessage(content="", tool_calls=[{"name": "JudgeScores", "args": args, "id": "c1"}])


def test_judge_scores_are_averaged_beside_the_deterministic_checks():
    chat = ToolFakeChatModel(messages=iter([_scores(), _scores(professional_tone=5)]))
    report = evaluate([record(), BAD_REPLIES["no_exclamation"]], judge=LangChainJudge(chat, backoff=False))
    assert report.judged == 2
    assert report.judge_scores == {
        "contextual_relevance": 5.0,
        "technical_accuracy": 4.0,
        "professional_tone": 4.0,
        "actionable_guidance": 4.0,
    }
    assert report.rule_violations["no_exclamation"] == 1  # the judge never overrides the rules


def test_out_of_range_judge_answer_is_retried_then_counted_as_an_error():
    chat = ToolFakeChatModel(
        messages=iter([_scores(professional_tone=9), _scores(), _scores(technical_accuracy=0)] * 2)
    )
    judge = LangChainJudge(chat, attempts=2, backoff=False)
    assert isinstance(judge.judge(record()), JudgeScores)  # first answer invalid, second accepted
    report = evaluate([record()], judge=LangChainJudge(chat, attempts=1, backoff=False))
    assert (report.judged, report.judge_errors) == (0, 1)
    assert report.records == 1


def test_judge_sample_limits_the_llm_calls():
    chat = ToolFakeChatModel(messages=iter([_scores()] * 2))
    report = evaluate([record()] * 5, judge=LangChainJudge(chat, backoff=False), judge_sample=2)
    assert report.judged == 2
