"""Generated tickets: valid, unique, reproducible, varied, in the catalog's proportions and tones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from contract.catalog import SCENARIOS, SENTIMENT_WEIGHTS, UnknownProductError
from contract.models import Source, TicketSubmitted, is_ticket_id
from local.sentiment import detect_sentiment
from tools.evaluation import EXPECTED_LABEL
from tools.generator import (
    LangChainTicketWriter,
    generate_incident_bursts,
    generate_tickets,
    target_quota,
)

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ten_thousand():
    return generate_tickets(10_000, seed=42, now=NOW)


def test_ten_thousand_offline_tickets_all_validate_with_unique_ids(ten_thousand):
    assert len(ten_thousand) == 10_000
    ids = [t.event.ticketId for t in ten_thousand]
    assert len(set(ids)) == 10_000
    for t in ten_thousand:
        assert is_ticket_id(t.event.ticketId)
        assert t.event.source is Source.GENERATOR
        # A round trip through the wire format re-runs every contract check (byte limits included).
        assert TicketSubmitted.model_validate_json(t.event.to_record_bytes()) == t.event


def test_no_generated_customer_can_be_mailed_for_real(ten_thousand):
    # Bulk-loaded into a deployed stack, an approved reply goes to the ticket's address: every generated
    # address is under the reserved top-level domain .example (RFC 6761), never a real provider's
    domains = {t.event.data.customer.email.rsplit("@", 1)[1] for t in ten_thousand}
    assert all(d.endswith(".example") for d in domains), sorted(
        d for d in domains if not d.endswith(".example")
    )[:5]
    assert len(domains) > 100  # still many companies, so per-domain behaviour is exercised


def test_every_catalog_pair_appears(ten_thousand):
    seen = {(t.event.data.product, t.event.data.issue_type) for t in ten_thousand}
    assert seen == {(s.product, s.issue_type) for s in SCENARIOS}


def test_a_batch_as_large_as_the_catalog_covers_every_pair_once():
    tickets = generate_tickets(len(SCENARIOS), seed=1, now=NOW)
    assert len({(t.event.data.product, t.event.data.issue_type) for t in tickets}) == len(SCENARIOS)


def test_customers_are_diverse(ten_thousand):
    customers = [t.event.data.customer for t in ten_thousand]
    assert len({c.full_name for c in customers}) >= 1_000
    assert len({c.company for c in customers}) >= 1_000
    assert len({c.email.split("@")[1] for c in customers}) >= 500
    assert len({c.first_name for c in customers}) >= 500


def test_target_proportions_are_within_two_points_of_the_weights(ten_thousand):
    counts = Counter(t.target for t in ten_thousand)
    for target, weight in SENTIMENT_WEIGHTS.items():
        assert abs(counts[target] / 10_000 - weight) <= 0.02, target


def test_target_quota_is_exact_for_small_counts():
    assert Counter(target_quota(50)) == {
        "NEGATIVE": 11,
        "SLIGHTLY NEGATIVE": 14,
        "NEUTRAL": 15,
        "SLIGHTLY POSITIVE": 6,
        "POSITIVE": 4,
    }
    assert len(target_quota(7)) == 7


def test_same_seed_and_time_give_the_same_tickets():
    assert generate_tickets(200, seed=7, now=NOW) == generate_tickets(200, seed=7, now=NOW)


def test_different_seeds_give_different_tickets():
    a = generate_tickets(50, seed=1, now=NOW)
    b = generate_tickets(50, seed=2, now=NOW)
    assert {t.event.ticketId for t in a}.isdisjoint({t.event.ticketId for t in b})


def test_ticket_ids_carry_the_submission_day_and_times_end_at_now():
    tickets = generate_tickets(5, seed=3, now=NOW)
    assert all(t.event.ticketId.startswith("TKT-20250304-") for t in tickets)
    assert tickets[-1].event.submittedAt == NOW
    assert [t.event.submittedAt for t in tickets] == sorted(t.event.submittedAt for t in tickets)


def test_text_names_the_scenario_specifics():
    for t in generate_tickets(300, seed=5, now=NOW):
        scenario = next(
            s
            for s in SCENARIOS
            if (s.product, s.issue_type) == (t.event.data.product, t.event.data.issue_type)
        )
        text = t.event.data.sentiment_text()
        # The description carries one of the scenario's own symptoms (its fixed words, before placeholders).
        assert any(
            symptom.split("{")[0].strip()[:12].lower() in text.lower() for symptom in scenario.symptoms
        )


def test_offline_sentiment_analyzer_agrees_with_the_target(ten_thousand):
    per_target: dict[str, Counter[str]] = {}
    for t in ten_thousand[:2_000]:
        label = detect_sentiment(t.event.data.sentiment_text())["Sentiment"]
        per_target.setdefault(t.target, Counter())[label] += 1
    for target, labels in per_target.items():
        agreement = labels[EXPECTED_LABEL[target]] / sum(labels.values())
        assert agreement >= 0.9, (target, labels)


def test_angry_tickets_read_more_negative_than_mildly_unhappy_ones(ten_thousand):
    def mean_negative(target: str) -> float:
        scores = [
            detect_sentiment(t.event.data.sentiment_text())["SentimentScore"]["Negative"]
            for t in ten_thousand[:2_000]
            if t.target == target
        ]
        return sum(scores) / len(scores)

    assert mean_negative("NEGATIVE") > mean_negative("SLIGHTLY NEGATIVE") + 0.1


def test_product_filter_limits_the_scenarios():
    tickets = generate_tickets(20, seed=1, now=NOW, products=["AWS KMS"])
    assert {t.event.data.product for t in tickets} == {"AWS KMS"}


def test_unknown_product_filter_raises():
    with pytest.raises(UnknownProductError):
        generate_tickets(5, seed=1, products=["Amazon Nothing"])


def test_zero_tickets_is_an_empty_list():
    assert generate_tickets(0, seed=1) == []


# --- LLM writer -------------------------------------------------------------------------------------------


class ToolFakeChatModel(GenericFakeChatModel):
    """GenericFakeChatModel cannot do structured output; binding tools is all it lacks (FACTS.md)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _tool_answer(args: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "LlmTicketText", "args": args, "id": "call-1"}])


