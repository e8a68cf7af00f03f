"""Two takes of a section side by side, the words that differ marked; choose the one the document uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..app.takes import ADDED, REMOVED, diff_sides
from ..projects.store import Take

REMOVED_COLOUR = QColor(220, 60, 60, 80)
ADDED_COLOUR = QColor(40, 170, 70, 80)


def take_label(number: int, take: Take) -> str:
    when = take.created.astimezone().strftime("%d %b %H:%M")
    state = " · chosen" if take.chosen else ("" if take.finished else " · unfinished")
    source = "edited by hand" if take.model == "edited by hand" else (take.model or "model")
    seed = f", seed {take.seed}" if take.seed is not None else ""
    return f"Take {number}: {take.words:,} words, {when} ({source}{seed}){state}"


class TakesDialog(QDialog):
    """Compare any two takes of one section word by word; "Use this take" chooses one for the document."""

    takeChosen = Signal(int)  # the take's id

    def __init__(self, title: str, takes: Sequence[Take], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Takes of \u201c{title}\u201d")
        self.takes = list(takes)
        self.left_choice = QComboBox()
        self.right_choice = QComboBox()
        for number, take in enumerate(self.takes, 1):
            for combo in (self.left_choice, self.right_choice):
                combo.addItem(take_label(number, take), take.id)
        self.left_text = QTextEdit()
        self.right_text = QTextEdit()
        for view in (self.left_text, self.right_text):
            view.setReadOnly(True)
        self.use_left = QPushButton("Use this take")
        self.use_right = QPushButton("Use this take")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        legend = QLabel("Marked: words only in the left take (red, struck through) and only in the right take (green).")
        legend.setWordWrap(True)
        legend.setStyleSheet("color: palette(placeholder-text);")
        grid = QGridLayout()
        grid.addWidget(self.left_choice, 0, 0)
        grid.addWidget(self.right_choice, 0, 1)
        grid.addWidget(self.left_text, 1, 0)
        grid.addWidget(self.right_text, 1, 1)
        grid.addWidget(self.use_left, 2, 0)
        grid.addWidget(self.use_right, 2, 1)
        grid.setRowStretch(1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(legend)
        layout.addLayout(grid, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        # The newest take on the right, the one before it (or the chosen one) on the left.
        chosen = next((i for i, t in enumerate(self.takes) if t.chosen), len(self.takes) - 1)
        right = len(self.takes) - 1
        left = chosen if chosen != right else max(0, right - 1)
        self.left_choice.setCurrentIndex(left)
        self.right_choice.setCurrentIndex(right)
        self.left_choice.currentIndexChanged.connect(self.compare)
        self.right_choice.currentIndexChanged.connect(self.compare)
        self.use_left.clicked.connect(lambda: self._choose(self.left_choice))
        self.use_right.clicked.connect(lambda: self._choose(self.right_choice))
        self.compare()

    def _take(self, combo: QComboBox) -> Take:
        return self.takes[max(0, combo.currentIndex())]

    def compare(self) -> None:
        """Show the two chosen takes with their differences marked."""
        left, right = self._take(self.left_choice), self._take(self.right_choice)
        left_runs, right_runs = diff_sides(left.text, right.text)
        self._fill(self.left_text, left_runs, REMOVED)
        self._fill(self.right_text, right_runs, ADDED)
        self.marked = {"left": [t for k, t in left_runs if k == REMOVED],
                       "right": [t for k, t in right_runs if k == ADDED]}
        changed_left = sum(len(text.split()) for kind, text in left_runs if kind == REMOVED)
        changed_right = sum(len(text.split()) for kind, text in right_runs if kind == ADDED)
        self.summary.setText(
            "The two takes are the same." if left.id == right.id or not (changed_left or changed_right)
            else f"{changed_left:,} words only on the left, {changed_right:,} only on the right."
        )
        for combo, button in ((self.left_choice, self.use_left), (self.right_choice, self.use_right)):
            take = self._take(combo)
            button.setEnabled(not take.chosen and take.finished is not None)
            button.setText("In the document" if take.chosen else "Use this take")

    def _fill(self, view: QTextEdit, runs: list[tuple[str, str]], marked: str) -> None:
        view.clear()
        cursor = QTextCursor(view.document())
        plain = QTextCharFormat()
        mark = QTextCharFormat()
        mark.setBackground(REMOVED_COLOUR if marked == REMOVED else ADDED_COLOUR)
        mark.setFontStrikeOut(marked == REMOVED)
        for kind, text in runs:
            cursor.insertText(text, mark if kind == marked else plain)
        view.moveCursor(QTextCursor.MoveOperation.Start)

    def _choose(self, combo: QComboBox) -> None:
        take = self._take(combo)
        self.takeChosen.emit(take.id)
        # The dialog stays open: the chosen mark moves to this take.
        self.takes = [replace(t, chosen=t.id == take.id) for t in self.takes]
        for number, item in enumerate(self.takes, 1):
            for box in (self.left_choice, self.right_choice):
                box.setItemText(number - 1, take_label(number, item))
        self.compare()
