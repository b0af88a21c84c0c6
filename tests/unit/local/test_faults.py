"""Fault injection: configuration parsing, validation and honoured probabilities."""

from __future__ import annotations

import threading

import pytest

from contract import names
from contract.errors import ConfigurationError
from local.faults import KNOWN_FAULTS, FaultPlan, active_plan, parse_faults


def test_given_a_fault_spec_when_parsed_then_each_name_gets_its_probability():
    spec = "llm_throttle:0.3, sentiment_error:0.05,dynamodb_throttle:0.02,s3_error:0.02,slack_429:0.1,notifier_crash:0.01"

    faults = parse_faults(spec)

    assert faults == {
        "llm_throttle": 0.3,
        "sentiment_error": 0.05,
        "dynamodb_throttle": 0.02,
        "s3_error": 0.02,
        "slack_429": 0.1,
        "notifier_crash": 0.01,
    }


def test_given_an_empty_spec_when_parsed_then_no_fault_is_enabled():
    plan = FaultPlan.from_env({names.ENV_FAULTS: " "})

    assert not plan.enabled
    assert not any(plan.should_fail(name) for name in KNOWN_FAULTS for _ in range(50))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("llm_throtle:0.3", "unknown fault 'llm_throtle'"),
        ("llm_throttle:1.5", "within [0, 1]"),
        ("llm_throttle:-0.1", "within [0, 1]"),
        ("llm_throttle:nan", "within [0, 1]"),
        ("llm_throttle:lots", "must be a number"),
        ("llm_throttle", "name:probability"),
        ("llm_throttle:0.1,llm_throttle:0.2", "given twice"),
    ],
)
def test_given_a_bad_fault_spec_when_read_then_configuration_error_names_the_problem(spec, message):
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        FaultPlan.from_env({names.ENV_FAULTS: spec})

    assert names.ENV_FAULTS in str(err.value)


def test_given_a_non_integer_seed_when_read_then_configuration_error_names_the_variable():
    with pytest.raises(ConfigurationError, match=names.ENV_FAULTS_SEED):
        FaultPlan.from_env({names.ENV_FAULTS: "llm_throttle:0.3", names.ENV_FAULTS_SEED: "abc"})


def test_given_a_thirty_percent_fault_when_drawn_many_times_then_about_thirty_percent_fire():
    plan = FaultPlan({"llm_throttle": 0.3}, seed=7)

    fired = sum(plan.should_fail("llm_throttle") for _ in range(10_000))

    # Binomial(10000, 0.3): sd ~46, so +-250 is over 5 sd and cannot flake with a fixed seed anyway.
    assert 2_750 <= fired <= 3_250
    assert plan.fired() == {"llm_throttle": fired}


def test_given_probabilities_zero_and_one_when_drawn_then_never_and_always_fire():
    plan = FaultPlan({"s3_error": 0.0, "slack_429": 1.0}, seed=1)

    assert not any(plan.should_fail("s3_error") for _ in range(1000))
    assert all(plan.should_fail("slack_429") for _ in range(1000))


def test_given_the_same_seed_when_drawn_then_the_fault_sequence_repeats():
    first = FaultPlan({"llm_throttle": 0.5, "s3_error": 0.2}, seed=42)
    second = FaultPlan({"llm_throttle": 0.5, "s3_error": 0.2}, seed=42)

    assert [first.should_fail("llm_throttle") for _ in range(200)] == [
        second.should_fail("llm_throttle") for _ in range(200)
    ]


def test_given_many_threads_when_drawing_then_every_draw_is_counted_once():
    plan = FaultPlan({"dynamodb_throttle": 1.0}, seed=3)

    def draw() -> None:
        for _ in range(500):
            plan.should_fail("dynamodb_throttle")

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert plan.fired() == {"dynamodb_throttle": 4_000}


def test_given_an_unknown_fault_name_in_code_when_asked_then_it_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan({}).should_fail("llm_throttel")


def test_given_the_environment_when_the_active_plan_is_read_then_it_is_cached(monkeypatch):
    monkeypatch.setenv(names.ENV_FAULTS, "llm_throttle:1")
    active_plan.cache_clear()
    try:
        plan = active_plan()
        monkeypatch.setenv(names.ENV_FAULTS, "")

        assert active_plan() is plan
        assert plan.should_fail("llm_throttle")
    finally:
        active_plan.cache_clear()
