"""The second opinion on a borderline incident link (issue 29.2): when it is asked, what it sees, what it changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contract import defaults
from contract.errors import ConfigurationError, LlmThrottledError
from pipeline.adapters.vector_index import InMemoryVectorIndex
from pipeline.domain.incident_signals import FEATURES, LinkModel, Profile
from pipeline.domain.incidents import Neighbour, Verdict, judged_text, link_by_model, link_ticket
from tests.conftest import make_ticket

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)
NEW = "TKT-20261207-NEW0000001"
# Score = sigmoid(10 * cosine - 5): cosine 0.9 -> 0.98 (links alone), 0.45 -> 0.38 (the band), 0.2 -> 0.05.
MODEL = LinkModel(
    weights={name: 10.0 if name == "cosine" else 0.0 for name in FEATURES},
    bias=-5.0,
    threshold=0.75,
    judge_lower=0.3,
)


class Judge:
    """A judge that answers as told and remembers what it was shown."""

    model_id = "test-judge"

    def __init__(self, answer: bool | Exception):
        self.answer = answer
        self.asked: list[tuple[str, list[str]]] = []

    def same_problem(self, report: str, candidates: Sequence[str]) -> Verdict:
        self.asked.append((report, list(candidates)))
        if isinstance(self.answer, Exception):
            raise self.answer
        return Verdict(self.answer, input_tokens=480, output_tokens=12)


def _candidate(n: int, cosine: float, *, incident: str | None = None, text: str = "") -> Neighbour:
    return Neighbour(
        f"TKT-20261207-OLD000000{n}",
        cosine,
        incident,
        similarity=cosine,
        profile=Profile("Amazon S3", "Service Outage", f"Co{n}", frozenset(), T0 - timedelta(minutes=n)),
        text=text or f"Amazon S3: Service Outage. uploads time out in eu-west-1 (report {n})",
    )


def _link(neighbours: list[Neighbour], judge: Judge | None, text: str = "S3 puts hang since 9:00"):
    return link_by_model(Profile(submitted_at=T0), neighbours, MODEL, ticket_id=NEW, judge=judge, text=text)


def test_a_borderline_lone_candidate_the_judge_calls_the_same_problem_opens_an_incident_with_it() -> None:
    judge = Judge(True)
    link = _link([_candidate(1, 0.45)], judge)
    assert link.linked and link.opened and link.root_ticket_id == "TKT-20261207-OLD0000001"
    assert link.verdict == Verdict(True, 480, 12)
    # The judge read the new report's text and the candidate's stored text.
    assert judge.asked == [("S3 puts hang since 9:00", [_candidate(1, 0.45).text])]


def test_a_borderline_candidate_the_judge_calls_different_stays_apart_and_the_verdict_is_kept() -> None:
    link = _link([_candidate(1, 0.45)], Judge(False))
    assert not link.linked and link.verdict == Verdict(False, 480, 12)


def test_the_judge_is_not_asked_when_the_score_decides_alone() -> None:
    judge = Judge(False)
    above = _link([_candidate(1, 0.9)], judge)  # links without asking: "no" would not have undone it
    below = _link([_candidate(2, 0.2)], judge)  # under the band: never linked, never asked
    assert above.linked and not below.linked
    assert judge.asked == [] and above.verdict is None and below.verdict is None


def test_a_borderline_incident_is_joined_as_a_whole_and_the_judge_sees_its_nearest_three_reports() -> None:
    incident = "INC-20261207-OLD0000001"
    members = [_candidate(n, c, incident=incident) for n, c in ((1, 0.30), (2, 0.45), (3, 0.40), (4, 0.35))]
    judge = Judge(True)
    link = _link(members, judge)
    assert link.incident_id == incident and not link.opened
    shown = judge.asked[0][1]
    assert len(shown) == defaults.INCIDENT_JUDGE_MEMBERS == 3
    assert shown == [members[1].text, members[2].text, members[3].text]  # nearest first


def test_a_failing_judge_leaves_the_score_decision_and_says_why() -> None:
    link = _link([_candidate(1, 0.45)], Judge(LlmThrottledError("Bedrock throttled the request")))
    assert not link.linked and link.verdict is None
    assert link.judge_error == "LlmThrottledError: Bedrock throttled the request"


def test_without_stored_texts_or_a_band_the_judge_is_never_asked() -> None:
    judge = Judge(True)
    untexted = _candidate(1, 0.45)
    untexted = Neighbour(untexted.ticket_id, 0.45, similarity=0.45, profile=untexted.profile)  # stored before
    assert not _link([untexted], judge).linked
    assert not _link([_candidate(1, 0.45)], judge, text="  ").linked  # nothing of the new report to show
    no_band = LinkModel(weights=MODEL.weights, bias=MODEL.bias, threshold=0.75)
    assert not link_by_model(
        Profile(submitted_at=T0), [_candidate(1, 0.45)], no_band, ticket_id=NEW, judge=judge, text="x"
    ).linked
    assert judge.asked == []


def test_the_band_is_part_of_the_link_model_and_checked_like_its_thresholds() -> None:
    data = {**MODEL.as_data(), "judge_lower": 0.3}
    assert LinkModel.from_data(data).judge_lower == 0.3
    assert LinkModel.from_data(data).as_data()["judge_lower"] == 0.3
    with pytest.raises(ValueError, match="judge_lower must be between 0 and 1"):
        LinkModel.from_data({**data, "judge_lower": 1.5})
    for entry in defaults.INCIDENT_LINK_MODELS.values():  # every shipped model has a band under its threshold
        model = LinkModel.from_data(entry)
        assert model.judge_lower is not None and model.judge_lower < min(
            model.threshold, model.open_threshold or 1
        )


def test_the_judged_text_is_the_embedded_text_cut_on_a_word_at_the_stored_limit() -> None:
    short = make_ticket(subject="S3 down", description="Uploads fail.").data
    assert judged_text(short) == f"{short.product}: {short.issue_type}. S3 down. Uploads fail."
    long = make_ticket(subject="S3 down", description="word " * 2000).data
    text = judged_text(long)
    assert len(text) <= defaults.INCIDENT_TEXT_MAX_CHARS + 2 and text.endswith("word …")


class Embedder:
    model_id, dimensions = "test", 2

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] for _ in texts], dtype=np.float32)


def test_link_ticket_stores_the_redacted_text_the_judge_reads_for_the_next_report() -> None:
    index = InMemoryVectorIndex(2)
    first = make_ticket(subject="S3 uploads hang", description="Since 09:00 every PUT times out.")
    link_ticket("TKT-20261207-FIRST00001", first.data, T0, embedder=Embedder(), index=index, model=MODEL)
    assert index.texts["TKT-20261207-FIRST00001"] == judged_text(first.data)
    # The next report reads it back with its neighbours.
    near = index.nearest(np.array([1.0, 0.0]), since=T0 - timedelta(hours=1), at=T0 + timedelta(minutes=1))
    assert [n.text for n in near] == [judged_text(first.data)]


def test_an_unknown_judge_setting_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.settings import incident_judge

    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "always")
    with pytest.raises(ConfigurationError, match=r"TMS_INCIDENT_JUDGE='always': expected off or reply-model"):
        incident_judge()
    monkeypatch.setenv("TMS_INCIDENT_JUDGE", "reply-model")
    assert incident_judge() == "reply-model"
    monkeypatch.delenv("TMS_INCIDENT_JUDGE")
    assert incident_judge() == "off"
