"""The three panes of the main window: the plan, the progress of writing, and the text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.events import Progress
from ..units import format_duration
from .draft import DONE, INTERRUPTED, PENDING, WRITING, Draft

STATUS_TEXT = {PENDING: "Pending", WRITING: "Writing…", DONE: "Done", INTERRUPTED: "Interrupted"}


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
        """Show a project's sections and words; a run's live figures are cleared (they belong to that run)."""
        if draft is not self._draft:
            self.clear_run()
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

    def clear_run(self) -> None:
        """Forget the live figures of the last run shown (speed, times, context use)."""
        for label in (self.speed, self.elapsed, self.remaining):
            label.setText("–")
        self.context.setRange(0, 1)
        self.context.setValue(0)
        self.context.setFormat("–")

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
