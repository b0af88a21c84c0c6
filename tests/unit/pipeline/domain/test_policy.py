"""The reply policy: each rule catches the reply that breaks it, and priorities follow sentiment x impact."""

from __future__ import annotations

import pytest

from contract.models import Priority, SentimentResult
from pipeline.domain.policy import (
    ESCALATION,
    RULES,
    WORD_LIMIT,
    Impact,
    business_impact,
    check_reply,
    decide_priority,
)

TICKET = "TKT-20250314-ABCDEFGHJK"
OTHER_TICKET = "TKT-20250313-ZZZZZZZZZZ"

GOOD_REPLY = f"""Hello Maria,

I am sorry that the Instance Connectivity problem with Amazon EC2 is disrupting your work.

Please try these steps now:
1. Check that the security group allows inbound traffic on port 22.
2. Confirm in the console that both instance status checks pass.
3. Verify the route table of the subnet.

Could you share the instance ID and the region?

Because of the impact on your business, a specialist will contact you within 2-4 hours.
Please quote ticket {TICKET} in any reply.

Kind regards,
The Support Team"""


def rules_broken(text: str, priority: Priority = Priority.HIGH, name: str | None = "Maria") -> set[str]:
    return {v.rule for v in check_reply(text, TICKET, priority, name)}


def sentiment(label: str, pos=0.0, neg=0.0, neu=0.0, mixed=0.0) -> SentimentResult:
    return SentimentResult.model_validate(
        {
            "Sentiment": label,
            "SentimentScore": {"Positive": pos, "Negative": neg, "Neutral": neu, "Mixed": mixed},
        }
    )


def test_given_a_reply_that_follows_every_rule_when_checked_then_no_violation():
    assert check_reply(GOOD_REPLY, TICKET, Priority.HIGH, "Maria") == []


def test_the_rules_are_the_eight_named_rules():
    assert RULES == (
        "cites_ticket_id",
        "word_limit",
        "no_contractions",
        "no_exclamation",
        "steps_2_to_3",
        "escalation_matches_priority",
        "greeting",
        "asks_for_information",
    )


@pytest.mark.parametrize(
    ("rule", "bad_reply"),
    [
        ("cites_ticket_id", GOOD_REPLY.replace(f"Please quote ticket {TICKET} in any reply.", "")),
        ("cites_ticket_id", GOOD_REPLY.replace(TICKET, OTHER_TICKET)),
        ("cites_ticket_id", GOOD_REPLY + f"\nSee also {OTHER_TICKET}."),
        ("word_limit", GOOD_REPLY + "\n" + "word " * WORD_LIMIT),
        ("no_contractions", GOOD_REPLY.replace("I am sorry", "I'm sorry")),
        ("no_contractions", GOOD_REPLY.replace("Could you share", "We can’t see")),
        ("no_contractions", GOOD_REPLY.replace("Please try", "It's best to try")),
        ("no_exclamation", GOOD_REPLY.replace("Hello Maria,", "Hello Maria!")),
        ("steps_2_to_3", GOOD_REPLY.replace("2. Confirm", "- Confirm").replace("3. Verify", "- Verify")),
        (
            "steps_2_to_3",
            GOOD_REPLY.replace("3. Verify the route table of the subnet.", "3. Verify.\n4. Retry."),
        ),
        ("steps_2_to_3", GOOD_REPLY.replace("2. Confirm", "3. Confirm").replace("3. Verify", "2. Verify")),
        ("escalation_matches_priority", GOOD_REPLY.replace("within 2-4 hours", "soon")),
        ("greeting", GOOD_REPLY.replace("Hello Maria,", "Maria,")),
        ("greeting", GOOD_REPLY.replace("Hello Maria,", "Hello there,")),
        ("asks_for_information", GOOD_REPLY.replace("Could you share the instance ID and the region?", "")),
    ],
)
def test_given_a_reply_breaking_one_rule_when_checked_then_exactly_that_rule_is_reported(rule, bad_reply):
    assert rules_broken(bad_reply) == {rule}


def test_given_a_high_reply_promising_a_normal_timeline_when_checked_then_escalation_is_wrong():
    reply = GOOD_REPLY.replace(ESCALATION[Priority.HIGH], ESCALATION[Priority.NORMAL])

    violations = check_reply(reply, TICKET, Priority.HIGH, "Maria")

    assert {v.rule for v in violations} == {"escalation_matches_priority"}
    assert any("NORMAL" in v.detail for v in violations)


