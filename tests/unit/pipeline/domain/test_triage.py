"""Drafting replies: the offline model always meets the policy; a model that breaks the contract is refused."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from typing import Any

import pytest

from contract.errors import InvalidModelOutputError, LlmThrottledError, LlmUnavailableError
from contract.models import Customer, Priority, SentimentResult, Source, TicketData, TicketSubmitted
from local.faults import FaultPlan
from local.offline_reply import OFFLINE_MODEL_ID, OfflineReplyModel
from local.sentiment import detect_sentiment
from pipeline.domain.policy import ESCALATION, check_reply
from pipeline.domain.triage import TriageDraft, draft_reply

PRODUCTS = [
    ("Amazon EC2", "Instance Connectivity"),
    ("AWS Lambda", "Cold Start Latency"),
    ("Amazon S3", "Access Permissions"),
    ("AWS Glue", "ETL Job Failure"),
    ("Cloud Analytics Dashboard", "Performance Issue"),
    ("AWS Billing", "Billing Question"),
    ("Amazon RDS", "Data Loss"),
    ("Amazon VPC", "Configuration Help"),
]
MOODS = [
    "This is the third time this week and I am furious. Your service is terrible and unacceptable.",
    "Thank you for the great service, we love working with your team and the product is wonderful.",
    "It started this morning at 09:00 UTC in eu-west-1.",
    "I love the product and the team is great, but this is horrible and frustrating for our users.",
]
NAMES = ["Maria", "Ken", "Priya", "Seán", "O'Brien", "Zoë", "Li"]


def ticket(product: str, issue: str, mood: str, first_name: str = "Maria") -> TicketSubmitted:
    return TicketSubmitted.new(
        TicketData(
            subject=f"{issue} on {product}",
            description=f"We have a problem with {issue.lower()}. {mood}",
            product=product,
            issue_type=issue,
            customer=Customer(
                first_name=first_name,
                last_name="Doe",
                full_name=f"{first_name} Doe",
                email="customer@example.com",
                company="Acme",
            ),
        ),
        Source.GENERATOR,
    )


def sentiment_of(t: TicketSubmitted) -> SentimentResult:
    return SentimentResult.model_validate(detect_sentiment(t.data.sentiment_text()))


NO_FAULTS = FaultPlan({})


def test_given_many_varied_tickets_when_drafted_offline_then_every_reply_meets_the_policy_and_cites_its_own_id():
    model = OfflineReplyModel(faults=NO_FAULTS)
    priorities: Counter[Priority] = Counter()
    replies = set()
    for (product, issue), mood, name in itertools.product(PRODUCTS, MOODS, NAMES):
        t = ticket(product, issue, mood, name)

        result = draft_reply(t, sentiment_of(t), model)

        assert check_reply(result.response_text, t.ticketId, result.priority, name) == []
        assert t.ticketId in result.response_text
        assert ESCALATION[result.priority] in result.response_text
        assert result.model_id == OFFLINE_MODEL_ID
        priorities[result.priority] += 1
        replies.add(result.response_text.replace(t.ticketId, "").replace(name, ""))
    # The demo shows a spread of all three priorities, and replies are not one fixed template.
    assert set(priorities) == set(Priority)
    assert min(priorities.values()) >= 20
    assert len(replies) > 50


def test_given_the_same_ticket_twice_when_drafted_offline_then_the_reply_is_identical():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])
    s = sentiment_of(t)
    model = OfflineReplyModel(faults=NO_FAULTS)

    assert draft_reply(t, s, model) == draft_reply(t, s, model)


def test_given_customer_fields_with_forbidden_characters_when_drafted_offline_then_the_reply_still_complies():
    t = ticket("Bob's Dashboard!", "Can't connect!!", MOODS[2], first_name="Ann!")

    result = draft_reply(t, sentiment_of(t), OfflineReplyModel(faults=NO_FAULTS))

    assert "!" not in result.response_text
    assert "Cannot connect" in result.response_text


def test_given_maximum_length_fields_when_drafted_offline_then_the_reply_stays_within_the_word_limit():
    long_product = " ".join(["Amazon"] * 14)[:100]
    long_issue = " ".join(["Connectivity"] * 8)[:100]
    t = ticket(long_product, long_issue, MOODS[0], first_name="A" * 100)

    result = draft_reply(t, sentiment_of(t), OfflineReplyModel(faults=NO_FAULTS))

    assert result.priority is Priority.HIGH


def test_given_the_offline_model_module_then_langchain_is_not_imported():
    import subprocess

    code = (
        "import sys, pipeline.handlers.draft_reply, local.offline_reply;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'langchain_core','langchain_aws','langchain_openai','openai'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("fault", "error"), [("llm_throttle", LlmThrottledError), ("llm_unavailable", LlmUnavailableError)]
)
def test_given_an_llm_fault_configured_when_drafting_offline_then_the_typed_error_is_raised(fault, error):
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[2])

    with pytest.raises(error, match=fault):
        draft_reply(t, sentiment_of(t), OfflineReplyModel(faults=FaultPlan({fault: 1.0})))


def test_given_thirty_percent_throttling_when_drafting_many_then_about_thirty_percent_are_throttled():
    model = OfflineReplyModel(faults=FaultPlan({"llm_throttle": 0.3}, seed=11))
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[2])
    s = sentiment_of(t)
    throttled = 0
    for _ in range(1000):
        try:
            draft_reply(t, s, model)
        except LlmThrottledError:
            throttled += 1

    assert 240 <= throttled <= 360


def test_given_the_invalid_output_fault_when_drafting_offline_then_the_reply_is_refused():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[2])

    with pytest.raises(InvalidModelOutputError, match="cites_ticket_id"):
        draft_reply(t, sentiment_of(t), OfflineReplyModel(faults=FaultPlan({"llm_invalid_output": 1.0})))


# --- A reply model that breaks the contract -------------------------------------------------------------


class CannedModel:
    """A reply model that answers whatever the test gives it."""

    model_id = "fake-llm"

    def __init__(self, answer: Any):
        self.answer = answer

    def draft(self, ticket: TicketSubmitted, sentiment: SentimentResult) -> Any:
        return self.answer


def good_answer(t: TicketSubmitted) -> dict[str, Any]:
    draft = OfflineReplyModel(faults=NO_FAULTS).draft(t, sentiment_of(t))
    return draft.model_dump(mode="json")


def test_given_a_compliant_llm_answer_when_drafted_then_it_is_returned_under_the_llm_model_id():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])
    answer = good_answer(t) | {"model_id": "claimed-by-the-model"}

    result = draft_reply(t, sentiment_of(t), CannedModel(answer))

    assert result.model_id == "fake-llm"
    assert result.response_text == answer["response_text"]


def test_given_an_llm_answering_priority_urgent_when_drafted_then_invalid_output_and_nothing_returned():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])
    answer = good_answer(t) | {"priority": "URGENT"}
    returned = None

    with pytest.raises(InvalidModelOutputError, match="priority must be one of HIGH, MEDIUM, NORMAL"):
        returned = draft_reply(t, sentiment_of(t), CannedModel(answer))

    assert returned is None


def test_given_an_llm_citing_another_ticket_when_drafted_then_invalid_output_names_the_rule():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])
    answer = good_answer(t)
    answer["response_text"] = answer["response_text"].replace(t.ticketId, "TKT-20200101-ABCDEFGHJK")

    with pytest.raises(InvalidModelOutputError, match="cites_ticket_id") as err:
        draft_reply(t, sentiment_of(t), CannedModel(answer))

    assert "TKT-20200101-ABCDEFGHJK" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"response_text": "x" * 8001}, "response_text: is 8001 bytes"),
        ({"priority_reasoning": "   "}, "priority_reasoning: must not be blank"),
        ({"priority": "High"}, "priority must be one of"),
        ({"unexpected": 1}, "unexpected: Extra inputs are not permitted"),
    ],
)
def test_given_an_llm_answer_outside_the_schema_when_drafted_then_invalid_output_names_the_field(
    change, message
):
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])

    with pytest.raises(InvalidModelOutputError, match=message):
        draft_reply(t, sentiment_of(t), CannedModel(good_answer(t) | change))


def test_given_an_llm_answer_that_is_not_an_object_when_drafted_then_invalid_output():
    t = ticket("Amazon EC2", "Instance Connectivity", MOODS[0])

    with pytest.raises(InvalidModelOutputError, match="not an object"):
        draft_reply(t, sentiment_of(t), CannedModel("Dear Maria, ..."))


def test_given_a_pydantic_draft_when_drafted_then_it_is_accepted_like_a_dict():
    t = ticket("AWS Billing", "Billing Question", MOODS[1])
    draft = TriageDraft.model_validate(good_answer(t))

    assert draft_reply(t, sentiment_of(t), CannedModel(draft)).priority is Priority.NORMAL
