"""Measured acceptance (issue 30.5): the word-level edit distance between a draft and the reply as sent."""

from __future__ import annotations

import pytest

from pipeline.domain.acceptance import LIGHTLY_EDITED, REWRITTEN, UNCHANGED, band, edit_distance, measure

DRAFT = "Hello Ada, the export fails because the API key expired. Create a new key under Settings > Keys."


def test_a_reply_sent_as_drafted_has_distance_zero_even_if_the_lines_were_rewrapped():
    assert edit_distance(DRAFT, DRAFT.replace(" the API", "\nthe API")) == 0.0


def test_one_replaced_word_of_eighteen_is_a_light_edit():
    sent = DRAFT.replace("expired", "lapsed")

    assert edit_distance(DRAFT, sent) == pytest.approx(1 / 18, abs=1e-4)
    assert band(edit_distance(DRAFT, sent)) == LIGHTLY_EDITED


def test_an_agent_who_writes_their_own_answer_rewrote_the_draft():
    sent = "Hi Ada - we rotated the key for you, nothing to do on your side. Sorry for the trouble."

    assert edit_distance(DRAFT, sent) > 0.8
    assert band(edit_distance(DRAFT, sent)) == REWRITTEN


def test_the_distance_is_symmetric_and_bounded_by_one():
    other = "Completely unrelated words here"

    assert edit_distance(DRAFT, other) == edit_distance(other, DRAFT)
    assert edit_distance("", "something new") == 1.0
    assert edit_distance("", "") == 0.0


def test_inserted_words_count_once_each_not_as_a_shift_of_everything_after_them():
    # A greeting added at the front: two insertions over twenty words, not a rewrite of every position.
    assert edit_distance(DRAFT, "Good morning. " + DRAFT) == pytest.approx(2 / 20, abs=1e-4)


def test_the_bands_split_at_the_configured_light_edit_maximum():
    assert band(0.0) == UNCHANGED
    assert band(0.39) == LIGHTLY_EDITED
    assert band(0.40) == REWRITTEN
    with pytest.raises(ValueError, match="between 0 and 1"):
        band(1.5)


def test_a_ticket_never_edited_is_measured_against_its_own_reply():
    assert measure({"response_text": DRAFT}).sent_unchanged is True
    edited = measure({"response_text": "Call us.", "drafted_reply": DRAFT})
    assert edited.sent_unchanged is False and edited.edit_distance == 1.0
