"""The "Write more" form: N more words after a finished section, or a new section after it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..app.takes import MAX_MORE_WORDS


@dataclass(frozen=True)
class MoreRequest:
    new_section: bool
    words: int
    title: str = ""
    main_point: str = ""


class WriteMoreDialog(QDialog):
    """Asks how much more to write after a section, and whether as a section of its own."""

    def __init__(self, section_title: str, words_now: int, can_add_section: bool, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write more")
        self.more = QRadioButton(f"More words at the end of \u201c{section_title}\u201d ({words_now:,} words now)")
        self.section = QRadioButton("A new section after it")
        self.more.setChecked(True)
        self.section.setEnabled(can_add_section)
        self.words = QSpinBox()
        self.words.setRange(20, MAX_MORE_WORDS)
        self.words.setSingleStep(50)
        self.words.setValue(300)
        self.words.setGroupSeparatorShown(True)
        self.words.setSuffix(" words")
        self.title = QLineEdit()
        self.title.setPlaceholderText("The new section's title")
        self.point = QPlainTextEdit()
        self.point.setPlaceholderText("What the new section says (optional)")
        self.point.setFixedHeight(self.point.fontMetrics().lineSpacing() * 3 + 14)
        note = QLabel("The same length control and autosave as any run; every word so far stays.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        form = QFormLayout()
        form.addRow("How many:", self.words)
        form.addRow("Title:", self.title)
        form.addRow("Main point:", self.point)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Write")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Ctrl+Return writes from anywhere in the form, the main point's text box included.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._submit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.more)
        layout.addWidget(self.section)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.more.toggled.connect(self._update)
        self.title.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        new = self.section.isChecked()
        self.title.setEnabled(new)
        self.point.setEnabled(new)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not new or bool(self.title.text().strip()))

    def _submit(self) -> None:
        if self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled():
            self.accept()

    def request(self) -> MoreRequest:
        return MoreRequest(self.section.isChecked(), self.words.value(), self.title.text().strip(),
                           self.point.toPlainText().strip())
