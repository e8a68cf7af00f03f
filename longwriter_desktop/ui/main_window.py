"""The main window: the document at the centre, the projects, outline and inspector beside it.

The window owns no writing logic: it builds engine requests from what the user typed (the takes and
"write more" runs come from the Qt-free ``app.takes``), hands them to the :class:`EngineWorker`, and mirrors
the worker's signals into the panes and the :class:`Draft`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
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
from ..errors import LongWriterError, ProjectError
from ..settings import Settings, load_settings
from ..units import format_duration
from .background import BackgroundCall

if TYPE_CHECKING:
    from .downloads import DownloadManager

log = logging.getLogger(__name__)

HAND_EDIT = "edited by hand"  # the model name of a take the user wrote in the text
EXPORT_FILTERS = "Word document (*.docx);;Markdown (*.md);;Plain text (*.txt)"
SHUTDOWN_TIMEOUT_S = 10.0


DETECT_DELAY_MS = 250  # after the window is shown: time for the window manager to map and paint it


def window_settings() -> QSettings:
    """Window geometry and the like, in the config folder (so LONGWRITER_HOME moves it too)."""
    return QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)


def import_parts() -> None:
    """Import the engine, the projects, the model library and the panes into this module.

    They take about 0.2 s (the engine's dataclasses and checks, the SQLite store, the panes that show them):
    a window that waited for them would be on screen that much later. ``MainWindow(first_frame=True)`` is put
    on screen with only Qt loaded and calls this once its first frame is painted; a window made without it
    calls it at once. The names become this module's globals, as top-level imports would.
    """
    global service
    from ..app import service
    global BackendChoice, LocalModel, ServerChoice, choice_from_record, load_fit
    from ..app.backends import BackendChoice, LocalModel, ServerChoice, choice_from_record, load_fit
    global installed_times
    from ..app.estimates import installed_times
    global load_servers
    from ..app.servers import load_servers
    global SectionRun, prepare_more, prepare_new_section, prepare_regenerate, section_takes
    from ..app.takes import SectionRun, prepare_more, prepare_new_section, prepare_regenerate, section_takes
    global ev
    from ..engine import events as ev
    global LengthRule, Unit
    from ..engine.counting import LengthRule, Unit
    global ModelTimes
    from ..engine.estimate import ModelTimes
    global read_gguf
    from ..engine.gguf import read_gguf
    global LoadSettings
    from ..engine.llama_backend import LoadSettings
    global Plan, Section, rescale
    from ..engine.plan import Plan, Section, rescale
    global WriteRequest
    from ..engine.writer import WriteRequest
    global gpu
    from ..library import gpu
    global FitReport, Verdict, current_machine
    from ..library.fit import FitReport, Verdict, current_machine
    global BUILTIN_ID, InstalledModel, list_installed, resolve_model
    from ..library.installed import BUILTIN_ID, InstalledModel, list_installed, resolve_model
    global DamagedDatabaseError, ProjectStore, good_backups, restore_backup
    from ..projects.store import DamagedDatabaseError, ProjectStore, good_backups, restore_backup
    global CodexPanel, MentionHighlighter
    from .codex_panel import CodexPanel, MentionHighlighter
    global DocumentView, apply_view
    from .document_view import DocumentView, apply_view
    global DONE, INTERRUPTED, PENDING, STATUS_NAMES, WRITING, Draft, SectionRow
    from .draft import DONE, INTERRUPTED, PENDING, STATUS_NAMES, WRITING, Draft, SectionRow
    global FindBar
    from .find_replace import FindBar
    global InspectorPane
    from .inspector import InspectorPane
    global NewProjectDialog
    from .new_project import NewProjectDialog
    global OutlinePane
    from .outline import OutlinePane
    global ProgressPane
    from .panes import ProgressPane
    global StatusStrip
    from .status_strip import StatusStrip
    global TakesDialog
    from .takes_dialog import TakesDialog
    global EngineWorker, LoadedModel, PlanJob, WriteJob
    from .worker import EngineWorker, LoadedModel, PlanJob, WriteJob
    global WriteMoreDialog
    from .write_more import WriteMoreDialog


class _OpeningFrame(QLabel):
    """What the window shows for the moment its panes take to load; tells when it has been painted."""

    painted = Signal()

    def __init__(self) -> None:
        super().__init__("Opening…")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("color: palette(placeholder-text);")
        self._told = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._told:
            self._told = True
            self.painted.emit()


class MainWindow(QMainWindow):
    """The desktop app's one window."""

    def __init__(self, settings: Settings | None = None, *, first_frame: bool = False) -> None:
        """The window with all its panes; with ``first_frame``, a frame of its size saying it opens, put on
        screen at once, and the panes built as soon as that frame is painted (the app's start)."""
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.ready = False  # the panes are built and the projects read
        self._detect_started = False
        self._given_settings = settings
        if not first_frame:
            self._build()
            return
        self._restore_geometry()
        opening = _OpeningFrame()
        # Queued: the panes are built after the frame's paint has ended and reached the screen.
        opening.painted.connect(self._build, Qt.ConnectionType.QueuedConnection)
        self.setCentralWidget(opening)

    def _build(self) -> None:
        if self.ready:
            return
        import_parts()
        self.settings = self._given_settings or load_settings()
        self.store: ProjectStore | None = None
        # One store per process, shared with the model worker's autosave (see projects/store.py, "POSIX locks").
        self.worker = EngineWorker(self, store=lambda: self.store)
        # Downloads get their own threads (they go on beside writing); the manager, and the network code it
        # imports, are made when first needed, not while the window starts.
        self._downloads: DownloadManager | None = None
        self.backend_report: gpu.BackendReport | None = None
        self.last_fit: FitReport | None = None
        self._confirmed_models: set[str | None] = set()  # won't-fit models the user chose to load anyway
        # llama.cpp's import takes a moment and holds the GIL for much of it: detect the GPU off the GUI
        # thread, and only once the window is on screen (showEvent), so the import never delays the window.
        self._detect_call = BackgroundCall(gpu.detect, self, name="longwriter-gpu-detect")
        self._detect_call.succeeded.connect(self._backend_detected)
        self.drafts: list[Draft] = []
        self.draft: Draft | None = None
        self.loaded_model: LoadedModel | None = None
        self._loaded_choice: BackendChoice | None = None  # what loaded_model was opened from
        self._job_choice: BackendChoice | None = None
        self.last_error: str | None = None
        self.last_done: ev.Done | None = None
        self.warnings: list[str] = []
        self._job = ""  # "plan", "regenerate", "write" or "section" (one section's take, or write more)
        self._section_run: SectionRun | None = None
        self._locked_before_regenerate: list[tuple[int, SectionRow]] = []
        self.focus_mode = False
        self.takes_dialog: TakesDialog | None = None
        self.last_export: Path | None = None

        self._times: dict[tuple[str | None, LoadSettings], ModelTimes | None] = {}
        # While a job runs, the elapsed time keeps moving between the engine's progress events (a section's
        # prompt, or the plan, can take many seconds with nothing streamed).
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._job_clock = 0.0  # time.monotonic() when the running job started
        self._last_elapsed: tuple[float, float] | None = None  # (the engine's elapsed_s, monotonic when received)
        self._planning_text = ""  # the status line while the plan is being written, without the clock
        self.outline = OutlinePane()
        self.inspector = InspectorPane()
        self.document = DocumentView()
        self.find_bar = FindBar(self.document.editor)
        self.find_bar.hide()
        self.strip = StatusStrip()
        self.progress_pane = ProgressPane()  # the run's details, on demand
        self.details = QDialog(self)
        self.details.setWindowTitle("Run details")
        details_layout = QVBoxLayout(self.details)
        details_layout.addWidget(self.progress_pane)
        self.details.resize(520, 520)
        self.outline.time_estimate = self._plan_time
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
        self.codex_highlighter = MentionHighlighter(self.document.editor.document())
        self.codex_panel.entriesChanged.connect(self._codex_changed)
        self.codex_panel.regenerateRequested.connect(self.regenerate_section)
        self._make_actions()
        self._layout()
        self._connect_worker()
        self.outline.planEdited.connect(self._plan_edited)
        self.outline.regenerateRequested.connect(self.regenerate_plan)
        self.outline.sectionChosen.connect(self.document.jump_to)
        self.outline.selectionChanged.connect(self._section_selected)
        self.document.sectionVisible.connect(self.outline.select)
        self.document.edited.connect(self._text_edited)
        self.inspector.sectionEdited.connect(self._section_edited)
        self.inspector.regenerateRequested.connect(self.regenerate_section)
        self.inspector.takesRequested.connect(self.show_takes)
        self.inspector.writeMoreRequested.connect(self.write_more)
        self.strip.detailsRequested.connect(self.show_details)
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(600)
        self._sync_timer.timeout.connect(self._text_settled)
        self._restore_geometry()
        self.refresh_models()
        self.store = self._open_store()
        self._load_projects()
        self._update_actions()
        self.ready = True
        if self.isVisible():
            self._schedule_detection()
        log.info("window ready")

    @property
    def downloads(self) -> DownloadManager:
        """The downloads (and those left paused by an earlier session), made on first use."""
        if self._downloads is None:
            from .downloads import DownloadManager

            self._downloads = DownloadManager(self)
        return self._downloads

    # -- building the window -----------------------------------------------------------------------

    def _make_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str | QKeySequence.StandardKey | None, slot: object,
                   tip: str) -> QAction:
            item = QAction(text, self)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            item.setToolTip(
                f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
                if shortcut
                else tip
            )
            item.setStatusTip(tip)
            # triggered(bool) must not reach a slot's own arguments (export(path) once got False).
            item.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
            self.addAction(item)  # shortcuts work with the menu bar and tool bar hidden (focus mode)
            return item

        self.new_action = action("&New project…", QKeySequence.StandardKey.New, self.new_project,
                                 "Start a new document")
        self.plan_action = action("&Plan", None, self.regenerate_plan, "Ask the model for a plan")
        self.write_action = action("&Write", "Ctrl+Return", self.write, "Write the document from the plan")
        self.stop_action = action("&Stop", "Esc", self.stop, "Stop writing; the text so far is kept")
        self.export_action = action("&Export…", "Ctrl+E", self.export, "Save the document as Word, Markdown or text")
        self.save_action = action("&Save", QKeySequence.StandardKey.Save, self.save, "Save the project")
        self.quit_action = action("&Quit", QKeySequence.StandardKey.Quit, self.close, "Close the app")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        # Ctrl+Q everywhere (the Windows key scheme has no Quit key; Alt+F4 closes windows there anyway).
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
        if QKeySequence("Ctrl+Q") not in quit_keys:
            quit_keys.append(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcuts(quit_keys)
        self.models_action = action("&Models…", None, self.open_model_manager,
                                    "Installed models, downloads and settings")
        self.about_action = action("&About", None, self.show_about, "Versions and licences")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.regenerate_section_action = action(
            "Write section &again", "Ctrl+R", self.regenerate_section,
            "Write the selected section again as a new take; the rest stays")
        self.takes_action = action("&Takes of the section…", "Ctrl+T", self.show_takes,
                                   "Compare the selected section's takes and choose one")
        self.more_action = action("Write &more…", "Ctrl+Shift+Return", self.write_more,
                                  "Go on after the selected section (or the end): more words or a new section")
        self.find_action = action("&Find…", QKeySequence.StandardKey.Find, lambda: self.find_bar.open(False),
                                  "Find text in the document")
        self.replace_action = action("&Replace…", QKeySequence.StandardKey.Replace, lambda: self.find_bar.open(True),
                                     "Find and replace text in the document")
        self.find_next_action = action("Find &next", QKeySequence.StandardKey.FindNext,
                                       self.find_bar.find_next, "Find the next match")
        self.focus_action = action("&Focus mode", "F11", self.toggle_focus_mode,
                                   "Only the text: hide the panels, bars and menus (F11 again to come back)")
        self.focus_action.setCheckable(True)
        self.outline_action = action("&Side panel", "Ctrl+Shift+O", self.toggle_side_panel,
                                     "Show or hide the projects, outline and inspector")
        self.outline_action.setCheckable(True)
        self.outline_action.setChecked(True)
        self.details_action = action("Run &details", None, self.show_details,
                                     "Model, speed, elapsed time and each section's words")
        if QKeySequence(QKeySequence.StandardKey.Replace).isEmpty():  # no standard key for it on Linux/Windows
            self.replace_action.setShortcut(QKeySequence("Ctrl+H"))
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

        editor = self.document.editor
        self.undo_action = QAction("&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(editor.undo)
        editor.undoAvailable.connect(self.undo_action.setEnabled)
        self.redo_action = QAction("&Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(editor.redo)
        editor.redoAvailable.connect(self.redo_action.setEnabled)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.cut_action = QAction("Cu&t", self)
        self.cut_action.setShortcut(QKeySequence.StandardKey.Cut)
        self.cut_action.triggered.connect(editor.cut)
        self.copy_action = QAction("&Copy", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.triggered.connect(editor.copy)
        self.paste_action = QAction("&Paste", self)
        self.paste_action.setShortcut(QKeySequence.StandardKey.Paste)
        self.paste_action.triggered.connect(editor.paste)
        self.select_all_action = QAction("Select &all", self)
        self.select_all_action.setShortcut(QKeySequence.StandardKey.SelectAll)
        self.select_all_action.triggered.connect(editor.selectAll)
        for item in (self.undo_action, self.redo_action, self.cut_action, self.copy_action, self.paste_action,
                     self.select_all_action):
            # The editor handles these keys itself while it has the focus; the menu shows them.
            item.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for item in (self.new_action, self.save_action, self.export_action):
            file_menu.addAction(item)
        file_menu.addSeparator()
        file_menu.addAction(self.models_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu("&Edit")
        for item in (self.undo_action, self.redo_action):
            edit_menu.addAction(item)
        edit_menu.addSeparator()
        for item in (self.cut_action, self.copy_action, self.paste_action, self.select_all_action):
            edit_menu.addAction(item)
        edit_menu.addSeparator()
        for item in (self.find_action, self.find_next_action, self.replace_action):
            edit_menu.addAction(item)
        write_menu = menus.addMenu("&Write")
        for item in (self.plan_action, self.write_action, self.stop_action):
            write_menu.addAction(item)
        write_menu.addSeparator()
        for item in (self.regenerate_section_action, self.takes_action, self.more_action):
            write_menu.addAction(item)
        view_menu = menus.addMenu("&View")
        for item in (self.focus_action, self.outline_action, self.details_action):
            view_menu.addAction(item)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.new_action.setIconText("New")
        self.write_action.setIconText("Write")
        self.more_action.setIconText("Write more")
        self.regenerate_section_action.setIconText("Write section again")
        self.takes_action.setIconText("Takes")
        self.export_action.setIconText("Export")
        self.focus_action.setIconText("Focus")
        for item in (self.new_action, self.write_action, self.stop_action):
            toolbar.addAction(item)
        toolbar.addSeparator()
        for item in (self.regenerate_section_action, self.takes_action, self.more_action):
            toolbar.addAction(item)
        toolbar.addSeparator()
        toolbar.addAction(self.codex_action)
        for item in (self.save_action, self.export_action, self.focus_action):
            toolbar.addAction(item)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy().Preferred
        )
        toolbar.addWidget(spacer)
        toolbar.addAction(self.models_action)
        self.toolbar = toolbar
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
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(text, 1)
        layout.addWidget(button)
        return frame

    def _layout(self) -> None:
        projects = QWidget()
        projects_layout = QVBoxLayout(projects)
        projects_layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Projects")
        heading.setStyleSheet("font-weight: bold;")
        row = QHBoxLayout()
        row.addWidget(heading, 1)
        row.addWidget(self.new_button)
        projects_layout.addLayout(row)
        projects_layout.addWidget(self.project_list, 1)
        projects_layout.addWidget(self.projects_empty)

        self.side = QSplitter(Qt.Orientation.Vertical)
        self.side.setObjectName("side-panel")
        self.side.addWidget(projects)
        self.side.addWidget(self.outline)
        self.side.addWidget(self.inspector)
        self.side.setSizes([120, 300, 200])
        self.side.setStretchFactor(1, 1)
        self.side.setChildrenCollapsible(False)

        text = QWidget()
        text_layout = QVBoxLayout(text)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.setSpacing(0)
        text_layout.addWidget(self.document, 1)
        text_layout.addWidget(self.find_bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(text)
        self.splitter.setSizes([330, 900])
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self.strip, 1)
        self.statusBar().setSizeGripEnabled(False)
        self.strip.set_state("Ready. Ctrl+N starts a new document.")

    def _connect_worker(self) -> None:
        w = self.worker
        w.modelLoading.connect(self._model_loading)
        w.modelLoaded.connect(self._model_loaded)
        w.planningStarted.connect(self._planning_started)
        w.planningProgressed.connect(self._planning_progressed)
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
        if self.draft is not None and self.draft.server is not None:
            return ""  # a server's speed is not this machine's: no estimate
        times = self.model_times(self.draft.model if self.draft else self.settings.model)
        return times.describe(words) if times else ""

    def _speed_changed(self, *_args: object) -> None:
        """A calibration or a finished run changed the speed profile: show estimates from it."""
        self._times.clear()
        self.outline.refresh_total()

    def _restore_geometry(self) -> None:
        """The last size and place when they fit the screen now; else a size that fits it."""
        saved = window_settings().value("geometry")
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        restored = saved is not None and self.restoreGeometry(saved)
        if restored and (available is None or available.contains(self.frameGeometry()) or self.isMaximized()):
            return
        if available is None:
            self.resize(1280, 800)
            return
        width = min(1400, available.width() - 24)
        height = min(900, available.height() - 24)
        self.resize(max(640, width), max(480, height))
        frame = self.frameGeometry()
        frame.moveCenter(available.center())
        self.move(frame.topLeft())

    def set_status(self, text: str) -> None:
        """The one line that says what is going on, in the slim bar and in the run details."""
        self.strip.set_state(text)
        self.progress_pane.set_state(text)

    def refresh_models(self) -> list[InstalledModel]:
        """Re-read the installed models; the first-run note shows while only the built-in one is there."""
        models = list_installed()
        self.banner.setVisible(not any(not m.builtin for m in models))
        return models

    # -- the project store ---------------------------------------------------------------------------

    def _open_store(self) -> ProjectStore | None:
        try:
            return ProjectStore.shared()
        except DamagedDatabaseError as exc:
            damaged = exc  # `exc` is unbound when the except block ends, before the timer fires
            QTimer.singleShot(0, lambda: self._offer_restore(damaged))
            return None
        except ProjectError as exc:
            message = f"{exc} Projects are not saved in this session."
            QTimer.singleShot(0, lambda: self._show_error(message))
            return None

    def _offer_restore(self, damaged: DamagedDatabaseError) -> None:
        """A damaged or emptied database: restore the newest good backup, or start afresh; both keep the file."""
        good = good_backups(damaged.path)
        when = ""
        if good:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(good[0].stat().st_mtime))
        text = (
            f"The projects database {damaged.path} is damaged ({damaged.detail}). It was left untouched.\n\n"
            + (f"Restore the newest good backup (from {when})? The damaged file is kept beside it."
               if good else "There is no backup of it. Set it aside and start with no projects?")
        )
        box = QMessageBox(QMessageBox.Icon.Warning, "The projects database is damaged", text,
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("damaged-database")
        restore = box.addButton("Restore the backup", QMessageBox.ButtonRole.AcceptRole) if good else None
        fresh = box.addButton("Set it aside, start new", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)

        def answered(button: object) -> None:
            if button not in (restore, fresh):
                self.set_status("Projects are not saved in this session.")
                return
            try:
                _moved, restored = restore_backup(damaged.path, good[0] if button is restore else None,
                                                  new=button is fresh)
            except (LongWriterError, OSError) as exc:
                self._show_error(f"The projects database could not be replaced: {exc}")
                return
            self.store = self._open_store()
            self._load_projects()
            self._update_actions()
            self.set_status(f"Restored the backup {restored.name}." if restored else
                            "Started a new projects database.")

        box.buttonClicked.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

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
                server=project_server(project.settings),
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
            edited = False
            take = self.store.get_take(record.chosen_take_id) if record.chosen_take_id is not None else None
            if status == DONE and take is not None:
                edited = take.model == HAND_EDIT
            rows.append(
                SectionRow(
                    Section(title, record.main_point, record.target_words, record.locked), text, status,
                    edited=edited, section_id=record.id,
                    summary=str(take.stats.get("summary", "")) if take is not None else "",
                )
            )
        draft.rows = rows

    def _store_plan(self) -> None:
        """Save the plan of the current project (titles stand in for the one-pass section's missing one)."""
        draft = self.draft
        if self.store is None or draft is None or draft.project_id is None or not draft.rows:
            return
        try:
            # A renamed section keeps its takes: rename it in place before the plan is matched by titles.
            for row in draft.rows:
                title = row.section.title or draft.title
                if row.section_id is not None and title.strip():
                    record = self.store.get_section(row.section_id)
                    if record.position is not None and record.title != title:
                        self.store.edit_section(row.section_id, title=title)
            sections = [replace(r.section, title=r.section.title or draft.title) for r in draft.rows]
            records = self.store.update_plan(draft.project_id, sections)
            for row, record in zip(draft.rows, records, strict=False):
                row.section_id = record.id
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
                    take = self.store.start_take(record.id, model=HAND_EDIT)
                    self.store.finish_take(take.id, text=row.text)
            self.store.update_project(draft.project_id, title=draft.title)
        except LongWriterError as exc:
            self._show_error(f"The project could not be saved: {exc}")

    def _save_everything(self) -> bool:
        """The view's edits, the inspector's and the plan into the store (before a run that reads it)."""
        self.inspector.commit()
        self._sync_view_edits()
        if self.store is None or self.draft is None or self.draft.project_id is None:
            return False
        self._store_plan()
        self._store_text_edits()
        return True

    # -- projects ------------------------------------------------------------------------------------

    def new_project(self) -> None:
        """Ask for a new document and start on it."""
        if self.worker.busy:
            return
        dialog = NewProjectDialog(
            self.refresh_models(), self.settings.model, self, load_servers(), times=self.model_times
        )
        if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
            return
        draft, mode = dialog.draft()
        self.create_project(draft, mode)

    def create_project(self, draft: Draft, mode: str = "plan") -> None:
        """Add a project and begin: plan it (plan mode) or show its one section (one pass)."""
        self.inspector.commit()
        self._sync_view_edits()
        choice = self._choice(draft)
        sampling = self.settings.sampling()
        try:
            if self.store is not None:
                project = service.create_project(
                    self.store, draft.instruction, target_words=draft.target_words, mode=mode,
                    title=draft.title, notes=draft.notes, choice=choice, sampling=sampling,
                )
                draft.project_id, draft.mode = project.id, project.mode
            else:
                draft.mode = service.resolve_project(
                    draft.instruction, draft.target_words, mode, draft.title, choice=choice
                ).mode
        except LongWriterError as exc:
            self._show_error(f"The project could not be saved: {exc}")
            draft.mode = "plan" if mode == "auto" else mode
        if draft.mode == "direct":
            section = service.one_pass_section(draft.title, draft.instruction, draft.target_words)
            draft.rows = [SectionRow(replace(section, title=""))]  # shown without a heading
        self._add_to_list(draft)
        self.project_list.setCurrentRow(len(self.drafts) - 1)
        self._store_plan()
        self.strip.clear_run()
        self.set_status("Project created.")
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
            self.inspector.commit()
            if self._sync_view_edits():
                self._store_text_edits()
        self.show_draft(self.drafts[row])

    def show_draft(self, draft: Draft | None) -> None:
        """Show a project in every pane."""
        self.draft = draft
        self.outline.show_draft(draft)
        self.progress_pane.show_draft(draft)
        self.document.show_draft(draft)
        self._show_words()
        self.strip.clear_run()
        self.codex_panel.show_project(self.store, draft)
        self._codex_changed()
        if draft is not None:
            self.setWindowTitle(f"{draft.title} – {APP_NAME}")
            self.progress_pane.show_destination(self._choice(draft).describe())
            if self.outline.current_index() < 0 and draft.rows:
                self.outline.table.setCurrentCell(0, 0)
            self.inspector.show_section(draft, self.outline.current_index())
            self.set_status(self._project_state(draft))
        else:
            self.inspector.show_section(None, -1)
        self._update_actions()

    @staticmethod
    def _project_state(draft: Draft) -> str:
        if not draft.rows:
            return "No plan yet."
        if draft.complete:
            return "Done. Edit the text freely; Export (Ctrl+E) saves it as Word, Markdown or text."
        if draft.resumable:
            return "Stopped part-way. Resume (Ctrl+Enter) goes on where it stopped."
        return "Plan ready: edit it in the outline, then Write (Ctrl+Enter)."

    def _show_words(self) -> None:
        draft = self.draft
        if draft is None:
            self.strip.set_words(0, 0)
            return
        words = sum(draft.rule.count(r.text) for r in draft.rows)
        self.strip.set_words(words, draft.planned_words if draft.rows else draft.target_words, draft.rule.label())

    def _update_list_item(self) -> None:
        if self.draft is None:
            return
        row = self.drafts.index(self.draft)
        item = self.project_list.item(row)
        busy = self.worker.busy and self._job in ("write", "section")
        state = " (writing)" if busy else (
            " (done)" if self.draft.complete else (" (stopped)" if self.draft.resumable else ""))
        item.setText(self.draft.title + state)

    def _plan_edited(self) -> None:
        self.progress_pane.show_draft(self.draft)
        self.inspector.show_section(self.draft, self.outline.current_index())
        draft = self.draft
        if draft is not None and draft.started and not self.document.edited_by_user:
            shown = [r.section.title for r in draft.rows[: draft.shown_sections()]] if draft.headings else []
            if [s.title for s in self.document.content().sections] != shown:
                self.document.show_draft(draft)  # a renamed or moved section shows at once
        self.codex_panel.refresh()
        self.outline.show_codex(self.codex_panel.section_summaries())
        self._store_plan()
        self._show_words()
        self._update_actions()

    def _section_edited(self, index: int) -> None:
        self.outline.update_row(index)
        self._plan_edited()

    def _section_selected(self, index: int) -> None:
        self.inspector.show_section(self.draft, index)
        self._update_actions()

    def _text_edited(self) -> None:
        self._sync_timer.start()  # the sections follow the text a moment after typing stops

    def _text_settled(self) -> None:
        if self._sync_view_edits():
            self._show_words()

    def _sync_view_edits(self) -> bool | None:
        """Take the user's edits of the text into the sections (titles and texts exactly as shown)."""
        if self.draft is None or not self.document.edited_by_user:
            return None
        apply_view(self.draft, self.document.content())
        self.document.edited_by_user = False
        self.outline.show_draft(self.draft)
        self.progress_pane.show_draft(self.draft)
        self.inspector.refresh()
        return True

    # -- jobs ------------------------------------------------------------------------------------------

    def _choice(self, draft: Draft | None = None) -> BackendChoice:
        """Where the project writes: its model (or the settings' one) with the settings' load options."""
        draft = draft or self.draft
        if draft is not None and draft.server is not None:
            return draft.server
        model = draft.model if draft and draft.model else self.settings.model
        return LocalModel(model, self.settings.load_settings(), force=model in self._confirmed_models)

    def _opening_text(self) -> str:
        """What the progress pane says while the job's backend opens; empty when it is open already."""
        choice = self._choice()
        if self.loaded_model is not None and choice == self._loaded_choice:
            return ""
        if isinstance(choice, ServerChoice):
            return f"Connecting to the server at {choice.base_url}…"
        return "Loading the model…"

    def _backend_detected(self, report: gpu.BackendReport) -> None:
        self.backend_report = report

    def confirm_fit(self) -> bool:
        """Before a model loads: ask the user when the fit check says it won't fit this machine."""
        choice = self._choice()
        if isinstance(choice, ServerChoice):
            return True  # the server holds its own model
        loaded = self.loaded_model
        if loaded is not None and choice.model in (None, loaded.model):
            return True  # already loaded: it fit
        if choice.force:
            return True  # the user said yes to this model earlier in this session
        try:
            model = resolve_model(choice.model)
            if model.builtin:  # tiny, and exempt from the engine's check too
                return True
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
        self.set_status(self._opening_text() or "Planning…")
        self._job_choice = self._choice()
        self.worker.start_plan(
            PlanJob(
                self._job_choice, draft.instruction, draft.target_words, draft.notes, self.settings.sampling()
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
        self.inspector.commit()
        self._sync_view_edits()
        if not self.confirm_fit():
            return
        if draft.complete:
            answer = QMessageBox.question(
                self,
                "Write again",
                "The document is finished. Write it again from the plan, replacing the text? (To write one "
                "section again, or more after it, use Write section again or Write more.)",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            for row in draft.rows:
                row.text, row.status, row.edited = "", "pending", False
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
        self.document.show_draft(draft)
        self.set_status(
            self._opening_text() or ("Resuming…" if resume else "Writing…")
        )
        self._job_choice = self._choice()
        self.worker.start_write(WriteJob(self._job_choice, request, resume, draft.project_id))
        self._update_actions()

    def _selected_index(self, index: int | None, *, default_last: bool = False) -> int:
        draft = self.draft
        if draft is None or not draft.rows:
            return -1
        if index is None or index < 0:
            index = self.outline.current_index()
        if (index is None or index < 0) and default_last:
            index = len(draft.rows) - 1
        return index if 0 <= index < len(draft.rows) else -1

    def _start_section_run(self, prepare: Callable[[ProjectStore], SectionRun], status: str) -> bool:
        """Save everything, let ``prepare`` set the run up in the store, and start it."""
        draft = self.draft
        if self.worker.busy or draft is None:
            return False
        if not self._save_everything() or self.store is None:
            self._show_error("Takes and Write more need the projects database, which could not be opened. "
                             "Export the document (Ctrl+E) to keep it.")
            return False
        if not self.confirm_fit():
            return False
        try:
            run = prepare(self.store)
            run = replace(run, request=replace(run.request, codex=self.codex_panel.codex_for_run()))
            self._read_sections(draft)
        except LongWriterError as exc:
            self._show_error(str(exc))
            return False
        if run.kind == "regenerate":
            draft.rows[run.index].text = ""
            draft.rows[run.index].status = PENDING
        self._section_run = run
        self._job = "section"
        self.last_done = None
        self.outline.show_draft(draft)
        self.outline.table.setCurrentCell(run.index, 0)
        self.document.show_draft(draft)
        self.document.jump_to(run.index)
        self.set_status(self._opening_text() or status)
        self._job_choice = self._choice()
        self.worker.start_write(WriteJob(self._job_choice, run.request, run.resume, draft.project_id))
        self._update_actions()
        return True

    def regenerate_section(self, index: int | None = None) -> bool:
        """Write one section again as a new take (its main point as set in the inspector, a new seed)."""
        index = self._selected_index(index)
        if index < 0 or self.draft is None:
            return False
        point = self.draft.rows[index].section.main_point
        return self._start_section_run(
            lambda store: prepare_regenerate(store, self.draft.project_id, index, main_point=point,  # type: ignore[arg-type, union-attr]
                                             sampling=replace(self.settings.sampling(), seed=None)),
            f"Writing section {index + 1} again; its earlier takes are kept.",
        )

    def write_more(self, index: int | None = None) -> bool:
        """Ask how much more to write after a finished section (default: the end), then write it."""
        draft = self.draft
        index = self._selected_index(index, default_last=True)
        if self.worker.busy or draft is None or index < 0:
            return False
        self._sync_view_edits()
        row = draft.rows[index]
        if row.status != DONE or not row.text.strip():
            self._show_error(f"Section {index + 1} is not finished yet: write it first (Ctrl+Enter), then "
                             "write more after it.")
            return False
        dialog = WriteMoreDialog(row.section.title or draft.title, draft.rule.count(row.text), draft.mode == "plan",
                                 self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        more = dialog.request()
        project_id = draft.project_id
        sampling = replace(self.settings.sampling(), seed=None)
        if more.new_section:
            return self._start_section_run(
                lambda store: prepare_new_section(store, project_id, more.title, more.main_point,  # type: ignore[arg-type]
                                                  more.words, after=index, sampling=sampling),
                f"Writing the new section \u201c{more.title}\u201d…",
            )
        return self._start_section_run(
            lambda store: prepare_more(store, project_id, more.words, after=index, sampling=sampling),  # type: ignore[arg-type]
            f"Writing about {more.words:,} more words after section {index + 1}…",
        )

    def show_takes(self, index: int | None = None) -> TakesDialog | None:
        """Compare the takes of a section side by side and choose the one the document uses."""
        draft = self.draft
        index = self._selected_index(index)
        if self.worker.busy or draft is None or index < 0:
            return None
        if not self._save_everything() or self.store is None:
            return None
        try:
            takes = [t for t in section_takes(self.store, draft.project_id, index) if t.text.strip()]  # type: ignore[arg-type]
        except LongWriterError as exc:
            self._show_error(str(exc))
            return None
        if len(takes) < 2:
            self.set_status(f"Section {index + 1} has one take so far: Write section again (Ctrl+R) makes "
                            "another to compare.")
            if not takes:
                return None
        dialog = TakesDialog(draft.rows[index].section.title or draft.title, takes, self)
        dialog.takeChosen.connect(lambda take_id: self._take_chosen(index, take_id))
        self.takes_dialog = dialog
        dialog.open()
        return dialog

    def _take_chosen(self, index: int, take_id: int) -> None:
        draft = self.draft
        if self.store is None or draft is None:
            return
        try:
            self.store.choose_take(take_id)
            self._read_sections(draft)
        except LongWriterError as exc:
            self._show_error(str(exc))
            return
        self.show_draft(draft)
        self.outline.table.setCurrentCell(index, 0)
        self.document.jump_to(index)
        self.set_status(f"Section {index + 1} now uses the take you chose; the others are kept.")

    def stop(self) -> None:
        """Stop the running job; written text is kept and can be resumed."""
        if self.worker.busy:
            self.worker.stop()
            self.set_status("Stopping…")

    def _update_actions(self) -> None:
        busy = self.worker.busy
        draft = self.draft
        self.new_action.setEnabled(not busy)
        self.new_button.setEnabled(not busy)
        self.project_list.setEnabled(not busy)
        self.plan_action.setEnabled(not busy and draft is not None and draft.mode == "plan")
        self.plan_action.setText("Regenerate plan" if draft is not None and draft.rows else "Plan")
        self.write_action.setEnabled(not busy and draft is not None and bool(draft.rows))
        self.write_action.setText("Resume" if draft is not None and draft.resumable and not busy else "Write")
        self.write_action.setIconText(self.write_action.text())
        self.stop_action.setEnabled(busy)
        self.export_action.setEnabled(not busy and draft is not None and draft.started)
        self.save_action.setEnabled(not busy and draft is not None)
        index = self.outline.current_index()
        row = draft.rows[index] if draft is not None and 0 <= index < len(draft.rows) else None
        saved = draft is not None and draft.project_id is not None and self.store is not None
        self.regenerate_section_action.setEnabled(not busy and saved and row is not None and draft.started)  # type: ignore[union-attr]
        self.takes_action.setEnabled(not busy and saved and row is not None and bool(row.text.strip()))
        last_done = draft is not None and draft.complete
        self.more_action.setEnabled(
            not busy and saved and (last_done or (row is not None and row.status == DONE and bool(row.text.strip())))
        )
        self.projects_empty.setVisible(not self.drafts)
        self.outline.set_editable(not busy)
        self.inspector.set_busy(busy)
        self.document.set_writing(busy and self._job in ("write", "section"))
        if busy and not self._ticker.isActive():
            self._job_clock, self._last_elapsed = time.monotonic(), None
            self._ticker.start()
        elif not busy:
            self._ticker.stop()
            self._planning_text = ""
        if draft is not None and draft in self.drafts:
            self._update_list_item()  # "(writing)" from the moment a run starts, not "(stopped)" from before it
        if not busy and draft is None:
            self.set_status("No project open. Ctrl+N starts one.")

    # -- worker signals --------------------------------------------------------------------------------

    def _model_loading(self, fraction: float) -> None:
        self.set_status(f"Loading the model… {fraction:.0%}")

    def _model_loaded(self, model: LoadedModel) -> None:
        self.loaded_model, self._loaded_choice = model, self._job_choice
        self.progress_pane.show_model(model.model, model.device, model.n_ctx)
        self.strip.show_model(model.model, model.device, model.n_ctx)
        self.set_status(f"{model.model} loaded on {model.device} in {model.load_seconds:.1f} s.")

    def _planning_started(self, target_words: int, sections: int) -> None:
        unit = self.draft.rule.label() if self.draft else "words"
        self._planning_text = f"Planning {sections} sections for {target_words:,} {unit}…"
        self._planning_progressed(0, sections)

    def _planning_progressed(self, done: int, sections: int) -> None:
        """The plan's lines come one by one: the bar and the status line follow them."""
        self.strip.progress.setRange(0, max(1, sections))
        self.strip.progress.setValue(min(done, sections))
        self.strip.progress.setFormat(f"plan: {done} of {sections} sections")
        self.progress_pane.overall.setRange(0, max(1, sections))
        self.progress_pane.overall.setValue(min(done, sections))
        self.progress_pane.overall.setFormat(f"Plan: {done} of {sections} sections written")
        self._show_planning()

    def _show_planning(self) -> None:
        if self._planning_text:
            clock = format_duration(time.monotonic() - self._job_clock) if self._job_clock else ""
            self.set_status(f"{self._planning_text} {clock}".strip())

    def _tick(self) -> None:
        """Once a second while a job runs: the elapsed time (and the planning line) move on."""
        if not self.worker.busy:
            self._ticker.stop()
            return
        now = time.monotonic()
        if self._last_elapsed is not None:
            elapsed = self._last_elapsed[0] + now - self._last_elapsed[1]
        else:
            elapsed = now - self._job_clock
        self.progress_pane.elapsed.setText(format_duration(elapsed))
        self._show_planning()

    def _plan_ready(self, plan: Plan, notes: tuple[str, ...]) -> None:
        self._planning_text = ""
        if self.draft is None or self._job not in ("plan", "regenerate"):
            return
        sections = list(plan.sections)
        for index, row in self._locked_before_regenerate:
            if index < len(sections):
                sections[index] = replace(row.section)
        self.draft.set_plan(rescale(Plan(sections), self.draft.target_words))
        self._store_plan()
        self.outline.show_draft(self.draft)
        self.outline.table.setCurrentCell(0, 0)
        self.progress_pane.show_draft(self.draft)
        self.document.show_draft(self.draft)
        self._show_words()
        message = "Plan ready: edit it in the outline, then Write (Ctrl+Enter)."
        if notes:
            message += " The model's plan was repaired: " + "; ".join(notes) + "."
        self.set_status(message)

    def _section_started(self, index: int, title: str, target: int, resumed_words: int) -> None:
        draft = self.draft
        if draft is None or index >= len(draft.rows):
            return
        draft.rows[index].status = WRITING
        self.document.ensure_section(draft, index)
        self.outline.update_row(index)
        self.outline.select(index)  # the outline and the inspector follow the section being written
        self.progress_pane.update_row(index)
        label = f"\u201c{title}\u201d" if title and draft.headings else "the text"
        more = f", going on from {draft.rule.describe(resumed_words)}" if resumed_words else ""
        self.set_status(f"Writing section {index + 1} of {len(draft.rows)}: {label}{more}.")

    def _text_arrived(self, index: int, text: str) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].text += text
        self.document.append(index, text)

    def _text_retracted(self, index: int, chars: int) -> None:
        if self.draft is None or index >= len(self.draft.rows) or chars <= 0:
            return
        row = self.draft.rows[index]
        chars = min(chars, len(row.text))
        row.text = row.text[: len(row.text) - chars]
        self.document.retract(index, chars)

    def _section_finished(self, index: int, words: int, target: int) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].status = DONE
        self.draft.rows[index].edited = False
        self.outline.update_row(index)
        self.progress_pane.update_row(index, words)
        self.codex_panel.refresh()

    def _section_summarized(self, index: int, summary: str) -> None:
        if self.draft is None or index >= len(self.draft.rows):
            return
        self.draft.rows[index].summary = summary
        self.progress_pane.update_row(index)
        if index == self.outline.current_index():
            self.inspector.refresh()

    def _progress_changed(self, progress: ev.Progress) -> None:
        self._planning_text = ""
        self._last_elapsed = (progress.elapsed_s, time.monotonic())
        draft = self.draft
        if draft is not None and 0 <= progress.section_index < len(draft.rows):
            # Every figure counts the text on screen, with the project's own rule: the engine's count can be a
            # flush behind or ahead of it, and two different numbers for one moment read as a bug.
            counts = [draft.rule.count(r.text) for r in draft.rows]
            progress = replace(progress, words=sum(counts), section_words=counts[progress.section_index])
        self.progress_pane.show_progress(progress)
        self.strip.show_progress(progress)
        self.outline.update_row(progress.section_index, progress.section_words)

    def _warned(self, message: str) -> None:
        self.warnings.append(message)
        self.set_status(message)

    def _failed(self, message: str) -> None:
        if self.draft is not None:
            self.draft.mark_interrupted()
        self.set_status("Stopped by an error: " + message)
        self._show_error(message)

    def _cancelled(self, words: int) -> None:
        if self.draft is None:
            return
        self.draft.mark_interrupted()
        if self._job in ("write", "section"):
            self.set_status(f"Stopped at {self.draft.rule.describe(words)}. Resume (Ctrl+Enter) goes on from here.")
        else:
            self.set_status("Planning stopped.")

    def _finished(self, done: ev.Done) -> None:
        self.last_done = done
        stats = done.stats
        # The sections' words, as the bar and the outline count them (the stats also count the headings).
        rule = self.draft.rule if self.draft else LengthRule(Unit(stats.get("unit", "words")))
        words = sum(rule.count(r.text) for r in self.draft.rows) if self.draft else stats.get("words", 0)
        self.set_status(
            f"Done: {rule.describe(words)} in {format_duration(stats.get('elapsed_s'))}. "
            "Edit the text freely, then Export (Ctrl+E)."
        )
        self.strip.remaining.clear()

    def _job_ended(self, kind: str) -> None:
        job, self._job = self._job, ""
        draft = self.draft
        self.codex_panel.refresh()
        self.outline.show_codex(self.codex_panel.section_summaries())
        if draft is not None:
            if job == "section" and self.store is not None and draft.project_id is not None:
                # The store has the truth now: the chosen takes, and what a cut or a trim changed.
                try:
                    self._read_sections(draft)
                except LongWriterError as exc:
                    log.warning("re-reading the project failed: %s", exc)
                self.document.show_draft(draft)
                if self._section_run is not None:
                    self.document.jump_to(self._section_run.index)
            self.outline.show_draft(draft)
            self.progress_pane.show_draft(draft)
            self.inspector.refresh()
        self._section_run = None
        self._show_words()
        self._update_actions()  # also the list's "(done)" / "(stopped)"

    def _codex_changed(self) -> None:
        self.codex_highlighter.set_entries(self.codex_panel.entries)
        self.outline.show_codex(self.codex_panel.section_summaries())

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
        self._sync_view_edits()
        if not isinstance(path, (str, Path)):
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
        self.set_status(f"Exported to {written}.")
        self.last_export = written
        return written

    def save(self) -> None:
        """Save the project now: the plan, the title and hand edits of the text (writing autosaves itself)."""
        draft = self.draft
        if draft is None or self.worker.busy:
            return
        self.inspector.commit()
        self._sync_view_edits()
        if self.store is None or draft.project_id is None:
            self._show_error(
                "The projects database could not be opened, so projects are not saved in this "
                "session. Export the document (Ctrl+E) to keep it."
            )
            return
        self._store_plan()
        self._store_text_edits()
        self._update_list_item()
        self.outline.show_draft(draft)
        self.set_status(f"Saved \u201c{draft.title}\u201d.")

    # -- views -----------------------------------------------------------------------------------------

    def toggle_focus_mode(self) -> None:
        """Only the text, in a calm column: the side panel, the bars and the menus hide (F11 toggles)."""
        self.focus_mode = not self.focus_mode
        self.focus_action.setChecked(self.focus_mode)
        on = self.focus_mode
        self.side.setVisible(not on and self.outline_action.isChecked())
        self.toolbar.setVisible(not on)
        self.menuBar().setVisible(not on)
        self.statusBar().setVisible(not on)
        self.banner.setVisible(not on and not any(not m.builtin for m in list_installed()))
        self.document.set_focus_mode(on)
        if on:
            self.document.editor.setFocus()

    def toggle_side_panel(self) -> None:
        self.side.setVisible(self.outline_action.isChecked() and not self.focus_mode)

    def show_details(self) -> None:
        """The run's full figures in a small window beside the text."""
        self.details.show()
        self.details.raise_()

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
        from importlib import metadata  # here, not at the top: the window's start does without it

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
        if self.ready:
            self._schedule_detection()

    def _schedule_detection(self) -> None:
        if not self._detect_started:
            self._detect_started = True
            QTimer.singleShot(DETECT_DELAY_MS, self, self._start_detection)

    def _start_detection(self) -> None:
        if self.isVisible() and not self._detect_call.finished:
            self._detect_call.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop any job, let the worker close the model, and remember the window's place."""
        if not self.ready:  # closed while its first frame was up: nothing opened yet
            window_settings().setValue("geometry", self.saveGeometry())
            event.accept()
            return
        was_busy = self.worker.busy
        if not self.worker.shutdown(SHUTDOWN_TIMEOUT_S):
            log.error("closing while the model thread is still busy")
        if self._downloads is not None:
            self._downloads.shutdown(SHUTDOWN_TIMEOUT_S)  # pauses them: they resume at the next start
        self._detect_call.wait(SHUTDOWN_TIMEOUT_S)
        if was_busy and self.draft is not None:
            self.draft.mark_interrupted()
        else:
            self.inspector.commit()
            if self._sync_view_edits():
                self._store_text_edits()
        if self.store is not None:
            self.store.close()
            self.store = None
        window_settings().setValue("geometry", self.saveGeometry())
        event.accept()


def project_server(record: dict[str, object]) -> ServerChoice | None:
    """The server a project writes through, from its record; None for a local model (or a bad record)."""
    if record.get("backend") != "openai":
        return None
    try:
        choice = choice_from_record(dict(record))
    except LongWriterError as exc:
        log.warning("a project's server could not be read: %s", exc)
        return None
    return choice if isinstance(choice, ServerChoice) else None


def safe_file_name(title: str) -> str:
    """A file name from a title: no path separators or characters Windows refuses."""
    cleaned = "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in title).strip(" .")
    return cleaned[:80] or "document"
