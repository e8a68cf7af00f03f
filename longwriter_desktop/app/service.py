"""What a project does, once for every front end: create it, run and resume it through the recorder, export.

The functions take the project store and an opened backend; they neither print nor touch Qt. A run is a
generator of the engine's events, each one saved by the recorder before the front end sees it, so what a
front end shows has been handed to the store first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import events as ev
from ..engine.backend import Backend, Sampling
from ..engine.codex import Codex
from ..engine.gguf import read_gguf
from ..engine.plan import Plan, Section
from ..engine.prompts import is_longwriter_trained
from ..engine.target import target_from_instruction
from ..engine.writer import DIRECT_MAX_WORDS, DocumentWriter, ResumeState, WriteRequest, document_title
from ..errors import InputError, LongWriterError, ProjectError
from ..library.installed import resolve_model
from ..projects.recorder import ProjectRecorder
from ..projects.store import Project, ProjectProgress, ProjectStore
from .backends import BackendChoice, ServerChoice, run_record

if TYPE_CHECKING:  # the exporters load on first use: python-docx and markdown-it are slow to import
    from ..export.document import ExportDocument

log = logging.getLogger(__name__)

MODES = ("auto", "direct", "plan")


@dataclass(frozen=True)
class Resolved:
    """A new project's title, target and mode, as the project records them and every run uses them."""

    title: str
    target_words: int
    mode: str  # "direct" or "plan"


def _trained(choice: BackendChoice, backend: Backend | None) -> bool:
    if backend is not None:
        return bool(getattr(backend, "longwriter_trained", False))
    if isinstance(choice, ServerChoice):
        return False  # known only once connected: plan mode is right for every model
    try:
        model = resolve_model(choice.model)
        return is_longwriter_trained(read_gguf(model.path).metadata, model.path.name)
    except LongWriterError:
        return False


def resolve_project(instruction: str, target_words: int | None, mode: str, title: str | None = None, *,
                    choice: BackendChoice, backend: Backend | None = None) -> Resolved:
    """Title from the instruction, target from it (or the one given), and ``auto`` made direct or plan.

    ``auto`` is one pass for LongWriter-trained models within their one-pass length, else plan then write;
    the loaded backend says whether the model is trained, or else the model file's header does.
    """
    if mode not in MODES:
        raise InputError(f"Unknown mode '{mode}': use auto, direct or plan.")
    target = target_words or target_from_instruction(instruction).aim
    if target <= 0:
        raise InputError("The target length must be a positive number of words.")
    if mode == "auto":
        mode = "direct" if _trained(choice, backend) and target <= DIRECT_MAX_WORDS else "plan"
    return Resolved(title or document_title(instruction), target, mode)


def one_pass_section(title: str, instruction: str, target_words: int) -> Section:
    """The single section of a one-pass (direct) document."""
    return Section(title, instruction.strip(), target_words)


def create_project(store: ProjectStore, instruction: str, *, target_words: int | None = None, mode: str = "auto",
                   title: str | None = None, notes: str = "", choice: BackendChoice,
                   sampling: Sampling, backend: Backend | None = None,
                   settings: dict[str, Any] | None = None) -> Project:
    """A new project with its title, target and mode resolved and its backend and run settings recorded.

    A one-pass project gets its one section at once; a plan-mode project gets its plan from the first run.
    ``settings``: more to record beside the run's (the codex options, say).
    """
    resolved = resolve_project(instruction, target_words, mode, title, choice=choice, backend=backend)
    project = store.create_project(
        resolved.title, instruction, target_words=resolved.target_words, notes=notes, mode=resolved.mode,
        model=backend.info.model if backend is not None else model_name(choice),
        backend=backend.info.name if backend is not None else backend_name(choice),
        settings={**(settings or {}), **run_record(choice, sampling)},
    )
    if resolved.mode == "direct":
        store.update_plan(project.id, [one_pass_section(resolved.title, instruction, resolved.target_words)])
    return store.get_project(project.id)


def model_name(choice: BackendChoice) -> str:
    """The model a project records before a backend is open: the installed model's id, or the server's name."""
    if isinstance(choice, ServerChoice):
        return choice.model or ""
    try:
        return resolve_model(choice.model).id
    except LongWriterError:
        return choice.model or ""


def backend_name(choice: BackendChoice) -> str:
    """The backend's name as a project records it (the engine backend's ``info.name``)."""
    return "openai" if isinstance(choice, ServerChoice) else "llama.cpp"


def write_request(project: Project, sampling: Sampling, *, target_words: int | None = None,
                  plan: Plan | None = None, codex: Codex | None = None) -> WriteRequest:
    """The engine's request for a run of this project (``target_words``: only a target the user gave)."""
    return WriteRequest(project.instruction, target_words, project_mode(project), project.notes, plan=plan,
                        sampling=sampling, title=project.title, codex=codex)


