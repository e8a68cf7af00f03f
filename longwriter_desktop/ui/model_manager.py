"""The model manager: the catalog with a fit check for this machine, downloads, any Hugging Face repo's GGUF
files, the installed models (import, remove) and the loading and sampling settings.

Nothing slow runs on the GUI thread: GPU detection, the fit checks and Hub listings are background calls,
and downloads run on their own threads through :class:`~.downloads.DownloadManager` (never the model worker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.estimate import (
    CATALOG_WORDS,
    DocumentEstimate,
    SpeedStore,
    estimate_model_file,
    format_seconds,
)
from ..engine.gguf import GGUFError, read_gguf
from ..errors import InputError, LongWriterError
from ..library import catalog, gpu, hub, installed
from ..library.catalog import CatalogEntry
from ..library.fit import FitReport, Machine, Verdict, current_machine, fit_catalog_entry
from ..settings import KV_TYPES, Settings, save_settings
from ..units import format_bytes, format_duration
from .background import BackgroundCall
from .downloads import FAILED, PAUSED, DownloadManager, DownloadState
from .new_project import model_label
from .servers_page import ServersPage

# Badge colours that white text reads well on, in light and dark themes alike.
VERDICT_COLOURS = {Verdict.FITS: "#2e7d32", Verdict.TIGHT: "#a35f00", Verdict.WONT_FIT: "#c62828"}
CATALOG_TAB, DOWNLOADS_TAB, INSTALLED_TAB, SETTINGS_TAB, SERVERS_TAB = range(5)


def fit_options(settings: Settings) -> dict[str, Any]:
    """The fit check's arguments for these loading settings (the default context when none is set)."""
    text = settings.gpu_layers.strip().lower()
    layers: int | None = None if text == "auto" else -1 if text == "all" else int(text)
    return {"context": settings.n_ctx, "kv_type": settings.kv_type, "gpu_layers": layers,
            "flash_attn": settings.kv_type != "f16"}


@dataclass(frozen=True)
class MachineProbe:
    """What the manager shows about this machine: the llama.cpp backend and each catalog model's fit."""

    backend: gpu.BackendReport
    machine: Machine | None
    fits: dict[str, FitReport]
    problem: str = ""
    times: dict[str, DocumentEstimate | None] = field(default_factory=dict)  # 10,000 words, per entry


def probe_machine(settings: Settings) -> MachineProbe:
    """Detect the backend and check every catalog model against this machine (slow: off the GUI thread)."""
    report = gpu.detect()
    try:
        machine = current_machine(report)
    except InputError as exc:
        return MachineProbe(report, None, {}, str(exc))
    fits: dict[str, FitReport] = {}
    options = fit_options(settings)
    for entry in catalog.CATALOG:
        try:
            fits[entry.id] = fit_catalog_entry(entry, machine, **options)
        except InputError:  # a setting this model cannot take: judge it with the defaults instead
            fits[entry.id] = fit_catalog_entry(entry, machine)
    profiles = SpeedStore().all()
    times: dict[str, DocumentEstimate | None] = {}
    for entry in catalog.CATALOG:
        fit = fits[entry.id]
        context = fit.recommended_context or fit.context
        times[entry.id] = estimate_model_file(Path(entry.file).name, entry.size_bytes,
                                              entry.architecture.kv_bytes_per_token_f16, context,
                                              CATALOG_WORDS, profiles=profiles)
    return MachineProbe(report, machine, fits, times=times)


def backend_line(report: gpu.BackendReport) -> str:
    """"Runs on: ..." with, on the CPU, the plain-words reason."""
    if report.uses_gpu:
        return f"Runs on: {report.summary}"
    reason = report.explanation().split("\n", 1)[0]
    if reason.endswith(":"):  # the reinstall commands follow: they are in the tooltip
        reason = reason[: reason.rfind(". ") + 1] + " Hover here to see how to use a GPU."
    return f"Runs on: {report.summary}. {reason}"


def speed_text(state: DownloadState) -> str:
    """"12.30 MB/s" while bytes arrive, else nothing."""
    return f"{format_bytes(state.bytes_per_second)}/s" if state.bytes_per_second > 0 else ""


