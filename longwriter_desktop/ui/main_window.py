"""The main window: projects on the left, the plan and progress in the middle, the text on the right.

The window owns no writing logic: it builds engine requests from what the user typed, hands them to the
:class:`EngineWorker`, and mirrors the worker's signals into the panes and the :class:`Draft`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSettings, Qt, QTimer, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME, __version__, paths
from ..engine import events as ev
from ..engine.estimate import ModelTimes, installed_times
from ..engine.llama_backend import LoadSettings
from ..engine.plan import Plan, Section, rescale
from ..engine.prompts import is_longwriter_trained
from ..engine.session import load_fit
from ..engine.words import count_words
from ..engine.writer import DIRECT_MAX_WORDS, WriteRequest
from ..errors import LongWriterError, ProjectError
from ..library import gpu
from ..library.fit import FitReport, Verdict
from ..library.gguf import read_gguf
from ..library.installed import BUILTIN_ID, InstalledModel, list_installed, resolve_model
from ..projects.store import ProjectStore
from ..settings import Settings, load_settings
from .background import BackgroundCall
from .codex_panel import CodexPanel, MentionHighlighter
from .downloads import DownloadManager
from .draft import DONE, INTERRUPTED, STATUS_NAMES, WRITING, Draft, SectionRow
from .new_project import NewProjectDialog
from .panes import OutputPane, PlanPane, ProgressPane, format_duration
from .worker import EngineWorker, LoadedModel, ModelChoice, PlanJob, WriteJob

log = logging.getLogger(__name__)

EXPORT_FILTERS = "Word document (*.docx);;Markdown (*.md);;Plain text (*.txt)"
SHUTDOWN_TIMEOUT_S = 10.0


def resolve_auto_mode(model_id: str | None, target_words: int) -> str:
    """The engine's "auto": one pass for LongWriter-trained models within their length, else plan."""
    try:
        model = resolve_model(model_id)
        trained = is_longwriter_trained(read_gguf(model.path).metadata, model.path.name)
    except LongWriterError:
        return "plan"
    return "direct" if trained and target_words <= DIRECT_MAX_WORDS else "plan"


DETECT_DELAY_MS = 250  # after the window is shown: time for the window manager to map and paint it


