"""Takes and "write more" set up on a real project store: the runs they prepare, and choosing a take."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from longwriter_desktop.app.takes import (
    ADDED,
    REMOVED,
    SAME,
    choose_take,
    diff_sides,
    prepare_more,
    prepare_new_section,
    prepare_regenerate,
    section_takes,
    word_diff,
)
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.plan import Section
from longwriter_desktop.errors import InputError
from longwriter_desktop.projects.store import ProjectStore


@pytest.fixture
def store() -> Iterator[ProjectStore]:
    with ProjectStore() as opened:
        yield opened


def written(store: ProjectStore) -> int:
    """A finished two-section project, as a run leaves it."""
    project = store.create_project("Market", "Write about a market day.", target_words=200, mode="plan")
    store.update_plan(project.id, [Section("Morning", "The market opens.", 100), Section("Evening", "It closes.", 100)])
    for index, text in enumerate(("Stalls go up in the square.", "The lamps come on at dusk.")):
        take = store.start_take(store.section_at(project.id, index).id, model="m", seed=index)
        store.finish_take(take.id, text=text)
    store.update_project(project.id, status="done")
    return project.id


def test_regenerate_writes_one_section_with_the_rest_kept(store: ProjectStore) -> None:
    project = written(store)
    run = prepare_regenerate(store, project, 0, main_point="Farmers arrive before dawn.")
    assert run.index == 0 and run.kind == "regenerate"
    assert run.resume.finished == [False, True]
    assert run.resume.texts == ["", "The lamps come on at dusk."]
    assert run.resume.plan.sections[0].main_point == "Farmers arrive before dawn."
    assert store.section_at(project, 0).main_point == "Farmers arrive before dawn."
    assert run.request.sampling.seed is not None, "a fresh seed for a fresh take"
    again = prepare_regenerate(store, project, 0, sampling=Sampling(seed=7))
    assert again.request.sampling.seed == 7
    with pytest.raises(InputError, match="no section 3"):
        prepare_regenerate(store, project, 2)


def test_more_words_start_a_take_from_the_chosen_text(store: ProjectStore) -> None:
    project = written(store)
    run = prepare_more(store, project, 150)
    assert run.index == 1 and run.resume.extend == {1: 150}
    assert run.resume.finished == [True, False]
    assert run.resume.texts[1] == "The lamps come on at dusk.\n\n"
    section = store.section_at(project, 1)
    assert section.status == "interrupted" and section.target_words == 6 + 150
    takes = store.takes(section.id)
    assert len(takes) == 2 and takes[0].chosen and takes[1].finished is None
    assert takes[1].text == "The lamps come on at dusk.\n\n", "a crash mid-way resumes from the copy"
    # The document keeps showing the chosen take until the new one is finished.
    assert store.document_sections(project)[1][1] == "The lamps come on at dusk."
    with pytest.raises(InputError, match="between 1 and"):
        prepare_more(store, project, 0)


def test_more_words_need_a_finished_section(store: ProjectStore) -> None:
    project = written(store)
    store.set_section_status(store.section_at(project, 0).id, "interrupted")
    with pytest.raises(InputError, match="not finished"):
        prepare_more(store, project, 100, after=0)


def test_a_new_section_goes_after_the_chosen_one(store: ProjectStore) -> None:
    project = written(store)
    run = prepare_new_section(store, project, "Noon", "The busiest hour.", 80, after=0)
    assert run.index == 1 and run.kind == "section"
    assert [s.title for s in run.resume.plan.sections] == ["Morning", "Noon", "Evening"]
    assert run.resume.finished == [True, False, True]
    assert [s.title for s in store.sections(project)] == ["Morning", "Noon", "Evening"]
    assert store.section_at(project, 2).takes == 1, "the moved section keeps its take"
    with pytest.raises(InputError, match="already has a section"):
        prepare_new_section(store, project, "noon", "", 80)


def test_choose_take_by_number(store: ProjectStore) -> None:
    project = written(store)
    section = store.section_at(project, 0)
    take = store.start_take(section.id, model="m", seed=9)
    store.finish_take(take.id, text="A second take.")
    assert [t.chosen for t in section_takes(store, project, 0)] == [False, True]
    chosen = choose_take(store, project, 0, 1)
    assert chosen.text == "Stalls go up in the square." and chosen.chosen
    assert store.document_sections(project)[0][1] == "Stalls go up in the square."
    with pytest.raises(InputError, match="has 2 takes"):
        choose_take(store, project, 0, 3)
    unfinished = store.start_take(section.id)
    assert unfinished.id
    with pytest.raises(InputError, match="never finished"):
        choose_take(store, project, 0, 3)


def test_word_diff_marks_words_and_keeps_both_texts_whole() -> None:
    old, new = "The cat sat  on\nthe mat.", "The dog sat on\nthe mat today."
    assert word_diff("a b c", "a c d") == [(SAME, "a "), (REMOVED, "b "), (SAME, "c "), (ADDED, "d")]
    left, right = diff_sides(old, new)
    assert "".join(t for _, t in left) == old and "".join(t for _, t in right) == new
    assert [t.strip() for k, t in left if k == REMOVED] == ["cat", "mat."]
    assert [t.strip() for k, t in right if k == ADDED] == ["dog", "mat today."]
    assert diff_sides("same words", "same  words") == ([(SAME, "same words")], [(SAME, "same  words")])
