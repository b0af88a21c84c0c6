"""bench/incident_judge.py answers the product's judge port from the labels: through the shipped link decision
it is asked only about a best candidate scored between the lower bound and the threshold that candidate needs,
and the ticket is linked only when it says same problem."""

from __future__ import annotations

import dataclasses
import random

from bench.incident_judge import LabelJudge
from pipeline.domain.incident_signals import FEATURES, LinkModel
from pipeline.domain.incidents import Neighbour, Profile, link_by_model

# Every feature weighted 0: each candidate group scores sigmoid(0) = 0.5, under the 0.6 a lone ticket needs.
FLAT = LinkModel(weights=dict.fromkeys(FEATURES, 0.0), bias=0.0, threshold=0.75, open_threshold=0.6)
TEXTS = {"new": "uploads fail with 503", "old": "s3 puts erroring since 10:40"}
IDS = {text: tid for tid, text in TEXTS.items()}


def _link(truth: dict[str, str | None], lower: float, accuracy: float = 1.0) -> tuple[bool, list[int]]:
    judge = LabelJudge(truth, IDS, accuracy, random.Random(0))
    result = link_by_model(
        Profile(),
        [Neighbour("old", 0.9, text=TEXTS["old"])],
        dataclasses.replace(FLAT, judge_lower=lower),
        ticket_id="new",
        judge=judge,
        text=TEXTS["new"],
    )
    return result.linked, judge.asked


def test_a_candidate_in_the_band_is_linked_only_when_the_judge_says_same_problem() -> None:
    same, asked_same = _link({"new": "inc1", "old": "inc1"}, lower=0.4)
    other, asked_other = _link({"new": "inc1", "old": None}, lower=0.4)

    assert (same, other) == (True, False)
    # One call each, priced with the shipped prompt (its rules and both quoted texts: well over 150 tokens)
    assert len(asked_same) == len(asked_other) == 1 and asked_same[0] > 150


def test_a_candidate_under_the_lower_bound_is_not_asked_about() -> None:
    linked, asked = _link({"new": "inc1", "old": "inc1"}, lower=0.55)

    assert (linked, asked) == (False, [])


def test_a_judge_that_is_always_wrong_links_the_stranger_and_not_the_mate() -> None:
    mate, _ = _link({"new": "inc1", "old": "inc1"}, lower=0.4, accuracy=0.0)
    stranger, _ = _link({"new": "inc1", "old": None}, lower=0.4, accuracy=0.0)

    assert (mate, stranger) == (False, True)
