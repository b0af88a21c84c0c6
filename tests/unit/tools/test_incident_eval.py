"""Generated incident bursts carry ground truth; pairwise scoring and calibration measure the grouping."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tools.generator import INCIDENT_STORIES, generate_incident_bursts
from tools.incident_eval import PairScores, calibrate, pairwise_scores, replay, truth_groups

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_bursts_mix_k_incidents_with_unrelated_tickets_and_record_the_truth() -> None:
    burst = generate_incident_bursts(4, 10, seed=3, now=NOW)
    assert len(burst.incidents) == 4
    assert all(3 <= len(ids) <= 8 for ids in burst.incidents.values())
    assert len(burst.unrelated) == 10
    ids = [t.event.ticketId for t in burst.tickets]
    assert len(ids) == len(set(ids)) == 10 + sum(len(v) for v in burst.incidents.values())
    times = [t.event.submittedAt for t in burst.tickets]
    assert times == sorted(times)
    # each burst describes one story: one product, and the customers differ
    stories = {s.key: s for s in INCIDENT_STORIES}
    by_id = {t.event.ticketId: t.event for t in burst.tickets}
    for key, members in burst.incidents.items():
        assert {by_id[m].data.product for m in members} == {stories[key].product}
        assert len({by_id[m].data.customer.email for m in members}) == len(members)
        assert len({by_id[m].data.description for m in members}) == len(members)  # different words
    truth = burst.truth()
    assert set(truth["sentiment"]) == set(ids)


def test_same_seed_gives_the_same_bursts() -> None:
    a = generate_incident_bursts(2, 3, seed=9, now=NOW)
    b = generate_incident_bursts(2, 3, seed=9, now=NOW)
    assert a.truth() == b.truth()


def test_pairwise_scores_count_pairs() -> None:
    truth = {"a": "X", "b": "X", "c": "X", "d": None}
    # predicted: a+b together (correct), c+d together (wrong)
    s = pairwise_scores({"a": "1", "b": "1", "c": "2", "d": "2"}, truth)
    assert (s.true_pairs, s.predicted_pairs, s.correct_pairs) == (3, 2, 1)
    assert s.precision == 0.5 and s.recall == 1 / 3
    assert PairScores(0, 0, 0).f1 == 1.0


def test_replay_groups_like_the_workflow() -> None:
    v = np.asarray([[1, 0], [0.99, 0.14], [0, 1], [0.98, 0.2]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    tickets = [(f"t{i}", NOW) for i in range(4)]
    grouped = replay(tickets, v, 0.9)
    assert grouped["t0"] == grouped["t1"] == grouped["t3"] is not None
    assert grouped["t2"] is None
    assert pairwise_scores(grouped, truth_groups({"X": ["t0", "t1", "t3"]}, ["t2"])).f1 == 1.0


def test_calibration_picks_the_best_f1_that_keeps_precision() -> None:
    curve = [
        (0.6, PairScores(10, 20, 10)),  # precision 0.5
        (0.7, PairScores(10, 9, 9)),  # precision 1.0, recall 0.9
        (0.8, PairScores(10, 5, 5)),  # precision 1.0, recall 0.5
    ]
    assert calibrate(curve)[0] == 0.7
    assert calibrate([(0.6, PairScores(10, 20, 10))]) is None


def test_generate_incidents_writes_events_and_a_truth_file_eval_can_read(tmp_path, capsys) -> None:
    import json

    from tools.cli.generate import main
    from tools.evaluation import read_truth

    out, truth_path = tmp_path / "t.jsonl", tmp_path / "truth.json"
    assert (
        main(
            ["--count", "6", "--incidents", "3", "--seed", "2", "--out", str(out), "--truth", str(truth_path)]
        )
        == 0
    )
    truth = json.loads(truth_path.read_text())
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(truth["incidents"]) == 3 and len(truth["unrelated"]) == 6
    assert {e["ticketId"] for e in events} == set(truth["sentiment"])
    assert read_truth(truth_path) == truth["sentiment"]
    assert "3 incident bursts" in capsys.readouterr().out


def test_generate_refuses_more_incidents_than_stories(tmp_path, capsys) -> None:
    from tools.cli.generate import main

    assert main(["--count", "1", "--incidents", "99", "--dry-run"]) == 2
    assert "--incidents takes" in capsys.readouterr().err


def test_the_outbox_counts_an_incident_report_in_its_roots_thread_as_the_tickets_post() -> None:
    import json

    from local.outbox import parse_outbox

    root, member = "TKT-20261127-AAAAAAAAAA", "TKT-20261127-BBBBBBBBBB"
    lines = [
        json.dumps({"channel": "C1", "text": f"[HIGH] {root}: S3 uploads fail", "ts": "1.000001"}),
        json.dumps(
            {
                "channel": "C1",
                "thread_ts": "1.000001",
                "text": f"2nd report: Kim, Globex: uploads fail [HIGH] {member}",
                "metadata": {"event_type": "tms_incident_report", "event_payload": {"ticket_id": member}},
            }
        ),
        json.dumps({"channel": "C1", "thread_ts": "1.000001", "text": f"<@U1> approved {member}"}),
    ]
    posts = parse_outbox(lines, ())
    assert dict(posts.triaged) == {root: 1, member: 1}


def test_a_runs_grouping_below_the_stated_tolerance_is_flagged_and_other_runs_tickets_do_not_count() -> None:
    from contract import defaults
    from tools.demo import DemoReport, render_table
    from tools.incident_eval import grouping_summary, reconcile_incidents

    truth = {"a": "s3", "b": "s3", "c": "s3", "d": None, "e": None}
    # Given a run that found the outage whole and merged nothing else (plus another run's ticket "z")
    good = reconcile_incidents({"a": "INC-a", "b": "INC-a", "c": "INC-a", "z": "INC-a"}, truth)
    assert (good.scores.precision, good.scores.recall, good.ok, good.linked) == (1.0, 1.0, True, 3)
    # When a run merges two strangers into it and misses one report
    bad = reconcile_incidents({"a": "INC-a", "b": "INC-a", "d": "INC-a", "e": "INC-a"}, truth)
    # Then precision 1/6 and recall 1/3 are below the tolerance, and the line says so with the tolerance
    assert not bad.ok
    assert bad.scores.precision < defaults.INCIDENT_RECONCILE_TOLERANCE["precision"]
    assert "flagged below" in bad.line() and bad.as_dict()["ok"] is False
    tolerance = defaults.INCIDENT_RECONCILE_TOLERANCE
    # The demo's and chaos's reports render the same line: what was right of what was linked, and the bar
    assert grouping_summary(bad.as_dict()) == (
        "precision 0.17, recall 0.33 (1 of 6 linked pairs right, 3 true pairs; flagged below precision "
        f"{tolerance['precision']:.2f} or recall {tolerance['recall']:.2f})"
    )
    latency = {"p50": 1.0, "p95": 2.0, "p99": 3.0}
    table = render_table(DemoReport(submitted=5, latency_ms=latency, incident_grouping=bad.as_dict()))
    assert f"{grouping_summary(bad.as_dict())}  <- BELOW TOLERANCE" in table


def test_generated_load_has_the_asked_count_and_its_bursts_are_the_truths_only_incidents() -> None:
    from tools.generator import generated_load

    load, truth = generated_load(80, 3, seed=2)
    assert len(load) == 80 == len(truth)
    assert len({g for g in truth.values() if g}) == 3
    members = [t for t, g in truth.items() if g]
    assert all(3 <= sum(1 for g in truth.values() if g == key) <= 8 for key in {truth[m] for m in members})
    plain, none = generated_load(10, 0, seed=2)
    assert len(plain) == 10 and not any(none.values())


_LABELLED = [
    ("c1", "kms", "calibration", 10, "Globex", "AWS KMS", "Decrypt fails", "KMSInternalException on every Decrypt in eu-west-1"),
    ("c2", "kms", "calibration", 13, "Initech", "AWS KMS", "cannot read secrets", "our app gets KMSInternalException, eu-west-1"),
    ("c3", "kms", "calibration", 19, "Hooli", "AWS KMS", "KMS down?", "kms decrypt internal error since 10 minutes (Ireland)"),
    ("c4", None, "calibration", 15, "Vandelay", "AWS KMS", "key rotation question", "How do I enable automatic rotation for a key in us-east-2?"),
    ("c5", None, "calibration", 400, "Acme", "Amazon S3", "lifecycle rule", "Objects are not moved to Glacier by our rule in ap-south-1"),
    ("t1", "sqs", "test", 900, "Umbrella", "Amazon SQS", "SendMessage 500", "SendMessage returns InternalError in us-west-2"),
    ("t2", "sqs", "test", 904, "Soylent", "Amazon SQS", "queue errors", "sqs InternalError for sends, Oregon region"),
    ("t3", None, "test", 906, "Wonka", "Amazon SQS", "visibility timeout", "Messages come back twice, what visibility timeout in eu-north-1?"),
]  # fmt: skip


class _WordsEmbedder:
    """A fake embedder for the calibration step: bag of a few words, unit length."""

    model_id = "fake-words"
    dimensions = 6
    WORDS = ("kms", "internal", "decrypt", "rotation", "sqs", "glacier")

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = np.array([[t.lower().count(w) + 0.01 for w in self.WORDS] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _labelled_file(tmp_path):
    import json

    path = tmp_path / "labelled.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": i,
                    "incident": inc,
                    "split": split,
                    "minute": m,
                    "customer": f"Kim {co}",
                    "email": f"kim@{co.lower()}.example",
                    "company": co,
                    "product": prod,
                    "issue_type": "Other",
                    "subject": subj,
                    "description": desc,
                }
            )
            for i, inc, split, m, co, prod, subj, desc in _LABELLED
        )
    )
    return path


def test_tms_eval_incidents_fits_a_link_model_for_the_configured_embedder_and_measures_the_test_rows(
    tmp_path,
) -> None:
    from pipeline.domain.incident_signals import FEATURES, LinkModel
    from tools.incident_eval import calibrate_on_file, render_calibration

    result = calibrate_on_file([_labelled_file(tmp_path)], _WordsEmbedder())
    # The entry is valid data for contract/defaults.py, keyed by the embedder's model id
    assert result["model_id"] == "fake-words"
    assert set(LinkModel.from_data(result["entry"]).weights) == set(FEATURES)
    assert result["test"]["tickets"] == 3
    assert "INCIDENT_LINK_MODELS" in render_calibration(result)
    assert "test_second_opinion" not in result  # no judge configured


class _SqsJudge:
    """A second opinion that calls two reports one problem when both name SQS's InternalError."""

    model_id = "stub-judge"

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []

    def same_problem(self, report, candidates):
        from pipeline.domain.incidents import Verdict

        self.asked.append((report, list(candidates)))
        same = "internalerror" in report.lower() and all("internalerror" in c.lower() for c in candidates)
        return Verdict(same, 500, 10)


