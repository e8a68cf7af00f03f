"""The model manager: installed models (import a .gguf, remove) and the loading and sampling settings."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..errors import LongWriterError
from ..library import installed
from ..library.gguf import GGUFError, read_gguf
from ..settings import KV_TYPES, Settings, save_settings
from .new_project import model_label

# import_model/remove_model arrive with the model library branch; until it is merged the buttons say so.
_import_model = getattr(installed, "import_model", None)
_remove_model = getattr(installed, "remove_model", None)


class ModelManagerDialog(QDialog):
    """Installed models and settings; :attr:`saved_settings` is set when the user saves new settings."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models and settings")
        self.resize(820, 520)
        self.settings = settings
        self.saved_settings: Settings | None = None
        self.last_error: str | None = None
        tabs = QTabWidget()
        tabs.addTab(self._installed_tab(), "Installed models")
        tabs.addTab(self._settings_tab(), "Settings")
        self.tabs = tabs
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.refresh()

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
        if _import_model is None:
            self.import_button.setEnabled(False)
            self.import_button.setToolTip("Importing needs the model library update.")
        note = QLabel(
            "The built-in model is tiny and meant for trying the app offline. The LongWriter models "
            "(LongWriter-llama3.1-8b, LongWriter-glm4-9b) write far longer and better documents: "
            "download a GGUF of one and import it here."
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
        self.remove_button.setEnabled(model is not None and not model.builtin and _remove_model is not None)

    def use_selected(self) -> None:
        model = self._selected()
        if model is not None:
            self._save(replace(self.settings, model=model.id))
            self.refresh()

    def import_file(self, path: str | None = None) -> installed.InstalledModel | None:
        """Copy a checked GGUF file into the models folder (asks for the file when none is given)."""
        if _import_model is None:
            return None
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a model", "", "GGUF models (*.gguf);;All files (*)"
            )
            if not path:
                return None
        try:
            model = _import_model(path)
        except LongWriterError as exc:
            self._error(str(exc))
            return None
        self.refresh()
        return model

    def remove_selected(self) -> None:
        model = self._selected()
        if model is None or model.builtin or _remove_model is None:
            return
        answer = QMessageBox.question(self, "Remove the model", f"Delete {model.path.name} from the disk?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        parent = self.parent()
        worker = getattr(parent, "worker", None)
        if worker is not None:
            worker.unload()  # the file may be the one loaded
        try:
            _remove_model(model.id)
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
