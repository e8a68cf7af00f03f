"""The three panes of the main window: the plan, the progress of writing, and the text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.counting import LengthRule
from ..engine.events import Progress
from ..engine.plan import MIN_SECTION_WORDS, Section
from ..units import format_duration
from .draft import DONE, INTERRUPTED, PENDING, WRITING, Draft, SectionRow

STATUS_TEXT = {PENDING: "Pending", WRITING: "Writing…", DONE: "Done", INTERRUPTED: "Interrupted"}


class PlanPane(QGroupBox):
    """The plan as an editable table: title, main point, word target and a lock per section."""

    planEdited = Signal()
    regenerateRequested = Signal()

    COLUMNS = ("Title", "Main point", "Words", "Locked", "Story bible")
    CODEX_COLUMN = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Plan", parent)
        self._draft: Draft | None = None
        self._filling = False
        # Words -> one sentence of how long they take on this machine (set by the window).
        self.time_estimate: Callable[[int], str] | None = None
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(0, 180)
        self.table.setColumnWidth(self.CODEX_COLUMN, 160)
        self.table.setColumnHidden(self.CODEX_COLUMN, True)
        rows_header = self.table.verticalHeader()
        rows_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # At most three lines a row, so a long main point cannot push the other sections out of view; the
        # whole text is in the cell's tooltip and its editor.
        rows_header.setMaximumSectionSize(self.table.fontMetrics().lineSpacing() * 3 + 12)
        # Drag a row by its number to reorder the plan. The header moves sections itself (QTableWidget's
        # own InternalMove drops overwrite cells); each move goes straight into the draft and the table is
        # refilled, so visual and logical row order never differ.
        rows_header.setSectionsMovable(True)
        rows_header.setToolTip("Drag a section's number up or down to move it.")
        rows_header.sectionMoved.connect(self._row_dragged)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.add_button = QPushButton("Add section")
        self.delete_button = QPushButton("Delete")
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.regenerate_button = QPushButton("Regenerate plan")
        self.regenerate_button.setToolTip("Ask the model for a new plan; locked sections are kept.")
        self.add_button.clicked.connect(self.add_section)
        self.delete_button.clicked.connect(self.delete_section)
        self.up_button.clicked.connect(lambda: self.move_section(-1))
        self.down_button.clicked.connect(lambda: self.move_section(1))
        self.regenerate_button.clicked.connect(self.regenerateRequested)
        self.total_label = QLabel()
        self.total_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty_label = QLabel(
            "Create a project (Ctrl+N) and the model drafts a plan here: one row per "
            "section, with its main point and length. Edit it freely before writing."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 8px;")

        buttons = QHBoxLayout()
        for button in (self.add_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.total_label)
        self._editable = True
        self.show_draft(None)

    # -- showing -------------------------------------------------------------------------------------

    def show_draft(self, draft: Draft | None) -> None:
        """Fill the table from a project (or clear it)."""
        self._draft = draft
        self._filling = True
        rows = draft.rows if draft else []
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            self._fill_row(i, row)
        self._filling = False
        self.empty_label.setVisible(not rows)
        self.table.setVisible(bool(rows))
        self._update_total()
        self._update_buttons()

    def _fill_row(self, i: int, row: SectionRow) -> None:
        section = row.section
        title = QTableWidgetItem(section.title)
        point = QTableWidgetItem(section.main_point)
        words = QTableWidgetItem()
        words.setData(Qt.ItemDataRole.EditRole, section.target_words)
        words.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lock = QTableWidgetItem()
        lock.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
        )
        lock.setCheckState(Qt.CheckState.Checked if section.locked else Qt.CheckState.Unchecked)
        lock.setToolTip("A locked section keeps its title, point and length when the plan is regenerated.")
        title.setToolTip(section.title)
        point.setToolTip(section.main_point)
        for column, item in enumerate((title, point, words, lock)):
            self.table.setItem(i, column, item)

    def show_codex(self, seen: list[str] | None) -> None:
        """Which story-bible entries each section will see (None hides the column: the project has none)."""
        self.table.setColumnHidden(self.CODEX_COLUMN, seen is None)
        self._filling = True
        for i, text in enumerate(seen or []):
            if i < self.table.rowCount():
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                item.setToolTip(text)
                self.table.setItem(i, self.CODEX_COLUMN, item)
        self._filling = False

    def set_editable(self, editable: bool) -> None:
        """Allow edits only while nothing is running."""
        self._editable = editable
        triggers = (
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setEditTriggers(triggers if editable else QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setSectionsMovable(editable)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_draft = self._draft is not None
        row = self.table.currentRow()
        count = self.table.rowCount()
        editable = self._editable and has_draft
        self.add_button.setEnabled(editable)
        self.delete_button.setEnabled(editable and 0 <= row < count and count > 1)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < count - 1)
        self.regenerate_button.setEnabled(editable and self._draft is not None and self._draft.mode == "plan")

    def refresh_total(self) -> None:
        """Show the plan's totals and time estimate again (the speed profile changed)."""
        self._update_total()

    def _update_total(self) -> None:
        if self._draft is None or not self._draft.rows:
            self.total_label.setText("")
            return
        total, wanted = self._draft.planned_words, self._draft.target_words
        note = ""
        if wanted and abs(total - wanted) > max(50, wanted * 0.1):
            note = "  (the plan differs from the requested length; the plan's targets are what is written)"
        time_text = self.time_estimate(total) if self.time_estimate else ""
        unit = self._draft.rule.label()
        self.total_label.setText(
            f"Plan: {len(self._draft.rows)} sections, {total:,} {unit} in all; "
            f"requested {wanted:,} {unit}.{note}" + (f"\n{time_text}" if time_text else "")
        )

    # -- editing -------------------------------------------------------------------------------------

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or self._draft is None:
            return
        row = self._draft.rows[item.row()]
        section = row.section
        column = item.column()
        if column == 0:
            section.title = item.text().strip() or section.title
        elif column == 1:
            section.main_point = item.text().strip()
        elif column == 2:
            try:
                words = int(str(item.data(Qt.ItemDataRole.EditRole)).replace(",", ""))
            except ValueError:
                words = section.target_words
            section.target_words = max(10, min(100_000, words))
        elif column == 3:
            section.locked = item.checkState() == Qt.CheckState.Checked
        self._filling = True
        self._fill_row(item.row(), row)
        self._filling = False
        self._update_total()
        self.planEdited.emit()

    def set_target(self, index: int, words: int) -> None:
        """Change one section's word target as if typed into the table."""
        item = self.table.item(index, 2)
        item.setData(Qt.ItemDataRole.EditRole, words)

    def add_section(self) -> None:
        if self._draft is None:
            return
        at = self.table.currentRow() + 1 if self.table.currentRow() >= 0 else len(self._draft.rows)
        number = len(self._draft.rows) + 1
        self._draft.rows.insert(
            at,
            SectionRow(
                Section(f"New section {number}", "What this section says.", max(MIN_SECTION_WORDS, 300))
            ),
        )
        self.show_draft(self._draft)
        self.table.setCurrentCell(at, 0)
        self.planEdited.emit()

    def delete_section(self) -> None:
        row = self.table.currentRow()
        if self._draft is None or not 0 <= row < len(self._draft.rows) or len(self._draft.rows) <= 1:
            return
        del self._draft.rows[row]
        self.show_draft(self._draft)
        self.table.setCurrentCell(min(row, len(self._draft.rows) - 1), 0)
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
        self.table.setCurrentCell(target, 0)
        self.planEdited.emit()

    def move_section(self, step: int) -> None:
        row = self.table.currentRow()
        target = row + step
        if (
            self._draft is None
            or not 0 <= row < len(self._draft.rows)
            or not 0 <= target < len(self._draft.rows)
        ):
            return
        rows = self._draft.rows
        rows[row], rows[target] = rows[target], rows[row]
        self.show_draft(self._draft)
        self.table.setCurrentCell(target, 0)
        self.planEdited.emit()

    def locked_sections(self) -> list[Section]:
        return [replace(r.section) for r in self._draft.rows if r.section.locked] if self._draft else []