def test_tms_eval_incidents_with_a_configured_judge_replays_the_test_rows_with_it_too(tmp_path) -> None:
    from tools.incident_eval import calibrate_on_file, render_calibration

    judge = _SqsJudge()
    result = calibrate_on_file([_labelled_file(tmp_path)], _WordsEmbedder(), judge)

    assert result["entry"]["judge_lower"] == 0.3  # the band ships with the entry
    judged = result["test_second_opinion"]
    assert (
        judge.asked
        and judged["calls"] == len(judge.asked)
        and judged["input_tokens"] == 500 * len(judge.asked)
    )
    # The unrelated SQS question was asked about and kept apart: the grouping stays right
    assert judged["said_same"] == 0 and (judged["precision"], judged["recall"]) == (1.0, 1.0)
    # Whatever the judge was shown, it read the judged texts of test rows only
    assert all(r.startswith("Amazon SQS: Other.") for r, _ in judge.asked)
    assert "with the second opinion (stub-judge" in render_calibration(result)


def test_tms_eval_incidents_refuses_a_file_without_any_labelled_incident(tmp_path) -> None:
    import json

    from tools.incident_eval import calibrate_on_file

    row = dict(
        zip(
            ("id", "incident", "split", "minute", "company", "product", "subject", "description"),
            ("x", None, "calibration", 1, "Acme", "Amazon S3", "s", "d"),
            strict=True,
        )
    )
    path = tmp_path / "none.jsonl"
    path.write_text(
        json.dumps({**row, "customer": "Kim Lee", "email": "k@acme.example", "issue_type": "Other"})
    )
    with pytest.raises(ValueError, match="no labelled incident"):
        calibrate_on_file([path], _WordsEmbedder())