def _table(columns: tuple[str, ...], rows: int = 0) -> QTableWidget:
    table = QTableWidget(rows, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    return table


class ModelManagerDialog(QDialog):
    """Catalog, downloads, installed models and settings; :attr:`saved_settings` is set on a save."""

    def __init__(self, settings: Settings, parent: QWidget | None = None,
                 downloads: DownloadManager | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models and settings")
        self.resize(1000, 680)
        self.settings = settings
        self.saved_settings: Settings | None = None
        self.last_error: str | None = None
        self.probe: MachineProbe | None = None
        self.repo_files: list[hub.RepoGGUF] = []
        self.repo_listed = ""
        self._calls: list[BackgroundCall] = []  # each stays referenced until the dialog goes
        self._closed = False
        self._owns_downloads = downloads is None
        self.downloads: DownloadManager = downloads if downloads is not None else DownloadManager(self)
        self.backend_label = QLabel("Checking which processor and GPU llama.cpp can use…")
        self.backend_label.setWordWrap(True)
        self.backend_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tabs = QTabWidget()
        tabs.addTab(self._catalog_tab(), "Catalog")
        tabs.addTab(self._downloads_tab(), "Downloads")
        tabs.addTab(self._installed_tab(), "Installed models")
        tabs.addTab(self._settings_tab(), "Settings")
        self.servers_page = ServersPage(self._error)
        tabs.addTab(self.servers_page, "Servers")
        self.tabs = tabs
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.backend_label)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)
        self.downloads.changed.connect(self._download_changed)
        self.downloads.completed.connect(self._download_completed)
        for state in list(self.downloads.states.values()):
            self._download_changed(state)
        self.refresh()
        self.probe_call = self._background(lambda: probe_machine(settings), self._probed, self._probe_failed)

    def _background(self, function: Callable[[], Any], on_result: Callable[[Any], None],
                    on_error: Callable[[str], None]) -> BackgroundCall:
        call = BackgroundCall(function, self)
        call.succeeded.connect(on_result)
        call.failed.connect(on_error)
        self._calls.append(call)
        return call.start()

    def done(self, result: int) -> None:
        """Close; the main window's downloads go on, a manager of the dialog's own pauses its downloads."""
        # A Hub listing may still be waiting on the network: it is left to finish on its own (its thread
        # touches no Qt object, and the dialog, owned by the window, outlives it), so closing never hangs.
        if not self._closed:
            self._closed = True
            self.downloads.changed.disconnect(self._download_changed)
            self.downloads.completed.disconnect(self._download_completed)
            if self._owns_downloads:
                self.downloads.shutdown()  # pauses: the partial files stay for the next start
        super().done(result)

    # -- catalog ---------------------------------------------------------------------------------------

    def _catalog_tab(self) -> QWidget:
        page = QWidget()
        self.catalog_table = _table(("Model", "Quant", "Size", "Licence", "This machine (context)",
                                     f"{CATALOG_WORDS:,} words", ""), len(catalog.CATALOG))
        header = self.catalog_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.catalog_buttons: dict[str, QPushButton] = {}
        for row, entry in enumerate(catalog.CATALOG):
            self._fill_catalog_row(row, entry)
        note = QLabel(
            "LongWriter models are trained to write long documents. Sizes are the Hub's figures; hover a "
            "fit badge for the memory estimate and the context size recommended for this machine."
        )
        note.setWordWrap(True)

        repo_box = QGroupBox("Any Hugging Face repo")
        self.repo_edit = QLineEdit()
        self.repo_edit.setPlaceholderText("owner/name, for example bartowski/LongWriter-llama3.1-8b-GGUF")
        self.repo_edit.returnPressed.connect(self.list_repo)
        self.list_button = QPushButton("List .gguf files")
        self.list_button.clicked.connect(self.list_repo)
        self.repo_status = QLabel("Paste a repo id to see its GGUF files and their sizes.")
        self.repo_status.setWordWrap(True)
        self.repo_table = _table(("File", "Size"))
        self.repo_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.repo_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.repo_table.setMaximumHeight(110)
        self.repo_table.setVisible(False)
        self.repo_table.itemSelectionChanged.connect(self._update_repo_buttons)
        self.repo_download_button = QPushButton("Download the selected file")
        self.repo_download_button.clicked.connect(self.download_repo_file)
        repo_row = QHBoxLayout()
        repo_row.addWidget(self.repo_edit, 1)
        repo_row.addWidget(self.list_button)
        repo_row.addWidget(self.repo_download_button)
        repo_layout = QVBoxLayout(repo_box)
        repo_layout.addLayout(repo_row)
        repo_layout.addWidget(self.repo_status)
        repo_layout.addWidget(self.repo_table)
        layout = QVBoxLayout(page)
        layout.addWidget(note)
        layout.addWidget(self.catalog_table, 1)
        layout.addWidget(repo_box)
        self._update_repo_buttons()
        return page

    def _fill_catalog_row(self, row: int, entry: CatalogEntry) -> None:
        licence = entry.licence
        if "glm-4" in entry.licence.lower():
            licence = "Built with glm-4 \u2014 " + licence
        size = format_bytes(entry.size_bytes)
        values = (entry.family + (" (built-in)" if entry.builtin else ""), entry.quant,
                  size if entry.builtin else f"~{size}", licence, "checking\u2026", "")
        tips = (entry.description or entry.ram_guidance, entry.ram_guidance, values[2], entry.licence_note,
                "The fit check is running.", f"How long a {CATALOG_WORDS:,}-word document takes on this machine.")
        for column, (value, tip) in enumerate(zip(values, tips, strict=True)):
            item = QTableWidgetItem(value)
            item.setToolTip(tip or value)
            self.catalog_table.setItem(row, column, item)
        button = QPushButton("Built in" if entry.builtin else "Download")
        button.setEnabled(not entry.builtin)
        button.clicked.connect(lambda _=False, chosen=entry: self.download_entry(chosen))
        self.catalog_buttons[entry.id] = button
        self.catalog_table.setCellWidget(row, 6, button)

    def _probed(self, probe: MachineProbe) -> None:
        self.probe = probe
        self.backend_label.setText(backend_line(probe.backend))
        self.backend_label.setToolTip(probe.backend.explanation())
        for row, entry in enumerate(catalog.CATALOG):
            fit = probe.fits.get(entry.id)
            item = self.catalog_table.item(row, 4)
            if fit is None:
                item.setText("unknown")
                item.setToolTip(probe.problem)
                continue
            text = fit.verdict.value
            if fit.verdict is not Verdict.WONT_FIT and fit.recommended_context:
                text += f" ({fit.recommended_context:,} tokens"
                text += f", {fit.kv_type.value} KV cache)" if fit.kv_type.value != self.settings.kv_type else ")"
            item.setText(text)
            item.setToolTip(fit.explanation)
            item.setBackground(QBrush(QColor(VERDICT_COLOURS[fit.verdict])))
            item.setForeground(QBrush(QColor("white")))
            self._show_time(row, probe.times.get(entry.id))

    def _show_time(self, row: int, estimate: DocumentEstimate | None) -> None:
        item = self.catalog_table.item(row, 5)
        if item is None:
            return
        if estimate is None:
            item.setText("not measured")
            item.setToolTip("No model has run on this machine yet: the first run (or `longwriter write "
                            "--estimate`) measures its speed in a few seconds.")
            return
        item.setText(("~" if estimate.rough else "") + format_seconds(estimate.seconds))
        item.setToolTip(estimate.describe())

    def _probe_failed(self, message: str) -> None:
        self.backend_label.setText(f"Could not check this machine: {message}")
        for row in range(self.catalog_table.rowCount()):
            self.catalog_table.item(row, 4).setText("unknown")

    def download_entry(self, entry: CatalogEntry) -> None:
        """Start downloading a catalog model (asks first when it won't fit this machine)."""
        fit = self.probe.fits.get(entry.id) if self.probe else None
        if fit is not None and fit.verdict is Verdict.WONT_FIT:
            answer = QMessageBox.question(
                self, "Download anyway?",
                f"{entry.family} {entry.quant} won't fit this machine.\n\n{fit.explanation}\n\n"
                "Download it anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.start_download(entry.repo, entry.file)

    def start_download(self, repo_id: str, filename: str) -> None:
        """Start or resume a download and show the Downloads tab."""
        self.downloads.start(repo_id, filename)
        self.tabs.setCurrentIndex(DOWNLOADS_TAB)

    # -- any repo --------------------------------------------------------------------------------------

    def list_repo(self) -> None:
        """List the .gguf files of the repo in the box (on a background thread)."""
        try:
            repo_id = hub.check_repo_id(self.repo_edit.text().strip())
        except LongWriterError as exc:
            self.repo_status.setText(str(exc))
            return
        self.list_button.setEnabled(False)
        self.repo_status.setText(f"Listing {repo_id}\u2026")
        self.repo_files = []
        self.repo_table.setRowCount(0)
        self._background(lambda: (repo_id, hub.list_gguf_files(repo_id)), self._repo_listed,
                         self._repo_failed)

    def _repo_listed(self, result: tuple[str, list[hub.RepoGGUF]]) -> None:
        repo_id, files = result
        self.list_button.setEnabled(True)
        self.repo_listed, self.repo_files = repo_id, files
        self.repo_table.setRowCount(len(files))
        for row, remote in enumerate(files):
            self.repo_table.setItem(row, 0, QTableWidgetItem(remote.filename))
            size = QTableWidgetItem(format_bytes(remote.size))
            size.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.repo_table.setItem(row, 1, size)
        self.repo_table.setVisible(bool(files))
        if files:
            self.repo_status.setText(f"{repo_id}: {len(files)} GGUF file{'s' if len(files) != 1 else ''}.")
            self.repo_table.setCurrentCell(0, 0)
        else:
            self.repo_status.setText(f"{repo_id} has no .gguf files.")
        self._update_repo_buttons()

    def _repo_failed(self, message: str) -> None:
        self.list_button.setEnabled(True)
        self.repo_status.setText(message)
        self.repo_table.setVisible(False)
        self._update_repo_buttons()

    def _update_repo_buttons(self) -> None:
        self.repo_download_button.setEnabled(0 <= self.repo_table.currentRow() < len(self.repo_files))

    def download_repo_file(self) -> None:
        """Download the file selected in the repo listing."""
        row = self.repo_table.currentRow()
        if 0 <= row < len(self.repo_files):
            self.start_download(self.repo_listed, self.repo_files[row].filename)

    # -- downloads -------------------------------------------------------------------------------------

    def _downloads_tab(self) -> QWidget:
        page = QWidget()
        self.download_table = _table(("File", "Progress", "Downloaded", "Speed", "Time left", "Status"))
        header = self.download_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.download_table.setColumnWidth(1, 150)
        self.download_table.itemSelectionChanged.connect(self._update_download_buttons)
        self.download_keys: list[tuple[str, str]] = []
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel and delete")
        self.pause_button.clicked.connect(lambda: self._on_selected(self.downloads.pause))
        self.resume_button.clicked.connect(lambda: self._on_selected(self.downloads.start))
        self.cancel_button.clicked.connect(lambda: self._on_selected(self.downloads.cancel))
        self.downloads_empty = QLabel("No downloads yet. Pick a model in the Catalog tab.")
        self.downloads_empty.setStyleSheet("color: palette(placeholder-text); padding: 8px;")
        note = QLabel(
            "Downloads go on while you write. A paused download, or one cut off when the app closed, "
            "resumes where it stopped; finished files are checked against the Hub's hash."
        )
        note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(page)
        layout.addWidget(note)
        layout.addWidget(self.downloads_empty)
        layout.addWidget(self.download_table, 1)
        layout.addLayout(buttons)
        self._update_download_buttons()
        return page

    def _on_selected(self, action: Callable[[str, str], None]) -> None:
        row = self.download_table.currentRow()
        if 0 <= row < len(self.download_keys):
            action(*self.download_keys[row])

    def _download_changed(self, state: DownloadState) -> None:
        if state.key not in self.download_keys:
            self.download_keys.append(state.key)
            row = len(self.download_keys) - 1
            self.download_table.setRowCount(len(self.download_keys))
            name = QTableWidgetItem(state.filename)
            name.setToolTip(f"{state.repo_id}: {state.filename}")
            self.download_table.setItem(row, 0, name)
            new_bar = QProgressBar()
            new_bar.setRange(0, 1000)
            new_bar.setTextVisible(False)  # the figures are in the next column, never half over the bar
            self.download_table.setCellWidget(row, 1, new_bar)
            for column in (2, 3, 4, 5):
                self.download_table.setItem(row, column, QTableWidgetItem())
            if self.download_table.currentRow() < 0:
                self.download_table.setCurrentCell(row, 0)
        row = self.download_keys.index(state.key)
        bar = self.download_table.cellWidget(row, 1)
        if isinstance(bar, QProgressBar):
            bar.setValue(round(state.fraction * 1000))
        done = (f"{format_bytes(state.done_bytes)} of {format_bytes(state.total_bytes)}"
                f" ({state.fraction:.0%})" if state.total_bytes else "")
        self.download_table.item(row, 2).setText(done)
        self.download_table.item(row, 3).setText(speed_text(state))
        eta = format_duration(state.eta_seconds) if state.eta_seconds is not None and state.active else ""
        self.download_table.item(row, 4).setText(eta)
        status = self.download_table.item(row, 5)
        status.setText(f"{state.status.capitalize()}. {state.message}" if state.message
                       else state.status.capitalize())
        status.setToolTip(state.message)
        self._update_download_buttons()

    def _download_completed(self, state: DownloadState) -> None:
        self.refresh()

    def selected_download(self) -> DownloadState | None:
        """The download selected in the Downloads tab."""
        row = self.download_table.currentRow()
        if 0 <= row < len(self.download_keys):
            return self.downloads.states.get(self.download_keys[row])
        return None

    def _update_download_buttons(self) -> None:
        state = self.selected_download()
        self.downloads_empty.setVisible(not self.download_keys)
        self.download_table.setVisible(bool(self.download_keys))
        stopped = state is not None and state.status in (PAUSED, FAILED)
        self.pause_button.setEnabled(state is not None and state.active)
        self.resume_button.setEnabled(stopped)
        self.cancel_button.setEnabled(state is not None and (state.active or stopped))

    # -- installed models ------------------------------------------------------------------------------

    def _installed_tab(self) -> QWidget:
        page = QWidget()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(("Model", "Size", "Licence", "File"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.use_button = QPushButton("Use for new projects")
        self.import_button = QPushButton("Import a .gguf file…")
        self.remove_button = QPushButton("Remove")
        self.use_button.clicked.connect(self.use_selected)
        self.import_button.clicked.connect(self.import_file)
        self.remove_button.clicked.connect(self.remove_selected)
        note = QLabel(
            "The built-in model is tiny and meant for trying the app offline. The LongWriter models "
            "(LongWriter-llama3.1-8b, LongWriter-glm4-9b) write far longer and better documents: "
            "download one in the Catalog tab, or import a GGUF file you already have here."
        )
        note.setWordWrap(True)
        self.current_label = QLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(page)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.current_label)
        layout.addLayout(buttons)
        return page

    def refresh(self) -> None:
        """Re-read the installed models."""
        self.models = installed.list_installed()
        self.table.setRowCount(len(self.models))
        for row, model in enumerate(self.models):
            try:
                licence = str(read_gguf(model.path).metadata.get("general.license") or "not stated")
            except GGUFError:
                licence = "unreadable file"
            size = model_label(model).rsplit("(", 1)[1].rstrip(")").replace("built-in, ", "")
            values = (model.id + (" (built-in)" if model.builtin else ""), size, licence, str(model.path))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
        current = self.settings.model or "the first downloaded model, else the built-in one"
        self.current_label.setText(f"New projects use: {current}")
        self._update_buttons()

    def _selected(self) -> installed.InstalledModel | None:
        row = self.table.currentRow()
        return self.models[row] if 0 <= row < len(self.models) else None

    def _update_buttons(self) -> None:
        model = self._selected()
        self.use_button.setEnabled(model is not None)
        self.remove_button.setEnabled(model is not None and not model.builtin)

    def use_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._save(replace(self.settings, model=model.id))
            self.refresh()

    def import_file(self, path: str | None = None) -> installed.InstalledModel | None:
        """Copy a checked GGUF file into the models folder (asks for the file when none is given)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a model", "", "GGUF models (*.gguf);;All files (*)"
            )
            if not path:
                return None
        try:
            model = installed.import_model(path)
        except LongWriterError as exc:
            self._error(str(exc))
            return None
        self.refresh()
        return model

    def remove_selected(self) -> None:
        model = self._selected()
        if model is None or model.builtin:
            return
        answer = QMessageBox.question(self, "Remove the model", f"Delete {model.path.name} from the disk?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        parent = self.parent()
        worker = getattr(parent, "worker", None)
        if worker is not None:
            worker.unload()  # the file may be the one loaded
        try:
            installed.remove_model(model.id)
        except LongWriterError as exc:
            self._error(str(exc))
        if self.settings.model == model.id:
            self._save(replace(self.settings, model=None))
        self.refresh()

    # -- settings --------------------------------------------------------------------------------------

    def _settings_tab(self) -> QWidget:
        page = QWidget()
        s = self.settings
        self.ctx = QSpinBox()
        self.ctx.setRange(0, 131_072)
        self.ctx.setSingleStep(1024)
        self.ctx.setSpecialValueText("Automatic (8,192, or less if the model is smaller)")
        self.ctx.setValue(s.n_ctx or 0)
        self.ctx.setSuffix(" tokens")
        self.ctx.setGroupSeparatorShown(True)
        self.gpu = QComboBox()
        self.gpu.setEditable(True)
        self.gpu.addItems(["auto", "all", "0"])
        self.gpu.setCurrentText(s.gpu_layers)
        self.gpu.setToolTip(
            "auto: all layers on the GPU when llama.cpp has one; 0: CPU only; or a number of layers."
        )
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setValue(s.threads or 0)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(s.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.05, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(s.top_p)
        self.repeat = QDoubleSpinBox()
        self.repeat.setRange(1.0, 2.0)
        self.repeat.setSingleStep(0.05)
        self.repeat.setValue(s.repeat_penalty)
        self.kv = QComboBox()
        for kind in KV_TYPES:
            self.kv.addItem(
                {
                    "f16": "f16 (full precision)",
                    "q8_0": "q8_0 (half the memory)",
                    "q4_0": "q4_0 (a quarter; some quality loss)",
                }[kind],
                kind,
            )
        self.kv.setCurrentIndex(KV_TYPES.index(s.kv_type))
        form = QFormLayout()
        form.addRow("Context size:", self.ctx)
        form.addRow("GPU layers:", self.gpu)
        form.addRow("CPU threads:", self.threads)
        form.addRow("Temperature:", self.temperature)
        form.addRow("Top-p:", self.top_p)
        form.addRow("Repetition penalty:", self.repeat)
        form.addRow("KV cache type:", self.kv)
        note = QLabel(
            "A larger context lets the model see more of the document, at the cost of memory. "
            "New settings apply from the next plan or writing run."
        )
        note.setWordWrap(True)
        save = QPushButton("Save settings")
        save.clicked.connect(self.save_settings_from_form)
        self.save_button = save
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addStretch(1)
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def settings_from_form(self) -> Settings:
        return replace(
            self.settings,
            n_ctx=self.ctx.value() or None,
            gpu_layers=self.gpu.currentText().strip(),
            threads=self.threads.value() or None,
            temperature=round(self.temperature.value(), 2),
            top_p=round(self.top_p.value(), 2),
            repeat_penalty=round(self.repeat.value(), 2),
            kv_type=str(self.kv.currentData()),
        )

    def save_settings_from_form(self) -> bool:
        return self._save(self.settings_from_form())

    def _save(self, settings: Settings) -> bool:
        try:
            save_settings(settings)
        except LongWriterError as exc:
            self._error(str(exc))
            return False
        self.settings = self.saved_settings = settings.validated()
        return True

    def _error(self, message: str) -> None:
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, "Models", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