def test_llm_writer_output_is_validated_and_a_bad_answer_is_retried():
    good = {
        "subject": "Lambda timeouts on the orders function",
        "description": "Our orders function times out after 30 seconds when it calls the payment API. "
        "We raised the timeout and added logging. What should we check next?",
    }
    too_short = {"subject": "x", "description": "short"}
    chat = ToolFakeChatModel(messages=iter([_tool_answer(too_short), _tool_answer(good)]))
    writer = LangChainTicketWriter(chat, attempts=2, backoff=False)

    [ticket] = generate_tickets(1, seed=1, now=NOW, writer=writer)

    assert ticket.event.data.subject == good["subject"]
    assert ticket.event.data.description == good["description"]


def test_llm_writer_gives_up_after_its_attempts():
    bad = {"subject": "x", "description": "short"}
    chat = ToolFakeChatModel(messages=iter([_tool_answer(bad)] * 2))
    with pytest.raises(Exception, match="validation error"):
        generate_tickets(1, seed=1, now=NOW, writer=LangChainTicketWriter(chat, attempts=2, backoff=False))


def test_independent_tickets_of_one_product_name_different_regions_so_they_read_as_different_problems() -> (
    None
):
    # Given a run large enough for every product to come up several times, its writer's facts recorded
    from tools.generator import TemplateWriter

    chosen: list[tuple[str, str, str]] = []

    class Recording(TemplateWriter):
        def write(self, scenario, target, facts, rng):  # type: ignore[no-untyped-def]
            text = super().write(scenario, target, facts, rng)
            chosen.append((scenario.product, facts["region"], text.description))
            return text

    generate_tickets(300, seed=11, now=datetime(2026, 12, 7, 4, tzinfo=UTC), writer=Recording())
    # Then every ticket names its region, and two tickets of one product never have the same one
    assert all(region in description for _, region, description in chosen)
    by_product: dict[str, list[str]] = {}
    for product, region, _ in chosen:
        by_product.setdefault(product, []).append(region)
    assert max(len(r) for r in by_product.values()) > 3
    for product, regions in by_product.items():
        assert len(regions) == len(set(regions)), product


def test_incident_bursts_are_the_only_incidents_the_link_score_finds_in_generated_load() -> None:
    # Given a burst generator set, grouped by the shipped link model on the offline embedder
    from contract import defaults
    from local.embeddings import OfflineEmbedder
    from pipeline.domain.incident_signals import LinkModel
    from pipeline.domain.incidents import incident_text, profile_of
    from tools.incident_eval import pairwise_scores, replay, truth_groups

    burst = generate_incident_bursts(10, 60, seed=5, now=datetime(2026, 12, 7, 4, tzinfo=UTC))
    embedder = OfflineEmbedder()
    events = [t.event for t in burst.tickets]
    vectors = embedder.embed([incident_text(e.data) for e in events])
    model = LinkModel.from_data(defaults.INCIDENT_LINK_MODELS[embedder.model_id])
    got = replay(
        [(e.ticketId, e.submittedAt) for e in events],
        vectors,
        model=model,
        profiles=[profile_of(e.data, e.submittedAt) for e in events],
    )
    scores = pairwise_scores(got, truth_groups(burst.incidents, burst.unrelated))
    # Then what it groups is (almost all) the bursts, and it finds most of their pairs
    assert scores.precision >= defaults.INCIDENT_RECONCILE_TOLERANCE["precision"]
    assert scores.recall >= defaults.INCIDENT_RECONCILE_TOLERANCE["recall"]


def test_a_generated_load_never_holds_more_tickets_than_asked_small_loads_fewer_bursts():
    from tools.generator import generated_load

    for count in (3, 12, 40):
        load, truth = generated_load(count, 3, seed=5)
        assert len(load) == count == len(truth)
        assert {t.event.ticketId for t in load} == set(truth)
    _small, small_truth = generated_load(12, 3, seed=5)
    _big, big_truth = generated_load(40, 3, seed=5)
    assert len({v for v in small_truth.values() if v}) < len({v for v in big_truth.values() if v}) == 3