def test_eval_incidents_names_a_missing_file_instead_of_a_traceback(tmp_path, capsys) -> None:
    from tools.cli import main

    assert main(["eval", "--incidents", str(tmp_path / "nowhere.jsonl")]) == 2
    assert "--incidents: no such file:" in capsys.readouterr().err


def test_eval_incidents_names_a_bad_line_of_the_labelled_file_instead_of_a_traceback(
    tmp_path, capsys
) -> None:
    from tools.cli import main

    path = tmp_path / "labelled.jsonl"
    path.write_text('{"id": "a"}\nnot json\n')
    assert main(["eval", "--incidents", str(path)]) == 2
    assert f"--incidents: {path}:1: missing incident, split" in capsys.readouterr().err


def _two_bursts(n: int) -> tuple:
    """n bursts of three same-product reports a few minutes apart plus one stranger each, hours apart."""
    from datetime import timedelta

    from pipeline.domain.incident_signals import Profile
    from tools.incident_eval import EvalSet

    data, rows = EvalSet(), []
    for b in range(n):
        start = NOW + timedelta(hours=3 * b)
        direction = np.zeros(2 * n + 1, dtype=np.float32)
        direction[b] = 1.0
        for r in range(3):
            at = start + timedelta(minutes=4 * r)
            data.tickets.append((f"b{b}-r{r}", at))
            data.profiles.append(
                Profile(f"Product {b}", "Outage", f"Co {b}-{r}", frozenset({"region:eu-west-1"}), at)
            )
            data.texts.append(f"burst {b}")
            data.truth[f"b{b}-r{r}"] = f"inc{b}"
            v = direction.copy()
            v[n + b] = 0.3 * r
            rows.append(v / np.linalg.norm(v))
        other = np.zeros(2 * n + 1, dtype=np.float32)
        other[2 * n] = 1.0
        at = start + timedelta(minutes=90)
        data.tickets.append((f"u{b}", at))
        data.profiles.append(Profile(f"Product {b}", "Question", f"Other {b}", frozenset(), at))
        data.texts.append("unrelated")
        data.truth[f"u{b}"] = None
        rows.append(other)
    return data, np.stack(rows)