def project_mode(project: Project) -> str:
    return project.mode if project.mode in ("direct", "plan") else "plan"


# -- resuming ---------------------------------------------------------------------------------------------


def resume_state(progress: ProjectProgress) -> ResumeState:
    """Where a stored project stopped, as the engine goes on from it."""
    sections = progress.sections
    plan = Plan([Section(s.title, s.main_point, s.target_words, s.locked) for s in sections])
    texts = [progress.finished.get(i, progress.partial_text if i == progress.interrupted_index else "")
             for i in range(len(sections))]
    finished = [i in progress.finished for i in range(len(sections))]
    return ResumeState(plan, texts, finished, mode=project_mode(progress.project))


# -- running ----------------------------------------------------------------------------------------------


def record_run(store: ProjectStore, project_id: int, choice: BackendChoice, sampling: Sampling,
               backend: Backend) -> None:
    """Record which backend, model and settings the project's run uses (both front ends alike); what else
    the project's settings hold (the codex options) stays."""
    settings = {**store.get_project(project_id).settings, **run_record(choice, sampling)}
    store.update_project(project_id, model=backend.info.model, backend=backend.info.name, settings=settings)


def run_recorded(store: ProjectStore, project_id: int, events: Iterator[ev.Event], *, model: str = "",
                 seed: int | None = None, keep_going: bool = False,
                 before: Callable[[], None] | None = None) -> Iterator[ev.Event]:
    """Yield a run's events after the recorder has saved each one.

    When saving fails: with ``keep_going`` (the window, whose text stays on screen) the run goes on unsaved
    after one warning; without it (the command line) the ProjectError ends the run. ``before`` runs once the
    recorder holds the project's lock, before the first event.
    """
    recorder: ProjectRecorder | None = ProjectRecorder(store, project_id, model=model, seed=seed)
    try:
        if before is not None:
            try:
                before()
            except ProjectError as exc:
                if not keep_going:
                    raise
                log.warning("the run's settings could not be saved: %s", exc)
        for event in events:
            if recorder is not None:
                try:
                    recorder.handle(event)
                except ProjectError as exc:
                    if not keep_going:
                        raise
                    log.warning("autosave failed: %s", exc)
                    _close_quietly(recorder)
                    recorder = None
                    yield ev.Warning(f"Autosave failed ({exc}); the text stays in the window: export it.",
                                     "project")
            yield event
    except BaseException:
        if recorder is not None:  # commits the last text; an open section becomes interrupted
            _close_quietly(recorder)
        raise
    if recorder is not None:
        try:
            recorder.close()
        except ProjectError as exc:
            if not keep_going:
                raise
            yield ev.Warning(f"The last text could not be saved: {exc}", "project")


def _close_quietly(recorder: ProjectRecorder) -> None:
    try:
        recorder.close()
    except ProjectError as exc:
        log.warning("the last text could not be saved: %s", exc)


def write(store: ProjectStore, project_id: int, backend: Backend, request: WriteRequest, *,
          cancel: threading.Event | None = None, resume: ResumeState | None = None,
          choice: BackendChoice | None = None, keep_going: bool = False) -> tuple[DocumentWriter, Iterator[ev.Event]]:
    """The writer for a run of the project and its recorded events (write, resume or regenerate).

    With ``choice``, the project records the backend, model and run settings this run uses.
    """
    writer = DocumentWriter(backend, request, cancel, resume)

    def record() -> None:
        if choice is not None:
            record_run(store, project_id, choice, request.sampling, backend)

    events = run_recorded(store, project_id, writer.run(), model=backend.info.model, seed=request.sampling.seed,
                          keep_going=keep_going, before=record)
    return writer, events


# -- exporting --------------------------------------------------------------------------------------------


def export_sections(title: str, sections: Sequence[tuple[str, str]], created: datetime | None = None
                    ) -> ExportDocument:
    """The document for the exporters: the title and each section that has text (headings when there are
    several sections; a one-pass document is one untitled piece)."""
    from ..export.document import ExportDocument, ExportSection

    headings = len(sections) > 1
    kept = [ExportSection(heading if headings else "", text.strip()) for heading, text in sections
            if text.strip()]
    if created is None:
        return ExportDocument(title=title, sections=kept)
    return ExportDocument(title=title, created=created, sections=kept)


def export_project(store: ProjectStore, project_id: int, path: str | Path) -> Path:
    """Export a project's chosen takes (DOCX, Markdown or text by suffix); returns the file written."""
    from ..export.api import export_document

    project = store.get_project(project_id)
    sections = [(record.title, text) for record, text in store.document_sections(project_id)]
    return export_document(export_sections(project.title, sections, project.created), path)

