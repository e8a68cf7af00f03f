"""The autosaving recorder: when it commits, and what each pipeline event leaves in the store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_helpers import PlanEntry, PlanOf

from longwriter_desktop.engine import events
from longwriter_desktop.errors import ProjectError
from longwriter_desktop.projects.recorder import AUTOSAVE_SECONDS, ProjectRecorder
from longwriter_desktop.projects.store import ProjectStore


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


PLAN = PlanOf((PlanEntry("Opening", "set the scene", 400), PlanEntry("Closing", "end it", 600)))


@pytest.fixture
def reader() -> Iterator[ProjectStore]:
    """A second connection, as another process would see the database."""
    with ProjectStore(daily_backup=False) as opened:
        yield opened


def _saved(reader: ProjectStore, project_id: int, index: int) -> str:
    section = reader.section_at(project_id, index)
    takes = reader.takes(section.id)
    return takes[-1].text if takes else ""


def test_commits_at_paragraph_ends_and_when_text_is_a_second_old(
    store: ProjectStore, reader: ProjectStore
) -> None:
    clock = FakeClock()
    project = store.create_project("Cadence", "x", target_words=1000)
    with ProjectRecorder(store, project.id, clock=clock, model="m.gguf", seed=5) as recorder:
        recorder.handle(events.PlanReady(plan=PLAN, generated=True))
        recorder.handle(events.SectionStarted(index=0, title="Opening", target_words=400))
        recorder.handle(events.TextDelta(0, "The night"))
        clock.now += AUTOSAVE_SECONDS / 2
        recorder.handle(events.TextDelta(0, " was cold"))
        assert _saved(reader, project.id, 0) == ""  # still in memory
        assert recorder.unsaved_text() == "The night was cold"

        clock.now += AUTOSAVE_SECONDS / 2  # the oldest unsaved text is now a full interval old
        recorder.handle(events.Progress(words=4, target_words=1000, section_index=0, section_words=4,
                                        section_target=400, tokens_per_second=12.0, elapsed_s=1.0,
                                        eta_s=80.0))
        assert _saved(reader, project.id, 0) == "The night was cold"

        recorder.handle(events.TextDelta(0, ".\n\nMorning"))  # a paragraph ended: saved at once
        assert _saved(reader, project.id, 0) == "The night was cold.\n\nMorning"
        recorder.handle(events.TextDelta(0, " came.\n"))
        assert _saved(reader, project.id, 0).endswith("Morning")
        recorder.handle(events.TextDelta(0, "\n"))  # "\n" + "\n" split over two deltas is a paragraph end
        assert _saved(reader, project.id, 0).endswith("Morning came.\n\n")

        clock.now += 0.25
        recorder.handle(events.TextDelta(0, "It rained"))
        clock.now += AUTOSAVE_SECONDS / 2
        recorder.handle(events.TextDelta(0, " all day"))  # the interval counts from the oldest unsaved text
        assert _saved(reader, project.id, 0).endswith("Morning came.\n\n")
        clock.now += AUTOSAVE_SECONDS / 2
        recorder.handle(events.TextDelta(0, " long"))
        assert _saved(reader, project.id, 0).endswith("It rained all day long")

    take = reader.takes(reader.section_at(project.id, 0).id)[0]
    assert (take.model, take.seed) == ("m.gguf", 5)


def test_retractions_reach_into_saved_text(store: ProjectStore, reader: ProjectStore) -> None:
    clock = FakeClock()
    project = store.create_project("Loops", "x", target_words=1000)
    with ProjectRecorder(store, project.id, clock=clock) as recorder:
        recorder.handle(events.PlanReady(plan=PLAN, generated=True))
        recorder.handle(events.SectionStarted(index=0, title="Opening", target_words=400))
        recorder.handle(events.TextDelta(0, "Keep this.\n\n"))
        recorder.handle(events.TextDelta(0, "again again "))
        recorder.handle(events.TextRetracted(0, len("again again ")))  # only unsaved text
        assert recorder.unsaved_text() == ""
        recorder.handle(events.TextRetracted(0, len("\n\n")))  # reaches into saved text
        # A cut is saved at once: the next call reads its prompt first, which takes seconds without an event.
        assert _saved(reader, project.id, 0) == "Keep this."
        recorder.handle(events.TextDelta(0, " More.\n"))
        assert _saved(reader, project.id, 0) == "Keep this."  # "\n" after "." is no paragraph end
        recorder.flush()
        assert _saved(reader, project.id, 0) == "Keep this. More.\n"


def test_a_whole_run_leaves_a_finished_document(store: ProjectStore, reader: ProjectStore) -> None:
    clock = FakeClock()
    project = store.create_project("Run", "x", target_words=1000)
    with ProjectRecorder(store, project.id, clock=clock) as recorder:
        recorder.handle(events.ModelReady(model="m.gguf", backend="llama.cpp", device="CPU", n_ctx=4096,
                                          load_seconds=1.2))
        recorder.handle(events.PlanReady(plan=PLAN, generated=False, notes=("rescaled targets",)))
        finals = ("First part, streamed.", "Second part, revised.")
        for index, text in enumerate(("First part, streamed. ", "Second part.")):
            recorder.handle(events.SectionStarted(index=index, title="", target_words=500))
            recorder.handle(events.TextDelta(index, text))
            clock.now += 2.5
            recorder.handle(events.Warning("repetition cut", kind="repetition"))
            # The pipeline's final text wins (it may trim or revise the streamed one).
            recorder.handle(events.SectionFinished(index=index, title="", words=3, target_words=500,
                                                   text=finals[index], retries=index))
        recorder.handle(events.Done(text="\n\n".join(finals), stats={"words": 6}))

    assert reader.document_text(project.id) == "First part, streamed.\n\nSecond part, revised."
    finished = reader.get_project(project.id)
    assert (finished.status, finished.words_written, finished.sections_done) == ("done", 6, 2)
    first_take = reader.takes(reader.section_at(project.id, 0).id)[0]
    assert first_take.model == "m.gguf"  # learnt from ModelReady
    assert first_take.stats == {"words": 3, "target_words": 500, "retries": 0, "seconds": 2.5,
                                "tokens_per_second": 0.0}
    kinds = [entry.kind for entry in reader.run_log(project.id)]
    assert kinds == ["model", "plan", "warning", "warning", "section", "done"]  # "section": text revised
    assert reader.run_log(project.id)[1].data == {"notes": ["rescaled targets"]}


def test_cancel_interrupts_and_a_resumed_run_continues_the_same_take(
    store: ProjectStore, reader: ProjectStore
) -> None:
    clock = FakeClock()
    project = store.create_project("Resume", "x", target_words=1000)
    with ProjectRecorder(store, project.id, clock=clock) as recorder:
        recorder.handle(events.PlanReady(plan=PLAN, generated=True))
        recorder.handle(events.SectionStarted(index=0, title="Opening", target_words=400))
        recorder.handle(events.SectionFinished(index=0, title="Opening", words=2, target_words=400,
                                               text="Done already."))
        recorder.handle(events.SectionStarted(index=1, title="Closing", target_words=600))
        recorder.handle(events.TextDelta(1, "Half of the"))
        recorder.handle(events.Cancelled(words=5))  # commits what it had
    assert reader.get_project(project.id).status == "interrupted"

    with ProjectRecorder(store, project.id, clock=clock) as recorder:
        state = recorder.resume_state()
        assert (state.finished, state.interrupted_index, state.partial_text) == ({0: "Done already."}, 1,
                                                                                 "Half of the")
        recorder.handle(events.SectionStarted(index=1, title="Closing", target_words=600, resumed_words=3))
        assert reader.get_project(project.id).status == "writing"
        recorder.handle(events.TextDelta(1, " ending."))
        recorder.handle(events.SectionFinished(index=1, title="Closing", words=4, target_words=600,
                                               text="Half of the ending."))
        recorder.handle(events.Done(text="", stats={}))
    closing = reader.section_at(project.id, 1)
    assert (closing.status, closing.takes) == ("done", 1)  # the same take, not a second one
    assert reader.document_text(project.id) == "Done already.\n\nHalf of the ending."


def test_close_saves_and_interrupts_an_open_section(store: ProjectStore, reader: ProjectStore) -> None:
    clock = FakeClock()
    project = store.create_project("Closed", "x", target_words=1000)
    recorder = ProjectRecorder(store, project.id, clock=clock)
    recorder.handle(events.PlanReady(plan=PLAN, generated=True))
    recorder.handle(events.TextDelta(0, "Text with no SectionStarted is still kept"))
    recorder.close()
    assert _saved(reader, project.id, 0) == "Text with no SectionStarted is still kept"
    assert reader.section_at(project.id, 0).status == "interrupted"
    assert not reader.is_being_written(project.id)
    with pytest.raises(RuntimeError, match="closed"):
        recorder.handle(events.TextDelta(0, "late"))


def test_a_second_recorder_on_the_same_project_is_refused(store: ProjectStore, reader: ProjectStore) -> None:
    project = store.create_project("Busy", "x", target_words=1000)
    other = store.create_project("Other", "x", target_words=1000)
    with ProjectRecorder(store, project.id):
        with pytest.raises(ProjectError, match="already being written by this LongWriter"):
            ProjectRecorder(store, project.id)
        with pytest.raises(ProjectError, match="being written by this LongWriter"):
            ProjectRecorder(reader, project.id)  # another connection in the same process
        with pytest.raises(ProjectError, match="being written"):
            reader.update_project(project.id, title="Renamed meanwhile")
        assert reader.is_being_written(project.id)
        with ProjectRecorder(reader, other.id):  # other projects are free
            pass
    assert reader.update_project(project.id, title="Renamed after").title == "Renamed after"


_PROGRESS = events.Progress(words=0, target_words=0, section_index=0, section_words=0, section_target=0,
                            tokens_per_second=0.0, elapsed_s=0.0, eta_s=None)
_STEPS = st.one_of(
    st.tuples(st.just("delta"), st.text(alphabet="ab .\n漢", min_size=1, max_size=12)),
    st.tuples(st.just("retract"), st.integers(min_value=1, max_value=30)),
    st.tuples(st.just("wait"), st.sampled_from([0.25, 0.5, AUTOSAVE_SECONDS, 3.0])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEPS, max_size=25))
def test_saved_text_always_catches_up_with_what_was_handed_over(
    store: ProjectStore, reader: ProjectStore, steps: list[tuple[str, object]]
) -> None:
    clock = FakeClock()
    project = store.create_project("Property", "x", target_words=10)
    expected = ""
    with ProjectRecorder(store, project.id, clock=clock) as recorder:
        recorder.handle(events.PlanReady(plan=PLAN, generated=True))
        recorder.handle(events.SectionStarted(index=0, title="Opening", target_words=400))
        for kind, value in steps:
            if kind == "delta":
                assert isinstance(value, str)
                recorder.handle(events.TextDelta(0, value))
                paragraph_end = "\n\n" in expected[-1:] + value
                expected += value
                if paragraph_end:
                    assert _saved(reader, project.id, 0) == expected
            elif kind == "retract":
                assert isinstance(value, int)
                recorder.handle(events.TextRetracted(0, value))
                expected = expected[: max(len(expected) - value, 0)]
            else:
                assert isinstance(value, float)
                clock.now += value
                recorder.handle(_PROGRESS)
                if value >= AUTOSAVE_SECONDS:  # everything handed over is at least that old now
                    assert _saved(reader, project.id, 0) == expected
    assert _saved(reader, project.id, 0) == expected
