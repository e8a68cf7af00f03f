"""The "New project" form: instruction, length (read from the instruction as typed), mode, model, notes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..app.servers import SavedServer
from ..engine.estimate import ModelTimes
from ..engine.target import MAX_WORDS, target_from_instruction
from ..library.installed import InstalledModel
from .draft import Draft

MODES = (
    ("auto", "Automatic (one pass for LongWriter models, else plan first)"),
    ("plan", "Plan first, then write section by section"),
    ("direct", "One pass, no plan (LongWriter models)"),
)


def model_label(model: InstalledModel) -> str:
    size = model.size_bytes / 1_000_000
    unit = f"{size / 1000:.1f} GB" if size >= 1000 else f"{size:.0f} MB"
    return f"{model.id} (built-in, {unit})" if model.builtin else f"{model.id} ({unit})"


class NewProjectDialog(QDialog):
    """Collects what a new document needs; :meth:`draft` builds it."""

    def __init__(
        self,
        models: list[InstalledModel],
        current_model: str | None,
        parent: QWidget | None = None,
        servers: list[SavedServer] | None = None,
        *,
        times: Callable[[str | None], ModelTimes | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._times = times
        self._model_times: ModelTimes | None = None
        self.setWindowTitle("New project")
        self.setMinimumWidth(620)
        self.instruction = QPlainTextEdit()
        self.instruction.setPlaceholderText(
            "What should be written? For example: Write a 3,000-word guide to "
            "keeping bees in a small garden, for beginners."
        )
        self.instruction.setMinimumHeight(110)
        self.words = QSpinBox()
        self.words.setRange(50, MAX_WORDS)
        self.words.setSingleStep(100)
        self.words.setGroupSeparatorShown(True)
        self.words.setSuffix(" words")
        self.words_hint = QLabel()
        self.words_hint.setWordWrap(True)
        self.words_hint.setStyleSheet("color: palette(placeholder-text);")
        self.mode = QComboBox()
        for key, label in MODES:
            self.mode.addItem(label, key)
        self.model = QComboBox()
        for model in models:
            self.model.addItem(model_label(model), model.id)
        for server in servers or []:  # written through an OpenAI-compatible server instead
            self.model.addItem(f"Server: {server.name} ({server.model or server.base_url})", server)
        if current_model:
            found = self.model.findData(current_model)
            if found >= 0:
                self.model.setCurrentIndex(found)
        self.time_label = QLabel()
        self.time_label.setWordWrap(True)
        self.time_label.setObjectName("time-estimate")
        self.model.currentIndexChanged.connect(self._model_changed)
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Optional: audience, tone, names and facts to keep, what to avoid.")
        self.notes.setMaximumHeight(90)
        self._words_touched = False
        self._setting_words = False
        self.instruction.textChanged.connect(self._instruction_changed)
        self.words.valueChanged.connect(self._words_changed)

        form = QFormLayout()
        form.addRow("Instruction:", self.instruction)
        form.addRow("Length:", self.words)
        form.addRow("", self.words_hint)
        form.addRow("Mode:", self.mode)
        form.addRow("Model:", self.model)
        form.addRow("Time:", self.time_label)
        form.addRow("Writing notes:", self.notes)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Return types a new line in the instruction; Ctrl+Return (as in the main window) creates the project.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self._create_by_keyboard)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._model_changed()
        self._instruction_changed()

    def _model_changed(self) -> None:
        chosen = self.model.currentData()
        local = chosen is None or isinstance(chosen, str)  # a server's speed is not this machine's
        self._model_times = self._times(chosen) if self._times and local else None
        self._update_time()

    def _update_time(self) -> None:
        """The time estimate for the chosen model and length, from this machine's speed profile."""
        if self._model_times is None:
            self.time_label.setText("")
            return
        self.time_label.setText(self._model_times.describe(self.words.value()).removeprefix("Time: "))

    def _instruction_changed(self) -> None:
        text = self.instruction.toPlainText()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(text.strip()))
        guess = target_from_instruction(text)
        # Words, or characters where readers of the language count characters (Chinese, Japanese, 字数).
        self.words.setSuffix(f" {guess.unit.value}")
        if self._words_touched:
            return
        self._setting_words = True
        self.words.setValue(guess.aim)
        self._setting_words = False
        self._update_time()
        if guess.found:
            self.words_hint.setText(f"Read from the instruction: {guess.describe()}.")
        else:
            self.words_hint.setText(
                "The instruction names no length: the default applies. Type a number to choose."
            )

    def _create_by_keyboard(self) -> None:
        if self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled():
            self.accept()

    def _words_changed(self) -> None:
        self._update_time()
        if not self._setting_words:
            self._words_touched = True
            self.words_hint.setText("Set by hand.")

    def draft(self) -> tuple[Draft, str]:
        """The new project and the mode asked for ("auto", "plan" or "direct")."""
        mode = str(self.mode.currentData())
        chosen = self.model.currentData()
        server = chosen if isinstance(chosen, SavedServer) else None
        draft = Draft(
            instruction=self.instruction.toPlainText().strip(),
            target_words=self.words.value(),
            mode="direct" if mode == "direct" else "plan",
            model=None if server else chosen,
            notes=self.notes.toPlainText().strip(),
            server=server.choice() if server else None,
        )
        return draft, mode
