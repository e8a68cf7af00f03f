"""The inspector: the selected section's plan fields (title, main point, target, lock) and its actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .draft import DONE, Draft

EDIT_DELAY_MS = 500  # typing pauses this long before the plan is saved


class InspectorPane(QWidget):
    """Edits one section of the plan; its buttons write it again, show its takes or write more after it."""

    sectionEdited = Signal(int)  # index
    regenerateRequested = Signal(int)
    takesRequested = Signal(int)
    writeMoreRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._draft: Draft | None = None
        self._index = -1
        self._filling = False
        self._busy = False
        self.heading = QLabel("Section")
        self.heading.setStyleSheet("font-weight: bold;")
        self.title = QLineEdit()
        self.point = QPlainTextEdit()
        self.point.setPlaceholderText("What this section says")
        self.point.setFixedHeight(self.point.fontMetrics().lineSpacing() * 3 + 14)
        self.target = QSpinBox()
        self.target.setRange(10, 100_000)
        self.target.setSingleStep(50)
        self.target.setGroupSeparatorShown(True)
        self.target.setSuffix(" words")
        # The section's short summary: what the model keeps in view of it once its text leaves the context.
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setToolTip("What the model keeps in view of this section once its text no longer fits in its "
                                "context, beside the plan and the writing notes")
        self.locked = QCheckBox("Locked")
        self.locked.setToolTip("A locked section keeps its title, point and length when the plan is regenerated.")
        self.regenerate_button = QPushButton("Write again")
        self.regenerate_button.setToolTip("Write this section again (a new take) with its main point as set "
                                          "here; the rest of the document stays.")
        self.takes_button = QPushButton("Takes…")
        self.takes_button.setToolTip("Compare this section's takes side by side and choose one.")
        self.more_button = QPushButton("Write more…")
        self.more_button.setToolTip("Go on after this section: more words, or a new section.")
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(EDIT_DELAY_MS)
        self._save_timer.timeout.connect(self._emit_edited)

        self.title.editingFinished.connect(self._title_edited)
        self.point.textChanged.connect(self._point_edited)
        self.target.valueChanged.connect(self._target_edited)
        self.locked.toggled.connect(self._lock_edited)
        self.regenerate_button.clicked.connect(lambda: self.regenerateRequested.emit(self._index))
        self.takes_button.clicked.connect(lambda: self.takesRequested.emit(self._index))
        self.more_button.clicked.connect(lambda: self.writeMoreRequested.emit(self._index))

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Title:", self.title)
        form.addRow("Point:", self.point)
        length = QHBoxLayout()
        length.addWidget(self.target, 1)
        length.addWidget(self.locked)
        form.addRow("Target:", length)
        form.addRow("Summary:", self.summary)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for button in (self.regenerate_button, self.takes_button, self.more_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.show_section(None, -1)

    def show_section(self, draft: Draft | None, index: int) -> None:
        """Show one section of a project (or nothing)."""
        self._flush()
        self._draft, self._index = draft, index
        valid = draft is not None and 0 <= index < len(draft.rows)
        self._filling = True
        if valid and draft is not None:
            row = draft.rows[index]
            self.heading.setText(f"Section {index + 1} of {len(draft.rows)}")
            self.title.setText(row.section.title)
            self.point.setPlainText(row.section.main_point)
            self.target.setSuffix(f" {draft.rule.label()}")
            self.target.setValue(row.section.target_words)
            self.locked.setChecked(row.section.locked)
            self.summary.setText(row.summary or ("–" if not row.text.strip() else "Made when the section is written."))
        else:
            self.heading.setText("Section")
            self.title.clear()
            self.point.clear()
            self.target.setValue(self.target.minimum())
            self.locked.setChecked(False)
            self.summary.clear()
        self._filling = False
        self._update_enabled()

    def refresh(self) -> None:
        """Show the current section again (its takes or state changed)."""
        self.show_section(self._draft, self._index)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_enabled()

    def _update_enabled(self) -> None:
        draft, index = self._draft, self._index
        valid = draft is not None and 0 <= index < len(draft.rows)
        editable = valid and not self._busy
        plan_mode = draft is not None and draft.mode == "plan"
        for widget in (self.point, self.target, self.locked):
            widget.setEnabled(editable)
        self.title.setEnabled(editable and plan_mode)
        row = draft.rows[index] if valid and draft is not None else None
        has_text = row is not None and bool(row.text.strip())
        self.regenerate_button.setEnabled(editable and draft is not None and draft.started)
        self.takes_button.setEnabled(editable and has_text and draft is not None and draft.project_id is not None)
        self.more_button.setEnabled(editable and row is not None and row.status == DONE and has_text)
        if row is not None:
            self.takes_button.setText("Takes…")
            assert draft is not None
            self.more_button.setToolTip(
                f"Go on after this section ({draft.rule.describe(draft.rule.count(row.text))} now): more "
                "words, or a new section."
            )

    # -- edits -----------------------------------------------------------------------------------------

    def _row(self):  # type: ignore[no-untyped-def]
        if self._filling or self._draft is None or not 0 <= self._index < len(self._draft.rows):
            return None
        return self._draft.rows[self._index]

    def _schedule(self) -> None:
        self._save_timer.start()

    def _flush(self) -> None:
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._emit_edited()

    def _emit_edited(self) -> None:
        if self._draft is not None and 0 <= self._index < len(self._draft.rows):
            self.sectionEdited.emit(self._index)

    def _title_edited(self) -> None:
        row = self._row()
        title = self.title.text().strip()
        if row is None or not title or title == row.section.title:
            return
        row.section.title = title
        self._emit_edited()

    def _point_edited(self) -> None:
        row = self._row()
        if row is None:
            return
        row.section.main_point = self.point.toPlainText().strip()
        self._schedule()

    def _target_edited(self, value: int) -> None:
        row = self._row()
        if row is None:
            return
        row.section.target_words = value
        self._schedule()

    def _lock_edited(self, locked: bool) -> None:
        row = self._row()
        if row is None:
            return
        row.section.locked = locked
        self._emit_edited()

    def commit(self) -> None:
        """Save pending edits now (before a run starts or the project changes)."""
        self._flush()
