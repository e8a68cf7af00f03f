"""The use-case layer on a real SQLite store: creating, resuming, regenerating and exporting a project."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from longwriter_desktop.app import service
from longwriter_desktop.app.backends import (
    ApiKey,
    LocalModel,
    ServerChoice,
    choice_from_record,
    run_record,
    sampling_from_record,
)
from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.llama_backend import LoadSettings
from longwriter_desktop.engine.plan import Section
from longwriter_desktop.engine.prompts import Family
from longwriter_desktop.errors import InputError
from longwriter_desktop.projects.recorder import ProjectRecorder
from longwriter_desktop.projects.store import ProjectStore


@pytest.fixture
def store() -> ProjectStore:
    with ProjectStore() as opened:
        yield opened


def test_a_new_project_gets_title_target_and_mode_once(store: ProjectStore) -> None:
    choice = LocalModel(None, LoadSettings(n_ctx=2048))
    project = service.create_project(store, "Write a 1,200-word essay on rivers. Keep it calm.", mode="auto",
                                     choice=choice, sampling=Sampling(seed=3))
    # The built-in model is not LongWriter-trained: auto means plan, then write.
    assert (project.title, project.target_words, project.mode) == ("Essay on rivers", 1200, "plan")
    assert project.backend == "llama.cpp" and project.model == "smollm2-135m"
    assert project.settings["backend"] == "local" and project.settings["ctx"] == 2048
    assert project.settings["seed"] == 3 and store.sections(project.id) == []

    direct = service.create_project(store, "A short note on tea.", target_words=300, mode="direct",
                                    title="Tea", choice=choice, sampling=Sampling())
    (section,) = store.sections(direct.id)
    assert (direct.mode, section.title, section.main_point, section.target_words) == (
        "direct", "Tea", "A short note on tea.", 300)
    with pytest.raises(InputError):
        service.resolve_project("x", 100, "fast", choice=choice)


def test_a_server_project_records_where_its_key_comes_from_never_the_key(store: ProjectStore) -> None:
    choice = ServerChoice("http://127.0.0.1:9/v1", "served", ApiKey("env", "MY_KEY"), n_ctx=4096,
                          family=Family.CHATML)
    project = service.create_project(store, "Write about trams.", mode="auto", choice=choice,
                                     sampling=Sampling(temperature=0.7, repeat_penalty=1.1))
    assert (project.backend, project.model, project.mode) == ("openai", "served", "plan")
    record = project.settings
    assert record["base_url"] == "http://127.0.0.1:9/v1" and record["api_key_env"] == "MY_KEY"
    assert choice_from_record(record) == choice
    assert sampling_from_record(record) == Sampling(temperature=0.7, repeat_penalty=1.1)


def test_a_local_choice_round_trips_through_the_record() -> None:
    choice = LocalModel("some-model", LoadSettings(n_ctx=4096, gpu_layers="all", threads=2, kv_type="q8_0",
                                                   family=Family.GLM4))
    assert choice_from_record(run_record(choice, Sampling())) == choice
    assert run_record(LocalModel(), Sampling())["model"] == "smollm2-135m", "the default model is named"
    # A record from before the backend was recorded: the project's model, default settings.
    assert choice_from_record({}, model="other") == LocalModel("other", LoadSettings())
    with pytest.raises(InputError):
        choice_from_record({"family": "nonsense"})


def test_missing_key_sources_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LW_NO_SUCH_KEY", raising=False)
    with pytest.raises(InputError, match="LW_NO_SUCH_KEY"):
        ApiKey("env", "LW_NO_SUCH_KEY").resolve()
    monkeypatch.setenv("LW_NO_SUCH_KEY", "k-1")
    assert ApiKey("env", "LW_NO_SUCH_KEY").resolve() == "k-1"
    assert ApiKey().resolve() is None
    with pytest.raises(InputError):
        ApiKey("clipboard", "x")


def _stored_run(store: ProjectStore) -> int:
    project = store.create_project("Two", "Write two parts.", target_words=200, mode="plan")
    plan = [Section("One", "first", 100), Section("Two", "second", 100)]
    with ProjectRecorder(store, project.id) as recorder:
        recorder.handle(ev.PlanReady(plan, generated=True))
        recorder.handle(ev.SectionStarted(0, "One", 100))
        recorder.handle(ev.TextDelta(0, "First part."))
        recorder.handle(ev.SectionFinished(0, "One", 2, 100, text="First part."))
        recorder.handle(ev.SectionStarted(1, "Two", 100))
        recorder.handle(ev.TextDelta(1, "Second, cut"))
        recorder.handle(ev.Cancelled(words=4))
    return project.id


def test_the_resume_state_comes_from_the_store(store: ProjectStore) -> None:
    project_id = _stored_run(store)
    progress = store.resume_state(project_id)
    state = service.resume_state(progress)
    assert [s.title for s in state.plan.sections] == ["One", "Two"]
    assert (state.texts, state.finished, state.mode) == (["First part.", "Second, cut"], [True, False], "plan")


def test_run_recorded_saves_each_event_before_handing_it_on(store: ProjectStore) -> None:
    project_id = _stored_run(store)
    seen: list[str] = []
    events = [ev.SectionStarted(1, "Two", 100, resumed_words=2), ev.TextDelta(1, " short."),
              ev.SectionFinished(1, "Two", 3, 100, text="Second, cut short."), ev.Done(text="", stats={})]
    for event in service.run_recorded(store, project_id, iter(events)):
        seen.append(type(event).__name__)
        if isinstance(event, ev.SectionFinished):
            assert store.section_at(project_id, 1).status == "done"
    assert seen == ["SectionStarted", "TextDelta", "SectionFinished", "Done"]
    assert store.get_project(project_id).status == "done"
    assert not store.is_being_written(project_id)


def test_export_project_writes_headings_for_a_planned_document(store: ProjectStore, tmp_path: Path) -> None:
    project_id = _stored_run(store)
    path = service.export_project(store, project_id, tmp_path / "two.docx")
    document = docx.Document(str(path))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == ["One", "Two"]
    one = service.export_sections("Solo", [("Solo", "  Only text.  ")])
    assert [(s.title, s.text) for s in one.sections] == [("", "Only text.")]
    partial = service.export_sections("Two", [("A", "Text."), ("B", " ")])
    assert [(s.title, s.text) for s in partial.sections] == [("A", "Text.")]