class ProgressPane(QGroupBox):
    """Where writing stands: an overall bar, a row per section, speed, time and the model's use."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Progress", parent)
        self._draft: Draft | None = None
        self.overall = QProgressBar()
        self.overall.setRange(0, 1)
        self.overall.setValue(0)
        self.set_overall(0, 0)
        self.sections = QTableWidget(0, 3)
        self.sections.setHorizontalHeaderLabels(("Section", "Status", "Words"))
        self.sections.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sections.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.sections.verticalHeader().setVisible(False)
        # One line a row: more sections in view in a small window.
        self.sections.verticalHeader().setDefaultSectionSize(self.sections.fontMetrics().height() + 8)
        header = self.sections.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.speed = QLabel("–")
        self.elapsed = QLabel("–")
        self.remaining = QLabel("–")
        self.model = QLabel("not loaded yet")
        self.device = QLabel("–")
        self.destination = QLabel("–")  # where the project's runs go: this computer or a server
        self.context = QProgressBar()
        self.context.setRange(0, 1)
        self.context.setValue(0)
        self.context.setFormat("–")
        self.state = QLabel("Idle")
        self.state.setWordWrap(True)
        for label in (self.model, self.device, self.destination):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
        # Two columns of figures, so the section table keeps its room in a small window.
        timing = QFormLayout()
        timing.addRow("Speed:", self.speed)
        timing.addRow("Elapsed:", self.elapsed)
        timing.addRow("Time left:", self.remaining)
        model = QFormLayout()
        model.addRow("Writes on:", self.destination)
        model.addRow("Model:", self.model)
        model.addRow("Runs on:", self.device)
        figures = QHBoxLayout()
        figures.addLayout(timing, 1)
        figures.addLayout(model, 1)
        context = QFormLayout()
        context.addRow("Context used:", self.context)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.overall)
        layout.addWidget(self.sections, 1)
        layout.addLayout(figures)
        layout.addLayout(context)

    def show_draft(self, draft: Draft | None) -> None:
        """Show a project's sections and words (not live figures)."""
        self._draft = draft
        rows = draft.rows if draft else []
        self.sections.setRowCount(len(rows))
        for i in range(len(rows)):
            self.update_row(i)
        words = sum(draft.rule.count(r.text) for r in rows) if draft else 0
        self.set_overall(
            words, draft.planned_words if draft and rows else (draft.target_words if draft else 0)
        )

    def set_overall(self, words: int, target: int) -> None:
        if target <= 0:
            self.overall.setRange(0, 1)
            self.overall.setValue(0)
            self.overall.setFormat("No document yet")
            return
        self.overall.setRange(0, max(1, target))
        self.overall.setValue(min(words, max(1, target)))
        unit = self._draft.rule.label() if self._draft else "words"
        self.overall.setFormat(f"{words:,} of {target:,} {unit}")

    def update_row(self, index: int, words: int | None = None) -> None:
        if self._draft is None or not 0 <= index < len(self._draft.rows):
            return
        row = self._draft.rows[index]
        title = row.section.title or "The whole text"
        if words is None:
            words = self._draft.rule.count(row.text)
        values = (
            f"{index + 1}. {title}",
            STATUS_TEXT[row.status],
            f"{words:,} / {row.section.target_words:,}",
        )
        for column, value in enumerate(values):
            item = self.sections.item(index, column)
            if item is None:
                item = QTableWidgetItem()
                self.sections.setItem(index, column, item)
            item.setText(value)
            if column == 0:
                item.setToolTip(f"Summary: {row.summary}" if row.summary else title)
            if column == 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            font = item.font()
            font.setBold(row.status == WRITING)
            item.setFont(font)

    def show_progress(self, progress: Progress) -> None:
        self.set_overall(progress.words, progress.target_words)
        self.update_row(progress.section_index, progress.section_words)
        self.speed.setText(
            f"{progress.tokens_per_second:.1f} tokens/s" if progress.tokens_per_second else "–"
        )
        self.elapsed.setText(format_duration(progress.elapsed_s))
        self.remaining.setText(format_duration(progress.eta_s))
        if progress.context_size:
            self.context.setRange(0, progress.context_size)
            self.context.setValue(progress.context_used)
            share = 100 * progress.context_used / progress.context_size
            self.context.setFormat(
                f"{progress.context_used:,} of {progress.context_size:,} tokens ({share:.0f}%)"
            )

    def show_destination(self, text: str) -> None:
        """Where the project's runs go: this computer's model, or a server's address."""
        self.destination.setText(text)

    def show_model(self, name: str, device: str, n_ctx: int) -> None:
        self.model.setText(name)
        self.device.setText(device)
        self.context.setRange(0, max(1, n_ctx))
        self.context.setValue(0)
        self.context.setFormat(f"0 of {n_ctx:,} tokens")

    def set_state(self, text: str) -> None:
        self.state.setText(text)