def test_cross_validation_holds_whole_incidents_out_and_chooses_thresholds_from_the_grid() -> None:
    from tools.incident_eval import THRESHOLDS, cross_validate

    data, vectors = _two_bursts(6)
    cv = cross_validate(data, vectors, folds=3, tune_merge=False)
    # Each fold fitted its own weights; the join threshold is one of the grid's; the bursts are found
    assert len(cv.models) == 3 and cv.threshold in THRESHOLDS
    assert cv.scores.true_pairs == 6 * 3  # every true pair touches exactly one fold's held-out tickets
    assert cv.scores.precision >= 0.95 and cv.scores.recall > 0.5
    assert {name for name, _, _ in cv.curve} == {"threshold", "open_threshold"}
    with pytest.raises(ValueError, match="at least 2 folds"):
        cross_validate(data, vectors, folds=1)


def test_replay_merges_two_groups_a_later_report_links_like_the_store_does() -> None:
    from pipeline.domain.incident_signals import FEATURES, LinkModel

    # Given two pairs of reports that do not see each other (orthogonal words) and a fifth worded like both
    v = np.asarray([[1, 0, 0], [1, 0.05, 0], [0, 1, 0], [0.05, 1, 0], [1, 1, 0.1]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    tickets = [(f"t{i}", NOW) for i in range(5)]
    cosine_led = LinkModel(
        weights={**dict.fromkeys(FEATURES, 0.0), "cosine": 10.0},
        bias=-6.0,
        threshold=0.5,
        merge_threshold=0.5,
    )
    # When the fifth links to both groups, they become one incident
    merged = replay(tickets, v, model=cosine_led)
    assert len({merged[t] for t, _ in tickets}) == 1 and merged["t0"] is not None
    # and without a merge threshold the two groups stay apart
    apart = replay(tickets, v, model=LinkModel(cosine_led.weights, cosine_led.bias, 0.5))
    assert apart["t0"] == apart["t1"] != apart["t2"] == apart["t3"]


def test_tms_eval_incidents_says_so_when_the_configured_judge_never_answers(tmp_path) -> None:
    from contract.errors import ConfigurationError
    from tools.incident_eval import calibrate_on_file

    class Unreachable:
        model_id = "stub-judge"

        def same_problem(self, report, candidates):
            raise ConfigurationError("no AWS credentials to call Bedrock (NoCredentialsError)")

    # The step would leave every such link as scored; the evaluation must not print that as the judge's figures
    with pytest.raises(
        ConfigurationError, match=r"failed on all 1 calls: ConfigurationError: no AWS credentials"
    ):
        calibrate_on_file([_labelled_file(tmp_path)], _WordsEmbedder(), Unreachable())
