"""Issue 31: which top-level customer channel messages become tickets. Each signal of the offline rule, the
Slack markup it reads through, the strictness setting, the hand-written labelled set and its figure."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from pydantic import ValidationError

from bench.ticketing_rule import (
    DATA,
    TARGET_PRECISION,
    TARGET_RECALL,
    load_messages,
    measure,
)
from bot.config import BotSettings
from bot.logic.ticketing_rule import THRESHOLDS, Strictness, decide, normalise, parse_strictness
from contract import defaults, names

ROWS = load_messages()


def _signal_names(text: str) -> set[str]:
    return {s.name for s in decide(text).signals}


# --- Each signal ------------------------------------------------------------------------------------------
def test_a_greeting_before_a_question_still_becomes_a_ticket():
    text = "hey there, short question: where do I change the timezone of the reports?"

    assert decide(text).ticket
    assert {"question mark", "interrogative", "greeting"} <= _signal_names(text)


def test_a_problem_report_without_a_question_becomes_a_ticket():
    text = "exports broken since the release, every file is empty"

    assert decide(text).ticket
    assert {"problem words", "more problem words"} <= _signal_names(text)


def test_a_polite_imperative_becomes_a_ticket():
    assert decide("Please remove lukas@hafenwerk.de from our account").ticket
    assert "request words" in _signal_names("Please remove lukas@hafenwerk.de from our account")


def test_a_pasted_stack_trace_becomes_a_ticket_even_without_words_around_it():
    text = "```\nraise ValueError('x')\nKeyError: 'tenant'\n```"

    assert decide(text).ticket
    assert "code block" in _signal_names(text)


@pytest.mark.parametrize(
    "text",
    [
        "hiya folks",
        "Guten Morgen aus Hamburg!",
        "thank you both, super helpful",
        "Gracias por todo 🙏",
        "ok cool",
        "sounds good, talk soon",
        ":clap: :clap:",
        "🎉",
        "happy friday all, enjoy the weekend",
        "will try that after lunch and let you know",
    ],
)
def test_greetings_thanks_acknowledgements_and_emoji_do_not_become_tickets(text):
    assert not decide(text).ticket, decide(text).reason


def test_it_is_resolved_is_not_a_ticket_and_says_why():
    decision = decide("never mind, it's working now — our proxy again")

    assert not decision.ticket
    assert "resolved" in _signal_names("never mind, it's working now — our proxy again")
    assert decision.reason.startswith("chatter:")


def test_thanks_followed_by_but_counts_the_problem_not_the_thanks():
    text = "thanks for looking, but the invoices are still failing to generate"

    assert decide(text).ticket
    assert "thanks" not in _signal_names(text)


def test_resolved_followed_by_a_new_question_is_a_ticket():
    assert decide("all good with the SSO now, thanks! one more thing: can we add a second domain?").ticket


def test_denied_problems_are_not_problems():
    text = "no errors since the upgrade, great work"

    assert "problem words" not in _signal_names(text)
    assert not decide(text).ticket


def test_greeting_words_inside_a_sentence_are_not_a_greeting():
    assert "greeting" not in _signal_names("the sync fails since this morning")
    assert "greeting" in _signal_names("morning! the sync fails")


@pytest.mark.parametrize("text", ["+1", "same here", "Same issue here.", "+1 from us", "me too"])
def test_a_bare_me_too_is_not_a_ticket(text):
    decision = decide(text)

    assert not decision.ticket
    assert "only a me-too" in {s.name for s in decision.signals}


def test_a_me_too_with_its_own_report_is_a_ticket():
    assert decide("same here, our uploads fail with a 413 since noon").ticket


def test_small_talk_with_a_question_mark_is_not_a_ticket():
    assert not decide("how was the holiday party? heard it went late 😄").ticket


def test_german_and_spanish_requests_become_tickets():
    assert decide("Der Export nach Excel geht nicht, könnt ihr helfen?").ticket
    assert decide("Hola, ¿cómo activo la autenticación en dos pasos?").ticket
    assert not decide("Vielen Dank, jetzt läuft wieder alles!").ticket


def test_the_reason_names_verdict_score_threshold_strictness_and_signals():
    text = "the API returns 502 for every call"

    assert decide(text).reason == "request: score +2.0 >= 2.0 (balanced); problem words ('502') +2.0"
    assert decide(text, "strict").reason == "chatter: score +2.0 < 2.5 (strict); problem words ('502') +2.0"


# --- Slack markup -----------------------------------------------------------------------------------------
def test_mentions_channels_and_special_mentions_are_dropped_link_labels_kept():
    norm = normalise("<@U04QX2B7M> <!here> see <#C012AB|billing-help> and <https://x.example/a?b=c|the doc>")

    assert norm.text == "see #billing-help and the doc"


def test_a_link_target_cannot_fake_a_question_or_a_problem():
    text = "Thanks! <https://status.example.com/incident/error?id=5>"

    assert _signal_names(text) == {"thanks"}
    assert not decide(text).ticket


def test_named_and_unicode_emoji_are_removed_but_clock_times_stay():
    norm = normalise(":white_check_mark: done by 14:00–16:00 👍🏽 :+1:")

    assert norm.text == "done by 14:00–16:00"
    assert norm.emoji == 3


def test_emphasis_marks_go_code_words_stay_identifiers_keep_underscores():
    norm = normalise("*Urgent:* _the_ `updated_since` filter &amp; ~old~ one")

    assert norm.text == "urgent: the updated_since filter & old one"


def test_code_blocks_are_counted_and_their_text_is_not_read():
    norm = normalise("before\n```\nthanks() # ok\n```\nafter")

    assert (norm.text, norm.code_blocks) == ("before after", 1)


def test_a_message_of_markup_and_emoji_only_is_not_a_ticket():
    decision = decide("<@U04QX2B7M> :pray: 🙏")

    assert not decision.ticket
    assert [s.name for s in decision.signals] == ["nothing but emoji or markup"]


# --- Strictness -------------------------------------------------------------------------------------------
def test_the_strictness_values_are_the_contract_ones_and_thresholds_rise():
    assert get_args(Strictness) == names.TICKETING_STRICTNESS_VALUES
    assert tuple(THRESHOLDS) == names.TICKETING_STRICTNESS_VALUES
    assert THRESHOLDS["lenient"] < THRESHOLDS["balanced"] < THRESHOLDS["strict"]
    assert defaults.TICKETING_STRICTNESS in THRESHOLDS


def test_strict_never_tickets_more_than_balanced_nor_balanced_more_than_lenient_on_the_set():
    for row in ROWS:
        lenient, balanced, strict = (decide(row["text"], s).ticket for s in ("lenient", "balanced", "strict"))
        assert lenient >= balanced >= strict, row["id"]
    assert sum(decide(r["text"], "strict").ticket for r in ROWS) < sum(
        decide(r["text"], "lenient").ticket for r in ROWS
    )


def test_a_single_problem_word_is_enough_for_balanced_but_not_for_strict():
    assert decide("webhooks delayed", "balanced").ticket
    assert not decide("webhooks delayed", "strict").ticket


@pytest.mark.parametrize(
    ("value", "expected"), [("", "balanced"), (None, "balanced"), (" STRICT ", "strict")]
)
def test_strictness_from_configuration_text(value, expected):
    assert defaults.TICKETING_STRICTNESS == "balanced"
    assert parse_strictness(value) == expected


def test_an_unknown_strictness_is_refused_with_the_variable_and_the_allowed_values():
    with pytest.raises(
        ValueError, match=r"TMS_TICKETING_STRICTNESS must be one of lenient, balanced, strict"
    ):
        parse_strictness("medium")
    with pytest.raises(ValueError, match="unknown ticketing strictness"):
        decide("help", "medium")  # type: ignore[arg-type]


def test_the_bot_settings_read_the_strictness_and_refuse_a_bad_one_at_cold_start(monkeypatch):
    monkeypatch.delenv(names.ENV_TICKETING_STRICTNESS, raising=False)
    assert BotSettings().ticketing_strictness == defaults.TICKETING_STRICTNESS

    monkeypatch.setenv(names.ENV_TICKETING_STRICTNESS, "Lenient")
    assert BotSettings().ticketing_strictness == "lenient"

    monkeypatch.setenv(names.ENV_TICKETING_STRICTNESS, "loose")
    with pytest.raises(ValidationError, match="TMS_TICKETING_STRICTNESS must be one of"):
        BotSettings()


# --- The labelled set -------------------------------------------------------------------------------------
def test_the_set_has_at_least_240_messages_with_unique_ids_and_texts():
    assert len(ROWS) >= 240
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    assert len({r["text"] for r in ROWS}) == len(ROWS)
    assert [r["id"] for r in ROWS] == [f"m{n:03d}" for n in range(1, len(ROWS) + 1)]


def test_the_splits_alternate_by_id_and_labels_are_valid():
    for n, row in enumerate(ROWS, 1):
        assert row["split"] == ("calibration" if n % 2 else "test"), row["id"]
        assert row["label"] in ("request", "chatter") and row["kind"].strip(), row["id"]


def test_the_set_is_about_55_percent_requests_on_both_halves():
    for half in ("calibration", "test"):
        rows = [r for r in ROWS if r["split"] == half]
        share = sum(r["label"] == "request" for r in rows) / len(rows)
        assert 0.45 <= share <= 0.65, (half, share)


def test_the_set_holds_slack_markup_code_and_other_languages():
    texts = [r["text"] for r in ROWS]
    for marker in ("<@U", "<https://", "<!here>", "```", "`", ":pray:", "*", "¿", "ü"):
        assert any(marker in t for t in texts), marker


def test_the_default_strictness_reaches_the_target_on_the_calibration_half():
    calibration = [r for r in ROWS if r["split"] == "calibration"]

    score, wrong = measure(calibration, defaults.TICKETING_STRICTNESS)

    assert score.precision >= TARGET_PRECISION, [r["id"] for r, _ in wrong]
    assert score.recall >= TARGET_RECALL, [r["id"] for r, _ in wrong]


def test_a_malformed_row_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "set.jsonl"
    good = json.dumps(
        {"id": "m001", "text": "hi", "label": "chatter", "kind": "greeting", "split": "calibration"}
    )
    bad.write_text(
        good + "\n" + json.dumps({"id": "m002", "text": "x", "label": "maybe", "kind": "k", "split": "test"})
    )

    with pytest.raises(ValueError, match=r"set.jsonl:2: label 'maybe'"):
        load_messages(bad)
    assert DATA.exists()