class OutputPane(QGroupBox):
    """The document as it is written: appended to while writing, editable when not."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Text", parent)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("The document appears here as the model writes it.")
        font = QFont(self.editor.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.0) + 1)
        self.editor.setFont(font)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.word_count = QLabel("0 words")
        self.follow = True
        self.view_updates = 0  # cursor inserts while writing, for the batching figures
        self._programmatic = False
        self.edited_by_user = False
        self.editor.textChanged.connect(self._text_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.word_count)

    def _text_changed(self) -> None:
        if not self._programmatic:
            self.edited_by_user = True
            self.update_word_count()

    def set_text(self, text: str) -> None:
        """Replace the whole text (on switching projects or starting a run, never per update)."""
        self._programmatic = True
        self.editor.setPlainText(text)
        self._programmatic = False
        self.edited_by_user = False
        self.update_word_count()
        self._scroll_to_end()

    def append(self, text: str) -> None:
        """Add text at the end through a cursor; keep the end in view while following."""
        self._programmatic = True
        cursor = QTextCursor(self.editor.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self._programmatic = False
        self.view_updates += 1
        if self.follow:
            self._scroll_to_end()

    def retract(self, chars: int) -> None:
        """Remove the last ``chars`` characters (the engine cut a loop)."""
        self._programmatic = True
        cursor = QTextCursor(self.editor.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, chars)
        cursor.removeSelectedText()
        self._programmatic = False

    def _scroll_to_end(self) -> None:
        bar = self.editor.verticalScrollBar()
        bar.setValue(bar.maximum())

    def set_writing(self, writing: bool) -> None:
        self.editor.setReadOnly(writing)
        self.setTitle("Text (being written)" if writing else "Text (editable)")

    def set_words(self, words: int) -> None:
        self.word_count.setText(getattr(self, "rule", LengthRule()).describe(words))

    def update_word_count(self) -> None:
        text = self.editor.toPlainText()
        body = (
            text.split("\n", 1)[1]
            if text.startswith("# ") and "\n" in text
            else ("" if text.startswith("# ") else text)
        )
        lines = [line for line in body.splitlines() if not line.startswith("## ")]
        self.set_words(getattr(self, "rule", LengthRule()).count("\n".join(lines)))