def test_given_the_same_reply_when_checked_for_another_priority_then_escalation_is_wrong():
    assert rules_broken(GOOD_REPLY, Priority.MEDIUM) == {"escalation_matches_priority"}


def test_given_an_en_dash_and_capital_letter_in_the_escalation_when_checked_then_it_still_matches():
    reply = GOOD_REPLY.replace(
        "a specialist will contact you within 2-4 hours", "A specialist will contact you within 2–4 hours"
    )

    assert rules_broken(reply) == set()


def test_given_possessives_and_an_irish_name_when_checked_then_they_are_not_contractions():
    reply = GOOD_REPLY.replace("Hello Maria,", "Dear Maria O'Brien,").replace(
        "Verify the route table", "Verify Amazon EC2's route table and the customer's subnet"
    )

    assert rules_broken(reply) == set()


def test_given_no_first_name_when_checked_then_any_greeting_is_enough():
    assert rules_broken(GOOD_REPLY.replace("Hello Maria,", "Hello,"), name=None) == set()


def test_given_a_violation_then_its_detail_says_what_was_found():
    [violation] = check_reply(GOOD_REPLY.replace("I am sorry", "I'm sorry"), TICKET, Priority.HIGH, "Maria")

    assert violation.rule == "no_contractions"
    assert "I'm" in violation.detail


# --- decide_priority -------------------------------------------------------------------------------------


def test_given_an_angry_customer_and_an_outage_when_prioritised_then_high():
    priority, reasoning = decide_priority(
        sentiment("NEGATIVE", neg=0.95, neu=0.05), "Amazon EC2", "Instance Connectivity"
    )

    assert priority is Priority.HIGH
    assert "Instance Connectivity" in reasoning and "NEGATIVE" in reasoning


def test_given_a_happy_customer_with_a_billing_question_when_prioritised_then_normal():
    priority, _ = decide_priority(sentiment("POSITIVE", pos=0.9, neu=0.1), "AWS Billing", "Billing Question")

    assert priority is Priority.NORMAL


@pytest.mark.parametrize(
    ("result", "product", "issue", "expected"),
    [
        (sentiment("NEUTRAL", neu=0.9, neg=0.1), "AWS Glue", "ETL Job Failure", Priority.MEDIUM),
        (
            sentiment("MIXED", mixed=0.7, pos=0.1, neg=0.2),
            "AWS Lambda",
            "Cold Start Latency",
            Priority.MEDIUM,
        ),
        (sentiment("NEGATIVE", neg=0.9, neu=0.1), "AWS Billing", "Billing Question", Priority.MEDIUM),
        (sentiment("NEGATIVE", neg=0.6, neu=0.4), "Amazon S3", "Access Permissions", Priority.MEDIUM),
        (
            sentiment("NEGATIVE", neg=0.9, neu=0.1),
            "Cloud Analytics Dashboard",
            "Performance Issue",
            Priority.HIGH,
        ),
        (
            sentiment("NEUTRAL", neu=0.95, neg=0.05),
            "Cloud Analytics Dashboard",
            "Performance Issue",
            Priority.NORMAL,
        ),
        (sentiment("MIXED", mixed=0.6, pos=0.2, neg=0.2), "AWS Glue", "ETL Job Failure", Priority.HIGH),
    ],
)
def test_given_sentiment_and_impact_when_prioritised_then_the_matrix_decides(
    result, product, issue, expected
):
    assert decide_priority(result, product, issue)[0] is expected


@pytest.mark.parametrize(
    ("product", "issue", "impact"),
    [
        ("Amazon EC2", "Instance Connectivity", Impact.HIGH),
        ("AWS Glue", "ETL Job Failure", Impact.HIGH),
        ("Amazon RDS", "Data Loss", Impact.HIGH),
        ("Amazon S3", "Security Incident", Impact.HIGH),
        ("AWS IAM", "Role Setup", Impact.LOW),
        ("AWS KMS", "Key Rotation", Impact.HIGH),
        ("AWS Lambda", "Cold Start Latency", Impact.MODERATE),
        ("Amazon S3", "Access Permissions", Impact.MODERATE),
        ("Cloud Analytics Dashboard", "Performance Issue", Impact.MODERATE),
        ("AWS Billing", "Invoice Question", Impact.LOW),
        ("Amazon VPC", "Configuration Help", Impact.LOW),
    ],
)
def test_given_a_product_and_issue_type_then_business_impact_is_sensible(product, issue, impact):
    assert business_impact(product, issue) is impact
