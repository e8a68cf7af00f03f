"""Table and property tests for the parts of plan-and-write that need no model."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longwriter_desktop.engine.plan import (
    Plan,
    Section,
    duplicate_titles,
    parse_generated_plan,
    parse_plan,
    repair,
    rescale,
    section_count_for,
)
from longwriter_desktop.engine.repetition import RepetitionGuard, repeated_ngram_share
from longwriter_desktop.engine.target import DEFAULT_WORDS, target_from_instruction
from longwriter_desktop.engine.words import count_words, length_score
from longwriter_desktop.errors import InputError

# -- target length from the instruction ----------------------------------------------------------------

TARGETS = [
    ("Write a 3000-word guide to bicycle touring.", 3000),
    ("Write an essay of no less than 2,000 words on rivers.", 2000),
    ("Write approximately 150 words about tea.", 150),
    ("Write a blog post of around 600 words.", 600),
    ("Write a 50-page novel about a war.", 12500),
    ("写一篇不少于4000字的小说。", 4000),
    ("写一篇2000字的文章，介绍中国茶文化的历史与现状。", 2000),
    ("写一篇三千字的散文。", 3000),
    ("请写一万五千字的报告。", 15000),
    ("Write between 1,500 and 2,000 words on sleep.", 1750),
    ("Write 1500-2000 words on sleep.", 1750),
    ("Write a 2.5k-word essay.", 2500),
    ("Write two thousand words on owls.", 2000),
    ("Write twenty-five hundred words on owls.", 2500),
    ("Write a 10000-word novella about two rival bakers in 1920s Vienna.", 10000),
    ("Write a 20000-word history of the printing press and its effects on Europe, in chapters.", 20000),
    ("List 3 reasons in a 400-word post.", 400),
]


@pytest.mark.parametrize(("instruction", "words"), TARGETS)
def test_target_phrasings(instruction: str, words: int) -> None:
    guess = target_from_instruction(instruction)
    assert guess.found and guess.words == words


def test_no_length_gives_the_stated_default() -> None:
    guess = target_from_instruction("Write about the sea in 1850.")
    assert not guess.found and guess.words == DEFAULT_WORDS
    assert "default" in guess.describe()


@given(st.integers(min_value=10, max_value=100_000), st.sampled_from(["{n}-word", "{n} words", "{n:,} words",
                                                                      "about {n} words", "{n}字"]))
def test_any_stated_number_is_read_back(n: int, form: str) -> None:
    phrase = form.format(n=n)
    assert target_from_instruction(f"Please write {phrase} on gardens in 2024.").words == n


@given(st.text(max_size=200))
def test_any_text_gives_a_sane_target(text: str) -> None:
    guess = target_from_instruction(text)
    assert 10 <= guess.words <= 100_000


# -- words and length score ----------------------------------------------------------------------------


def test_word_count_as_longbench_counts() -> None:
    assert count_words("Hello, world! 123 it's") == 4  # digits don't count; "it" and "s" are two words
    assert count_words("中国茶文化 tea") == 6
    assert length_score(1000, 1000) == 100
    assert length_score(1000, 2000) == pytest.approx(100 * (1 - 1 / 3))
    assert length_score(1000, 500) == pytest.approx(50)
    assert length_score(1000, 0) == 0


@given(st.integers(1, 50_000), st.integers(1, 200_000))
def test_length_score_bounds(required: int, produced: int) -> None:
    score = length_score(required, produced)
    assert 0 <= score <= 100
    assert (score == 100) == (required == produced)


# -- plans ---------------------------------------------------------------------------------------------


def test_user_plans_in_both_forms() -> None:
    as_json = parse_plan(json.dumps({"sections": [{"title": "A", "main_point": "first", "words": 300},
                                                  {"title": "B", "main_point": "second", "words": 500}]}))
    as_text = parse_plan("Paragraph 1 - Main Point: A: first - Word Count: 300 words\n"
                         "Paragraph 2 - Main Point: B: second - Word Count: 500 words\n")
    for plan in (as_json, as_text):
        assert [(s.title, s.main_point, s.target_words) for s in plan.sections] == [("A", "first", 300),
                                                                                    ("B", "second", 500)]
    assert parse_plan("[" + json.dumps({"title": "Only", "words": 100}) + "]").sections[0].title == "Only"
    for bad in ("", "{", '{"sections": []}', "Paragraph 1 - no word count here", '[{"title": "x", "words": -3}]'):
        with pytest.raises(InputError):
            parse_plan(bad)


def test_generated_plan_lines_and_a_truncated_tail() -> None:
    text = ("Section 1 - Title: The dough - Main point: Flour and water. - Words: 300\n"
            "Section 2 - Title: The oven - Main point: Heat. - Words: 400\n"
            "Section 3 - Title: The sh")
    plan = parse_generated_plan(text)
    assert [s.title for s in plan.sections] == ["The dough", "The oven"]


section_st = st.builds(
    Section,
    title=st.text(min_size=0, max_size=30),
    main_point=st.text(max_size=60),
    target_words=st.integers(1, 5000),
    locked=st.just(False),
)


@given(st.lists(section_st, min_size=1, max_size=30), st.integers(200, 40_000))
def test_rescale_sums_to_the_target(sections: list[Section], target: int) -> None:
    plan = rescale(Plan(sections), target)
    assert len(plan.sections) == len(sections)
    if target >= 60 * len(sections):
        assert plan.total_words == target
    assert all(s.target_words >= 1 for s in plan.sections)


@given(st.lists(section_st, max_size=20), st.integers(500, 20_000))
@settings(max_examples=60)
def test_repair_always_gives_unique_titles_and_the_asked_count(sections: list[Section], target: int) -> None:
    count = section_count_for(target)
    plan, _notes = repair(Plan(sections), "Write about rivers.", target, count)
    assert len(plan.sections) == count
    assert duplicate_titles(plan) == []
    assert abs(plan.total_words - target) <= max(10, count)


def test_section_count_grows_with_length() -> None:
    counts = [section_count_for(n) for n in (300, 1000, 4000, 10_000, 20_000)]
    assert counts == sorted(counts) and counts[0] == 1
    for words in (1000, 4000, 10_000, 20_000):
        per = words / section_count_for(words)
        assert 200 <= per <= 1000


# -- the repetition guard ------------------------------------------------------------------------------

word_st = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9)


def _feed_words(guard: RepetitionGuard, words: list[str]) -> tuple[str, int | None]:
    text = ""
    for word in words:
        text += word + " "
        found = guard.feed(text)
        if found is not None:
            return text, found
    return text, None


@given(st.lists(word_st, min_size=20, max_size=200, unique=True))
def test_fresh_text_is_never_a_loop(words: list[str]) -> None:
    _, found = _feed_words(RepetitionGuard(), words)
    assert found is None
    assert repeated_ngram_share(" ".join(words)) == 0


@given(st.lists(word_st, min_size=15, max_size=60, unique=True), st.lists(word_st, min_size=0, max_size=10,
                                                                           unique=True))
def test_a_repeated_span_is_caught_where_it_starts_again(span: list[str], prefix: list[str]) -> None:
    prefix = [w for w in prefix if w not in span]
    words = prefix + span + span
    text, found = _feed_words(RepetitionGuard(), words)
    assert found is not None
    first_copy_end = len(" ".join(prefix + span))
    assert found >= first_copy_end - 1  # the first copy is kept
    assert found < len(text)


def test_a_repeated_sentence_is_caught() -> None:
    guard = RepetitionGuard()
    text = ""
    found = None
    for sentence in ("The cat sat on the warm mat today.", "Then it went out into the rain.",
                     "The cat sat on the warm mat today."):
        text += sentence + " "
        found = guard.feed(text)
    assert found == text.index("The cat", 5)


def test_loops_against_earlier_sections_count() -> None:
    earlier = "Bread was the heart of the old city and every street had a baker who rose before dawn."
    guard = RepetitionGuard(context=earlier)
    _, found = _feed_words(guard, earlier.split())
    assert found == 0


@given(st.text(max_size=400))
def test_share_is_a_fraction(text: str) -> None:
    assert 0.0 <= repeated_ngram_share(text) <= 1.0


def test_truncate_forgets_cut_words() -> None:
    guard = RepetitionGuard()
    text = "one two three four five six seven eight nine ten eleven twelve thirteen "
    guard.feed(text)
    guard.truncate(len("one two three four "))
    found = guard.feed("one two three four twenty thirty forty ")
    assert found is None


def test_rescale_takes_an_excess_from_several_sections_without_going_below_the_minimum() -> None:
    # Found by hypothesis: small sections lifted to the minimum left more excess than the largest could give.
    words = [18, 2, 1, 1, 1, 1, 2, 1, 2, 3588, 2, 2, 1793, 1, 1, 5000, 5000, 4103, 2, 5000, 4814, 4140, 1, 2, 3312]
    plan = rescale(Plan([Section(f"S{i}", "p", w) for i, w in enumerate(words)]), 1670)
    assert plan.total_words == 1670
    assert all(s.target_words >= 60 for s in plan.sections)
