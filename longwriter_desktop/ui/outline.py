"""The navigator: one row per section (title, words of target, state); click to jump, edit the plan.

Titles are edited in place; the main point, target and lock in the inspector beside it. Rows are reordered
by dragging their number (or Move up / Move down); the draft is the order, the table only shows it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.plan import MIN_SECTION_WORDS, Section
from .draft import WRITING, Draft, SectionRow

STATE_TEXT = {"planned": "planned", "writing": "writing…", "done": "done", "edited": "edited",
              "stopped": "stopped"}


class OutlinePane(QWidget):
    """The sections of the open document, as a navigator and a plan editor."""

    planEdited = Signal()
    sectionChosen = Signal(int)  # the user clicked a section: jump to it
    selectionChanged = Signal(int)  # the selected section (for the inspector), -1 for none
    regenerateRequested = Signal()  # a new plan

    COLUMNS = ("Section", "Words", "State", "Story bible")
    TITLE, WORDS, STATE, CODEX_COLUMN = range(4)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._draft: Draft | None = None
        self._filling = False
        self._editable = True
        self.time_estimate: Callable[[int], str] | None = None  # "about 3 min" for N words, when measured
        self.heading = QLabel("Outline")
        self.heading.setStyleSheet("font-weight: bold;")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(self.TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.WORDS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.STATE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.CODEX_COLUMN, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(self.CODEX_COLUMN, 140)
        self.table.setColumnHidden(self.CODEX_COLUMN, True)
        self._codex: list[str] | None = None
        rows_header = self.table.verticalHeader()
        rows_header.setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        rows_header.setSectionsMovable(True)
        rows_header.setToolTip("Drag a section's number up or down to move it.")
        rows_header.sectionMoved.connect(self._row_dragged)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellClicked.connect(lambda row, _column: self.sectionChosen.emit(row))

        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a section after the selected one")
        self.delete_button = QPushButton("Delete")
        self.up_button = QPushButton("Up")
        self.up_button.setToolTip("Move the section up")
        self.down_button = QPushButton("Down")
        self.down_button.setToolTip("Move the section down")
        self.regenerate_button = QPushButton("New plan")
        self.regenerate_button.setToolTip("Ask the model for a new plan; locked sections are kept.")
        self.add_button.clicked.connect(self.add_section)
        self.delete_button.clicked.connect(self.delete_section)
        self.up_button.clicked.connect(lambda: self.move_section(-1))
        self.down_button.clicked.connect(lambda: self.move_section(1))
        self.regenerate_button.clicked.connect(self.regenerateRequested)
        self.total_label = QLabel()
        self.total_label.setWordWrap(True)
        self.total_label.setStyleSheet("color: palette(placeholder-text);")
        self.empty_label = QLabel(
            "Create a project (Ctrl+N) and the model drafts a plan here: one row per section. "
            "Edit it before writing."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 6px;")

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for button in (self.add_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.total_label)
        self.show_draft(None)

    # -- showing -------------------------------------------------------------------------------------

    def show_draft(self, draft: Draft | None) -> None:
        """Fill the outline from a project (or clear it); the selection stays where it was."""
        keep = self.table.currentRow()
        self._draft = draft
        unit = draft.rule.label() if draft else "words"  # or characters, for Chinese and Japanese
        self.table.setHorizontalHeaderItem(self.WORDS, QTableWidgetItem(unit.capitalize()))
        self._filling = True
        rows = draft.rows if draft else []
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            self._fill_row(i, row)
        self._filling = False
        if rows and 0 <= keep < len(rows):
            self.table.setCurrentCell(keep, self.TITLE)
        self.empty_label.setVisible(not rows)
        self.table.setVisible(bool(rows))
        self._update_total()
        self._update_buttons()

    def _item(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            if column != self.TITLE:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.table.setItem(row, column, item)
        return item

    def _fill_row(self, i: int, row: SectionRow, words: int | None = None) -> None:
        section = row.section
        title = self._item(i, self.TITLE)
        title.setText(section.title or "The whole text")
        point = section.main_point
        title.setToolTip(f"{section.title}\n\n{point}" + ("\n\n(locked)" if section.locked else ""))
        words_item = self._item(i, self.WORDS)
        written = self._draft.rule.count(row.text) if words is None and self._draft else (words or 0)
        words_item.setText(f"{written:,} / {section.target_words:,}")
        words_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        state = self._item(i, self.STATE)
        state.setText(STATE_TEXT.get(row.state, row.state) + (" 🔒" if section.locked else ""))
        font = QFont(self.table.font())
        font.setBold(row.status == WRITING)
        for item in (title, words_item, state):
            item.setFont(font)
        if self._codex is not None:
            seen = self._item(i, self.CODEX_COLUMN)
            text = self._codex[i] if i < len(self._codex) else ""
            seen.setText(text)
            seen.setToolTip(text)

    def show_codex(self, seen: list[str] | None) -> None:
        """Which story-bible entries each section will see (None hides the column: the project has none)."""
        self._codex = seen
        self.table.setColumnHidden(self.CODEX_COLUMN, seen is None)
        if self._draft is not None:
            self._filling = True
            for i, row in enumerate(self._draft.rows):
                self._fill_row(i, row)
            self._filling = False

    def update_row(self, index: int, words: int | None = None) -> None:
        """Refresh one section's words and state (while it is written)."""
        if self._draft is None or not 0 <= index < len(self._draft.rows):
            return
        self._filling = True
        self._fill_row(index, self._draft.rows[index], words)
        self._filling = False
        self._update_total()

    def set_editable(self, editable: bool) -> None:
        """Allow plan edits only while nothing is running."""
        self._editable = editable
        triggers = QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        self.table.setEditTriggers(triggers if editable else QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setSectionsMovable(editable)
        self._update_buttons()

    def current_index(self) -> int:
        return self.table.currentRow()

    def select(self, index: int) -> None:
        """Select a section without jumping (the cursor moved into it)."""
        if 0 <= index < self.table.rowCount() and index != self.table.currentRow():
            self.table.blockSignals(True)
            self.table.setCurrentCell(index, self.TITLE)
            self.table.blockSignals(False)
            self._update_buttons()
            self.selectionChanged.emit(index)

    def _selection_changed(self) -> None:
        self._update_buttons()
        self.selectionChanged.emit(self.table.currentRow())

    def _update_buttons(self) -> None:
        has_draft = self._draft is not None
        row = self.table.currentRow()
        count = self.table.rowCount()
        editable = self._editable and has_draft and self._draft is not None and self._draft.mode == "plan"
        self.add_button.setEnabled(editable)
        self.delete_button.setEnabled(editable and 0 <= row < count and count > 1)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < count - 1)
        self.regenerate_button.setEnabled(editable)

    def refresh_total(self) -> None:
        """Show the plan's totals and time estimate again (the speed profile changed)."""
        self._update_total()

    def _update_total(self) -> None:
        if self._draft is None or not self._draft.rows:
            self.total_label.setText("")
            return
        written = sum(self._draft.rule.count(r.text) for r in self._draft.rows)
        total, wanted = self._draft.planned_words, self._draft.target_words
        note = ""
        if wanted and abs(total - wanted) > max(50, wanted * 0.1):
            note = f" (asked for {wanted:,})"
        time_text = self.time_estimate(total) if self.time_estimate else ""
        self.total_label.setText(
            f"{len(self._draft.rows)} sections · {written:,} of {total:,} {self._draft.rule.label()} planned{note}"
            + (f"\n{time_text}" if time_text else "")
        )

    # -- editing -------------------------------------------------------------------------------------

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or self._draft is None or item.column() != self.TITLE:
            return
        row = self._draft.rows[item.row()]
        title = item.text().strip()
        if title and row.section.title and title != row.section.title:
            row.section.title = title
            self.planEdited.emit()
        self.update_row(item.row())

    def add_section(self) -> None:
        if self._draft is None:
            return
        at = self.table.currentRow() + 1 if self.table.currentRow() >= 0 else len(self._draft.rows)
        number = len(self._draft.rows) + 1
        taken = {r.section.title for r in self._draft.rows}
        while f"New section {number}" in taken:
            number += 1
        self._draft.rows.insert(
            at, SectionRow(Section(f"New section {number}", "What this section says.", max(MIN_SECTION_WORDS, 300)))
        )
        self.show_draft(self._draft)
        self.table.setCurrentCell(at, self.TITLE)
        self.planEdited.emit()

    def delete_section(self) -> None:
        row = self.table.currentRow()
        if self._draft is None or not 0 <= row < len(self._draft.rows) or len(self._draft.rows) <= 1:
            return
        del self._draft.rows[row]
        self.show_draft(self._draft)
        self.table.setCurrentCell(min(row, len(self._draft.rows) - 1), self.TITLE)
        self.planEdited.emit()

    def _row_dragged(self, _logical: int, old_visual: int, new_visual: int) -> None:
        header = self.table.verticalHeader()
        header.blockSignals(True)
        header.moveSection(new_visual, old_visual)  # undo the header's own move: the draft is the order
        header.blockSignals(False)
        self.move_section_to(old_visual, new_visual)

    def move_section_to(self, row: int, target: int) -> None:
        """Move one section to another place in the plan (what a drag does)."""
        if self._draft is None or not self._editable or row == target:
            return
        rows = self._draft.rows
        if not (0 <= row < len(rows) and 0 <= target < len(rows)):
            return
        rows.insert(target, rows.pop(row))
        self.show_draft(self._draft)
        self.table.setCurrentCell(target, self.TITLE)
        self.planEdited.emit()

    def move_section(self, step: int) -> None:
        row = self.table.currentRow()
        target = row + step
        if self._draft is None or not 0 <= row < len(self._draft.rows) or not 0 <= target < len(self._draft.rows):
            return
        self.move_section_to(row, target)