def window_settings() -> QSettings:
    """Window geometry and the like, in the config folder (so LONGWRITER_HOME moves it too)."""
    return QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The desktop app's one window."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.settings = settings or load_settings()
        self.worker = EngineWorker(self)
        self.downloads = DownloadManager(self)  # its own threads: downloads go on beside writing
        self.backend_report: gpu.BackendReport | None = None
        self.last_fit: FitReport | None = None
        self._confirmed_models: set[str | None] = set()  # won't-fit models the user chose to load anyway
        # llama.cpp's import takes a moment and holds the GIL for much of it: detect the GPU off the GUI
        # thread, and only once the window is on screen (showEvent), so the import never delays the window.
        self._detect_call = BackgroundCall(gpu.detect, self, name="longwriter-gpu-detect")
        self._detect_call.succeeded.connect(self._backend_detected)
        self._detect_started = False
        self.drafts: list[Draft] = []
        self.draft: Draft | None = None
        self.loaded_model: LoadedModel | None = None
        self.last_error: str | None = None
        self.last_done: ev.Done | None = None
        self.warnings: list[str] = []
        self._job = ""  # "plan", "regenerate" or "write" while a job runs
        self._shown_sections = 0
        self._locked_before_regenerate: list[tuple[int, SectionRow]] = []
        self._regenerating = False  # one section is being written again (regenerate_section)

        self._times: dict[tuple[str | None, LoadSettings], ModelTimes | None] = {}
        self.plan_pane = PlanPane()
        self.plan_pane.time_estimate = self._plan_time
        self.progress_pane = ProgressPane()
        self.output_pane = OutputPane()
        self.project_list = QListWidget()
        self.project_list.currentRowChanged.connect(self._project_selected)
        self.project_list.setWordWrap(True)
        self.project_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.new_button = QPushButton("New project…")
        self.projects_empty = QLabel("No projects yet. Start one with New project (Ctrl+N).")
        self.projects_empty.setWordWrap(True)
        self.projects_empty.setStyleSheet("color: palette(placeholder-text);")
        self.banner = self._make_banner()

        self.codex_panel = CodexPanel()
        self.codex_highlighter = MentionHighlighter(self.output_pane.editor.document())
        self.codex_panel.entriesChanged.connect(self._codex_changed)
        self.codex_panel.regenerateRequested.connect(self.regenerate_section)
        self._make_actions()
        self._layout()
        self._connect_worker()
        self.plan_pane.planEdited.connect(self._plan_edited)
        self.plan_pane.regenerateRequested.connect(self.regenerate_plan)
        self._restore_geometry()
        self.refresh_models()
        self.store = self._open_store()
        self._load_projects()
        self._update_actions()

    # -- building the window -----------------------------------------------------------------------

    def _make_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str | None, slot: object, tip: str) -> QAction:
            item = QAction(text, self)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            item.setToolTip(
                f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
                if shortcut
                else tip
            )
            item.triggered.connect(slot)
            self.addAction(item)
            return item

        self.new_action = action(
            "New", QKeySequence.StandardKey.New, self.new_project, "Start a new document"
        )
        self.plan_action = action("Plan", None, self.regenerate_plan, "Ask the model for a plan")
        self.write_action = action("Write", "Ctrl+Return", self.write, "Write the document from the plan")
        self.stop_action = action("Stop", "Esc", self.stop, "Stop writing; the text so far is kept")
        self.export_action = action(
            "Export…", "Ctrl+E", self.export, "Save the document as Word, Markdown or text"
        )
        self.save_action = action("Save", QKeySequence.StandardKey.Save, self.save, "Save the project")
        self.models_action = action(
            "Models…", None, self.open_model_manager, "Installed models, downloads and settings"
        )
        self.about_action = action("About", None, self.show_about, "Versions and licences")
        self.codex_dock = QDockWidget("Story bible", self)
        self.codex_dock.setObjectName("codex-dock")
        self.codex_dock.setWidget(self.codex_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.codex_dock)
        self.codex_dock.hide()
        self.codex_action = self.codex_dock.toggleViewAction()
        self.codex_action.setText("Story bible")
        self.codex_action.setShortcut(QKeySequence("Ctrl+B"))
        self.codex_action.setToolTip("Characters, places and facts the model keeps in view (Ctrl+B)")
        self.addAction(self.codex_action)
        # Ctrl+Enter on the keypad too.
        self.write_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for item in (self.new_action, self.plan_action, self.write_action, self.stop_action):
            toolbar.addAction(item)
        toolbar.addSeparator()
        toolbar.addAction(self.codex_action)
        for item in (self.save_action, self.export_action):
            toolbar.addAction(item)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy().Preferred
        )
        toolbar.addWidget(spacer)
        toolbar.addAction(self.models_action)
        toolbar.addAction(self.about_action)
        self.addToolBar(toolbar)
        self.new_button.clicked.connect(self.new_project)

    def _make_banner(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("first-run-banner")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame.setStyleSheet("#first-run-banner { background: palette(alternate-base); border-radius: 4px; }")
        text = QLabel(
            f"You are using the built-in model ({BUILTIN_ID}): tiny, offline, and meant for trying the "
            "app. The LongWriter models write far longer and better documents."
        )
        text.setWordWrap(True)
        button = QPushButton("Open the model manager")
        button.clicked.connect(self.open_model_manager)
        layout = QHBoxLayout(frame)
        layout.addWidget(text, 1)
        layout.addWidget(button)
        return frame

    def _layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Projects")
        heading.setStyleSheet("font-weight: bold;")
        left_layout.addWidget(heading)
        left_layout.addWidget(self.project_list, 1)
        left_layout.addWidget(self.projects_empty)
        left_layout.addWidget(self.new_button)

        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.plan_pane)
        middle.addWidget(self.progress_pane)
        middle.setSizes([420, 380])

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.output_pane)
        self.splitter.setSizes([200, 620, 560])
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 1)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready. Ctrl+N starts a new document.")

    def _connect_worker(self) -> None:
        w = self.worker
        w.modelLoading.connect(self._model_loading)
        w.modelLoaded.connect(self._model_loaded)
        w.planningStarted.connect(self._planning_started)
        w.planReady.connect(self._plan_ready)
        w.sectionStarted.connect(self._section_started)
        w.textArrived.connect(self._text_arrived)
        w.textRetracted.connect(self._text_retracted)
        w.sectionFinished.connect(self._section_finished)
        w.sectionSummarized.connect(self._section_summarized)
        w.progressChanged.connect(self._progress_changed)
        w.warned.connect(self._warned)
        w.failed.connect(self._failed)
        w.cancelled.connect(self._cancelled)
        w.finished.connect(self._finished)
        w.jobEnded.connect(self._job_ended)
        w.speedMeasured.connect(self._speed_changed)
        w.finished.connect(self._speed_changed)

    # -- time estimates ------------------------------------------------------------------------------

    def model_times(self, model_id: str | None) -> ModelTimes | None:
        """This machine's speed profile for a model with the current loading settings (cached until a run)."""
        key = (model_id, self.settings.load_settings())
        if key not in self._times:
            try:
                self._times[key] = installed_times(model_id, key[1])
            except LongWriterError as exc:
                log.info("no time estimate for %s: %s", model_id, exc)
                self._times[key] = None
        return self._times[key]

    def _plan_time(self, words: int) -> str:
        times = self.model_times(self.draft.model if self.draft else self.settings.model)
        return times.describe(words) if times else ""

    def _speed_changed(self, *_args: object) -> None:
        """A calibration or a finished run changed the speed profile: show estimates from it."""
        self._times.clear()
        self.plan_pane.refresh_total()

    def _restore_geometry(self) -> None:
        saved = window_settings().value("geometry")
        if saved is not None and self.restoreGeometry(saved):
            return
        self.resize(1380, 860)

    def refresh_models(self) -> list[InstalledModel]:
        """Re-read the installed models; the first-run note shows while only the built-in one is there."""
        models = list_installed()
        self.banner.setVisible(not any(not m.builtin for m in models))
        return models

    # -- the project store ---------------------------------------------------------------------------

    def _open_store(self) -> ProjectStore | None:
        try:
            return ProjectStore()
        except ProjectError as exc:
            message = f"{exc} Projects are not saved in this session."
            QTimer.singleShot(0, lambda: self._show_error(message))
            return None

    def _load_projects(self) -> None:
        """Show the saved projects, most recent first (their text is read when one is opened)."""
        if self.store is None:
            return
        try:
            projects = self.store.list_projects()
        except ProjectError as exc:
            self._show_error(str(exc))
            return
        for project in reversed(projects):
            draft = Draft(
                instruction=project.instruction,
                target_words=project.target_words,
                mode="direct" if project.mode == "direct" else "plan",
                model=project.model or None,
                notes=project.notes,
                title=project.title,
                project_id=project.id,
            )
            try:
                self._read_sections(draft)
            except ProjectError as exc:
                log.warning("project %s could not be read: %s", project.id, exc)
                continue
            self._add_to_list(draft)

    def _read_sections(self, draft: Draft) -> None:
        assert self.store is not None and draft.project_id is not None
        state = self.store.resume_state(draft.project_id)
        rows = []
        for index, (record, chosen_text) in enumerate(self.store.document_sections(draft.project_id)):
            title = "" if draft.mode == "direct" else record.title
            text = state.partial_text if index == state.interrupted_index else chosen_text
            status = record.status if record.status in STATUS_NAMES else "pending"
            if status == WRITING:
                status = INTERRUPTED
            take = self.store.get_take(record.chosen_take_id) if record.chosen_take_id else None
            rows.append(
                SectionRow(
                    Section(title, record.main_point, record.target_words, record.locked), text, status,
                    str(take.stats.get("summary", "")) if take is not None else "",
                )
            )
        draft.rows = rows

    def _store_plan(self) -> None:
        """Save the plan of the current project (titles stand in for the one-pass section's missing one)."""
        draft = self.draft
        if self.store is None or draft is None or draft.project_id is None or not draft.rows:
            return
        sections = [replace(r.section, title=r.section.title or draft.title) for r in draft.rows]
        try:
            self.store.update_plan(draft.project_id, sections)
        except LongWriterError as exc:
            self._show_error(f"The plan could not be saved: {exc}")

    def _store_text_edits(self) -> None:
        """Keep the user's edits of finished sections as new takes of those sections."""
        draft = self.draft
        if self.store is None or draft is None or draft.project_id is None:
            return
        try:
            stored = self.store.document_sections(draft.project_id)
            for row, (record, text) in zip(draft.rows, stored, strict=False):
                if row.status == DONE and row.text.strip() != text.strip():
                    take = self.store.start_take(record.id, model="edited by hand")
                    self.store.finish_take(take.id, text=row.text)
            self.store.update_project(draft.project_id, title=draft.title)
        except LongWriterError as exc:
            self._show_error(f"The project could not be saved: {exc}")

    # -- projects ------------------------------------------------------------------------------------

    def new_project(self) -> None:
        """Ask for a new document and start on it."""
        if self.worker.busy:
            return
        dialog = NewProjectDialog(self.refresh_models(), self.settings.model, self, times=self.model_times)
        if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
            return
        draft, mode = dialog.draft()
        self.create_project(draft, mode)

    def create_project(self, draft: Draft, mode: str = "plan") -> None:
        """Add a project and begin: plan it (plan mode) or show its one section (one pass)."""
        if self._sync_view_edits() is False:
            return
        draft.mode = resolve_auto_mode(draft.model, draft.target_words) if mode == "auto" else mode
        if draft.mode == "direct":
            draft.rows = [SectionRow(one_pass_section(draft))]
        if self.store is not None:
            try:
                draft.project_id = self.store.create_project(
                    draft.title,
                    draft.instruction,
                    target_words=draft.target_words,
                    notes=draft.notes,
                    mode=draft.mode,
                    model=draft.model or "",
                    backend="llama.cpp",
                ).id
            except LongWriterError as exc:
                self._show_error(f"The project could not be saved: {exc}")
        self._add_to_list(draft)
        self.project_list.setCurrentRow(len(self.drafts) - 1)
        self._store_plan()
        if draft.mode == "plan":
            self._start_plan("plan")

    def _add_to_list(self, draft: Draft) -> None:
        self.drafts.append(draft)
        item = QListWidgetItem(draft.title)
        item.setToolTip(draft.instruction)
        self.project_list.addItem(item)
        self.draft = draft
        self._update_list_item()
        self.draft = None

    def _project_selected(self, row: int) -> None:
        if not 0 <= row < len(self.drafts):
            return
        if self.draft is not None and self.draft is not self.drafts[row]:
            self._sync_view_edits()
        self.show_draft(self.drafts[row])

    def show_draft(self, draft: Draft | None) -> None:
        """Show a project in every pane."""
        self.draft = draft
        self.plan_pane.show_draft(draft)
        self.progress_pane.show_draft(draft)
        self.output_pane.set_text(draft.view_text() if draft and draft.shown_sections() else "")
        self.codex_panel.show_project(self.store, draft)
        self._codex_changed()
        if draft is not None:
            self.setWindowTitle(f"{draft.title} – {APP_NAME}")
        self._update_actions()

    def _update_list_item(self) -> None:
        if self.draft is None:
            return
        row = self.drafts.index(self.draft)
        item = self.project_list.item(row)
        state = " (done)" if self.draft.complete else (" (stopped)" if self.draft.resumable else "")
        item.setText(self.draft.title + state)

    def _plan_edited(self) -> None:
        self.progress_pane.show_draft(self.draft)
        self.codex_panel.refresh()
        self.plan_pane.show_codex(self.codex_panel.section_summaries())
        self._store_plan()
        self._update_actions()

    def _sync_view_edits(self) -> bool | None:
        """Take the user's edits of the text into the sections; False (after saying why) if they don't fit."""
        if self.draft is None or not self.output_pane.edited_by_user:
            return None
        problem = self.draft.take_view_text(self.output_pane.editor.toPlainText())
        if problem:
            self._show_error(problem)
            return False
        self.output_pane.edited_by_user = False
        self.progress_pane.show_draft(self.draft)
        return True

    # -- jobs ------------------------------------------------------------------------------------------

    def _choice(self) -> ModelChoice:
        model = self.draft.model if self.draft and self.draft.model else self.settings.model
        return ModelChoice(model, self.settings.load_settings(), force=model in self._confirmed_models)

    def _backend_detected(self, report: gpu.BackendReport) -> None:
        self.backend_report = report

    def confirm_fit(self) -> bool:
        """Before a model loads: ask the user when the fit check says it won't fit this machine."""
        choice = self._choice()
        loaded = self.loaded_model
        if loaded is not None and choice.model in (None, loaded.model):
            return True  # already loaded: it fit
        if choice.force:
            return True  # the user said yes to this model earlier in this session
        try:
            model = resolve_model(choice.model)
            if model.builtin:  # tiny, and exempt from the engine's check too
                return True
            from .model_manager import current_machine

            report = load_fit(read_gguf(model.path), choice.settings, current_machine(self.backend_report))
        except LongWriterError as exc:  # the engine checks again as it loads, and says what is wrong
            log.info("no fit check before loading: %s", exc)
            return True
        self.last_fit = report
        if report.verdict is not Verdict.WONT_FIT:
            return True
        answer = QMessageBox.question(
            self,
            "The model may not fit",
            f"{model.id} won't fit in this computer's memory with the current settings.\n\n"
            f"{report.explanation}\n\nLoading it anyway may make the computer very slow or fail. Load it?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self._confirmed_models.add(choice.model)  # the engine loads it with force from now on
        return True

    def _start_plan(self, job: str) -> None:
        draft = self.draft
        if draft is None or not self.confirm_fit():
            return
        self._job = job
        self._locked_before_regenerate = [(i, r) for i, r in enumerate(draft.rows) if r.section.locked]
        self.progress_pane.set_state("Loading the model…" if self.loaded_model is None else "Planning…")
        self.worker.start_plan(
            PlanJob(
                self._choice(), draft.instruction, draft.target_words, draft.notes, self.settings.sampling()
            )
        )
        self._update_actions()

    def regenerate_plan(self) -> None:
        """Ask the model for a new plan (locked sections stay)."""
        if self.worker.busy or self.draft is None or self.draft.mode != "plan":
            return
        if self.draft.started:
            answer = QMessageBox.question(
                self, "Regenerate the plan", "A new plan discards the text written so far. Go on?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._start_plan("regenerate" if self.draft.rows else "plan")

    def write(self) -> None:
        """Write the document from the plan, or resume where writing stopped."""
        draft = self.draft
        if self.worker.busy or draft is None or not draft.rows:
            return
        if self._sync_view_edits() is False or not self.confirm_fit():
            return
        if draft.complete:
            answer = QMessageBox.question(
                self,
                "Write again",
                "The document is finished. Write it again from the plan, replacing the text?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            for row in draft.rows:
                row.text, row.status = "", "pending"
        resume = draft.resume_state() if draft.resumable else None
        request = WriteRequest(
            instruction=draft.instruction,
            target_words=None if draft.mode == "plan" else draft.target_words,
            mode=draft.mode,
            notes=draft.notes,
            plan=draft.plan() if draft.mode == "plan" else None,
            sampling=self.settings.sampling(),
            title=draft.title,
            codex=self.codex_panel.codex_for_run(),
        )
        self._store_plan()
        self._job = "write"
        self.last_done = None
        self.output_pane.set_text(draft.view_text() if draft.shown_sections() else f"# {draft.title}")
        self._shown_sections = draft.shown_sections()
        self.progress_pane.set_state(
            "Loading the model…" if self.loaded_model is None else ("Resuming…" if resume else "Writing…")
        )
        self.worker.start_write(WriteJob(self._choice(), request, resume, draft.project_id))
        self._update_actions()

    def stop(self) -> None:
        """Stop the running job; written text is kept and can be resumed."""
        if self.worker.busy:
            self.worker.stop()
            self.progress_pane.set_state("Stopping…")

    def _update_actions(self) -> None:
        busy = self.worker.busy
        draft = self.draft
        self.new_action.setEnabled(not busy)
        self.new_button.setEnabled(not busy)
        self.project_list.setEnabled(not busy)
        self.plan_action.setEnabled(not busy and draft is not None and draft.mode == "plan")
        self.plan_action.setText("Regenerate plan" if draft is not None and draft.rows else "Plan")
        self.write_action.setEnabled(not busy and draft is not None and bool(draft.rows))
        self.write_action.setText("Resume" if draft is not None and draft.resumable else "Write")
        self.stop_action.setEnabled(busy)
        self.export_action.setEnabled(not busy and draft is not None and draft.started)
        self.save_action.setEnabled(not busy and draft is not None)
        self.projects_empty.setVisible(not self.drafts)
        self.plan_pane.set_editable(not busy)
        self.output_pane.set_writing(busy and self._job == "write")
        if not busy and draft is None:
            self.progress_pane.set_state("No project yet. Ctrl+N starts one.")

    # -- worker signals --------------------------------------------------------------------------------

    def _model_loading(self, fraction: float) -> None:
        self.progress_pane.set_state(f"Loading the model… {fraction:.0%}")

    def _model_loaded(self, model: LoadedModel) -> None:
        self.loaded_model = model
        self.progress_pane.show_model(model.model, model.device, model.n_ctx)
        self.progress_pane.set_state(f"Model loaded in {model.load_seconds:.1f} s.")
        self.statusBar().showMessage(
            f"{model.model} loaded on {model.device}, context {model.n_ctx:,} tokens.", 8000
        )

    def _planning_started(self, target_words: int, sections: int) -> None:
        self.progress_pane.set_state(f"Planning {sections} sections for {target_words:,} words…")

    def _plan_ready(self, plan: Plan, notes: tuple[str, ...]) -> None:
        if self.draft is None or self._job not in ("plan", "regenerate"):
            return
        sections = list(plan.sections)
        for index, row in self._locked_before_regenerate:
            if index < len(sections):
                sections[index] = replace(row.section)
        self.draft.set_plan(rescale(Plan(sections), self.draft.target_words))
        self._store_plan()
        self.plan_pane.show_draft(self.draft)
        self.progress_pane.show_draft(self.draft)
        self.output_pane.set_text("")
        message = "Plan ready: edit it, then Write (Ctrl+Enter)."
        if notes:
            message += " The model's plan was repaired: " + "; ".join(notes) + "."
        self.progress_pane.set_state(message)

    def _section_started(self, index: int, title: str, target: int, resumed_words: int) -> None:
        draft = self.draft
        if draft is None or index >= len(draft.rows):
            return
        draft.rows[index].status = WRITING
        while self._shown_sections <= index:
            self.output_pane.append(draft.section_opening(self._shown_sections))
            self._shown_sections += 1
        self.progress_pane.update_row(index)
        label = title or "the text"
        more = f", going on from {resumed_words:,} words" if resumed_words else ""
        self.progress_pane.set_state(f"Writing section {index + 1} of {len(draft.rows)}: {label}{more}.")

    def _text_arrived(self, index: int, text: str) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].text += text
        self.output_pane.append(text)

    def _text_retracted(self, index: int, chars: int) -> None:
        if self.draft is None or index >= len(self.draft.rows) or chars <= 0:
            return
        row = self.draft.rows[index]
        chars = min(chars, len(row.text))
        row.text = row.text[: len(row.text) - chars]
        self.output_pane.retract(chars)

    def _section_finished(self, index: int, words: int, target: int) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].status = DONE
        self.progress_pane.update_row(index, words)
        self.codex_panel.refresh()

    def _section_summarized(self, index: int, summary: str) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].summary = summary
        self.progress_pane.update_row(index)

    def _progress_changed(self, progress: ev.Progress) -> None:
        self.progress_pane.show_progress(progress)
        self.output_pane.set_words(progress.words)

    def _warned(self, message: str) -> None:
        self.warnings.append(message)
        self.statusBar().showMessage(message, 10000)

    def _failed(self, message: str) -> None:
        if self.draft is not None:
            self.draft.mark_interrupted()
        self.progress_pane.set_state("Stopped by an error: " + message)
        self._show_error(message)

    def _cancelled(self, words: int) -> None:
        if self.draft is None:
            return
        self.draft.mark_interrupted()
        if self._job == "write":
            self.progress_pane.set_state(
                f"Stopped at {words:,} words. Resume (Ctrl+Enter) goes on from here."
            )
        else:
            self.progress_pane.set_state("Planning stopped.")

    def _finished(self, done: ev.Done) -> None:
        self.last_done = done
        stats = done.stats
        # The sections' words, as the bar and the table count them (the stats also count the headings).
        words = sum(count_words(r.text) for r in self.draft.rows) if self.draft else stats.get("words", 0)
        self.progress_pane.set_state(
            f"Done: {words:,} words in {format_duration(stats.get('elapsed_s'))}. "
            "Edit the text freely, then Export (Ctrl+E)."
        )
        self.progress_pane.remaining.setText("–")

    def _job_ended(self, kind: str) -> None:
        self._job = ""
        if self._regenerating and self.draft is not None:
            self._regenerating = False
            self.output_pane.set_text(self.draft.view_text())
        self.codex_panel.refresh()
        self.plan_pane.show_codex(self.codex_panel.section_summaries())
        if self.draft is not None:
            for i in range(len(self.draft.rows)):
                self.progress_pane.update_row(i)
            self._update_list_item()
        self.output_pane.update_word_count()
        self._update_actions()

    def _codex_changed(self) -> None:
        self.codex_highlighter.set_entries(self.codex_panel.entries)
        self.plan_pane.show_codex(self.codex_panel.section_summaries())

    def regenerate_section(self, index: int) -> None:
        """Write one section again (its earlier take is kept in the project)."""
        draft = self.draft
        if self.worker.busy or draft is None or not 0 <= index < len(draft.rows):
            return
        if self._sync_view_edits() is False:
            return
        draft.rows[index].text, draft.rows[index].status = "", "pending"
        self._regenerating = True  # the text view is rebuilt when it ends: the section streams in at the end
        self.write()

    def _show_error(self, message: str) -> None:
        self.last_error = message
        log.warning("shown to the user: %s", message)
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking: the worker's signals keep flowing

    # -- files -----------------------------------------------------------------------------------------

    def export(self, path: str | Path | None = None) -> Path | None:
        """Save the document as DOCX, Markdown or text (asks for a file when none is given)."""
        draft = self.draft
        if draft is None or not draft.started or self.worker.busy:
            return None
        if self._sync_view_edits() is False:
            return None
        if path is None:
            suggested = str(Path.home() / f"{safe_file_name(draft.title)}.docx")
            chosen, _ = QFileDialog.getSaveFileName(self, "Export the document", suggested, EXPORT_FILTERS)
            if not chosen:
                return None
            path = chosen
        try:
            from ..export.api import export_document  # python-docx loads on the first export, not at start

            written = export_document(draft.export_document(), path)
        except LongWriterError as exc:
            self._show_error(str(exc))
            return None
        self.statusBar().showMessage(f"Exported to {written}.", 8000)
        return written

    def save(self) -> None:
        """Save the project now: the plan, the title and hand edits of the text (writing autosaves itself)."""
        draft = self.draft
        if draft is None or self.worker.busy:
            return
        if self._sync_view_edits() is False:
            return
        if self.store is None or draft.project_id is None:
            self._show_error(
                "The projects database could not be opened, so projects are not saved in this "
                "session. Export the document (Ctrl+E) to keep it."
            )
            return
        self._store_plan()
        self._store_text_edits()
        self._update_list_item()
        self.statusBar().showMessage(f"Saved \u201c{draft.title}\u201d.", 8000)

    # -- dialogs ---------------------------------------------------------------------------------------

    def open_model_manager(self) -> None:
        """Installed models, the catalog and downloads, and the loading and sampling settings."""
        from .model_manager import ModelManagerDialog  # loaded when first opened, not at start

        dialog = ModelManagerDialog(self.settings, self, self.downloads)
        dialog.exec()
        if dialog.saved_settings is not None and dialog.saved_settings != self.settings:
            self.settings = dialog.saved_settings
            self.worker.unload()  # the next job loads with the new settings
            self.loaded_model = None
        self.refresh_models()

    def about_text(self) -> str:
        """Versions of the app and its parts, and the licence of the model in use."""
        try:
            llama_version = metadata.version("llama_cpp_python")
        except metadata.PackageNotFoundError:
            llama_version = "not installed"
        if self.loaded_model is not None:
            model, licence = self.loaded_model.model, self.loaded_model.licence
        else:
            try:
                installed = resolve_model(self.settings.model)
                model = installed.id
                licence = str(
                    read_gguf(installed.path).metadata.get("general.license")
                    or "not stated in the model file"
                )
            except LongWriterError as exc:
                model, licence = "none", str(exc)
        return (
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Writes long documents with language models on this computer: plan, then write.</p>"
            f"<p>llama-cpp-python {llama_version}<br>Qt {qVersion()}, PySide6 {pyside_version}</p>"
            f"<p>Model in use: {model}<br>Its licence: {licence}</p>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    # -- closing ---------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        """Start the GPU detection (llama.cpp's import) once the window has been put on screen."""
        super().showEvent(event)
        if not self._detect_started:
            self._detect_started = True
            QTimer.singleShot(DETECT_DELAY_MS, self, self._start_detection)

    def _start_detection(self) -> None:
        if self.isVisible() and not self._detect_call.finished:
            self._detect_call.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop any job, let the worker close the model, and remember the window's place."""
        was_busy = self.worker.busy
        if not self.worker.shutdown(SHUTDOWN_TIMEOUT_S):
            log.error("closing while the model thread is still busy")
        self.downloads.shutdown(SHUTDOWN_TIMEOUT_S)  # pauses them: they resume at the next start
        self._detect_call.wait(SHUTDOWN_TIMEOUT_S)
        if was_busy and self.draft is not None:
            self.draft.mark_interrupted()
        elif self.output_pane.edited_by_user and self._sync_view_edits():
            self._store_text_edits()
        if self.store is not None:
            self.store.close()
            self.store = None
        window_settings().setValue("geometry", self.saveGeometry())
        event.accept()


def one_pass_section(draft: Draft) -> Section:
    """The single untitled section of a one-pass document."""
    return Section("", draft.instruction, draft.target_words)


def safe_file_name(title: str) -> str:
    """A file name from a title: no path separators or characters Windows refuses."""
    cleaned = "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in title).strip(" .")
    return cleaned[:80] or "document"
