"""The story bible in the window: the entry list and editor, where each entry is mentioned, what each section
of the plan will see (within the token budget), the consistency checks, and the marks on mentions in the text.

The panel reads and writes the codex through the window's project store; every figure it shows comes from
``engine.codex``, the same functions the writer uses, so the per-section view is what the prompts will hold.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.codex import (
    DEFAULT_BUDGET,
    KIND_LABELS,
    KINDS,
    MODE_LABELS,
    MODES,
    Change,
    Codex,
    Entry,
    Issue,
    all_mentions,
    check_section,
    load_codex,
    plan_views,
    to_json,
    to_markdown,
    where_mentioned,
)
from ..engine.prompts import has_cjk
from ..errors import LongWriterError
from ..export.atomic_file import write_atomically
from ..projects.codex_store import CodexStore
from ..projects.store import ProjectStore
from .draft import DONE, Draft

CODEX_FILTERS = "Codex files (*.md *.markdown *.json *.txt);;All files (*)"


class MentionHighlighter(QSyntaxHighlighter):
    """Marks every mention of a codex entry in the text view (underlined, tinted by kind)."""

    COLORS = {"character": "#c9e4ff", "place": "#d5f5d0", "object": "#ffe8c2", "term": "#eddcff",
              "fact": "#ffe0e0", "style": "#e6e6e6"}

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.entries: list[Entry] = []
        self.marked = 0  # mentions marked in the last full pass (for the status line and tests)

    def set_entries(self, entries: list[Entry]) -> None:
        self.entries = list(entries)
        self.marked = 0
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if not self.entries or not text:
            return
        for mention in all_mentions(self.entries, text):
            mark = QTextCharFormat()
            mark.setBackground(QColor(self.COLORS.get(mention.entry.kind, "#e6e6e6")))
            mark.setFontUnderline(True)
            mark.setToolTip(mention.entry.name)
            self.setFormat(mention.start, mention.end - mention.start, mark)
            self.marked += 1


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        item.setToolTip(tip)
    return item


def _parse_changes(text: str) -> tuple[tuple[Change, ...], str | None]:
    changes = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = re.match(r"^\s*(?:from\s+section\s+)?(\d+)\s*(?:on)?\s*:\s*(.+)$", line, re.IGNORECASE)
        if not match or int(match.group(1)) < 1:
            return (), (f"Changes: line {n} should read 'section number: what changes', like "
                        "'7: has a scar on her left hand'.")
        changes.append(Change(int(match.group(1)), match.group(2).strip()))
    return tuple(sorted(changes, key=lambda c: c.from_section)), None


class CodexPanel(QWidget):
    """Entries, mentions, the per-section view and the checks of the current project's story bible."""

    entriesChanged = Signal()
    regenerateRequested = Signal(int)  # a section index, from the checks tab

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: ProjectStore | None = None
        self.draft: Draft | None = None
        self.entries: list[Entry] = []
        self.issues: list[Issue] = []
        self.last_error = ""
        self._editing: Entry | None = None  # the entry the editor holds (None: a new one)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._entries_tab(), "Entries")
        self.tabs.addTab(self._sections_tab(), "By section")
        self.tabs.addTab(self._checks_tab(), "Checks")
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.tabs, 1)
        self.show_project(None, None)

    # -- building ------------------------------------------------------------------------------------

    def _entries_tab(self) -> QWidget:
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "Kind", "In prompts", "Mentioned in"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.new_button = QPushButton("New entry")
        self.new_button.setToolTip("Start a new entry in the editor below (Ctrl+Shift+N)")
        self.new_button.clicked.connect(self._new_entry)
        QShortcut(QKeySequence("Ctrl+Shift+N"), self, self._new_entry,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_entry)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add the entries of a codex file (Markdown or JSON); same names are replaced")
        self.import_button.clicked.connect(self._import)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the codex as a Markdown or JSON file (with the private notes)")
        self.export_button.clicked.connect(self._export)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)

        self.name_edit = QLineEdit()
        self.kind_combo = QComboBox()
        for kind in KINDS:
            self.kind_combo.addItem(KIND_LABELS[kind], kind)
        self.mode_combo = QComboBox()
        for mode in MODES:
            self.mode_combo.addItem(MODE_LABELS[mode], mode)
        self.mode_combo.setCurrentIndex(MODES.index("mentioned"))
        self.aliases_edit = QLineEdit()
        self.aliases_edit.setPlaceholderText("other names, separated by commas")
        self.description_edit = QPlainTextEdit()
        self.description_edit.setPlaceholderText("What the model is shown")
        self.description_edit.setTabChangesFocus(True)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Private notes: never shown to the model")
        self.notes_edit.setTabChangesFocus(True)
        self.changes_edit = QPlainTextEdit()
        self.changes_edit.setPlaceholderText("One per line: 7: has a scar on her left hand")
        self.changes_edit.setTabChangesFocus(True)
        for edit in (self.description_edit, self.notes_edit, self.changes_edit):
            edit.setMaximumHeight(70)
        self.save_button = QPushButton("Save entry")
        self.save_button.setToolTip("Save the entry (Ctrl+Shift+S)")
        self.save_button.clicked.connect(self._save_entry)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, self._save_entry,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Kind", self.kind_combo)
        form.addRow("In prompts", self.mode_combo)
        form.addRow("Aliases", self.aliases_edit)
        form.addRow("Description", self.description_edit)
        form.addRow("Private notes", self.notes_edit)
        form.addRow("Changes", self.changes_edit)
        form.addRow("", self.save_button)

        self.mentions_label = QLabel("Mentions")
        self.mentions_list = QListWidget()
        self.mentions_list.setWordWrap(True)
        self.mentions_list.setMaximumHeight(110)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.mentions_label)
        layout.addWidget(self.mentions_list)
        return tab

    def _sections_tab(self) -> QWidget:
        self.budget_spin = QSpinBox()
        self.budget_spin.setRange(50, 20_000)
        self.budget_spin.setSingleStep(50)
        self.budget_spin.setValue(DEFAULT_BUDGET)
        self.budget_spin.setSuffix(" tokens")
        self.budget_spin.valueChanged.connect(lambda _v: self.refresh())
        self.sections_table = QTableWidget(0, 3)
        self.sections_table.setHorizontalHeaderLabels(["Section", "Sees", "Budget"])
        self.sections_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sections_table.setWordWrap(True)
        self.sections_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        row = QHBoxLayout()
        row.addWidget(QLabel("Codex budget per section"))
        row.addWidget(self.budget_spin)
        row.addStretch(1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(row)
        layout.addWidget(self.sections_table, 1)
        return tab

    def _checks_tab(self) -> QWidget:
        self.consistency_box = QCheckBox("Check names against the codex after each section")
        self.consistency_box.toggled.connect(lambda _on: self.refresh())
        self.issues_list = QListWidget()
        self.issues_list.setWordWrap(True)
        self.issues_list.itemSelectionChanged.connect(self._update_buttons)
        self.regenerate_button = QPushButton("Regenerate this section")
        self.regenerate_button.setToolTip("Write the selected warning's section again (the old take is kept)")
        self.regenerate_button.clicked.connect(self._regenerate)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.consistency_box)
        layout.addWidget(self.issues_list, 1)
        layout.addWidget(self.regenerate_button)
        return tab

    # -- the project ---------------------------------------------------------------------------------

    def show_project(self, store: ProjectStore | None, draft: Draft | None) -> None:
        """Show a project's codex (or nothing, for no project)."""
        self.store, self.draft = store, draft
        self.entries = []
        self.last_error = ""
        if store is not None and draft is not None and draft.project_id is not None:
            try:
                self.entries = CodexStore(store).entries(draft.project_id)
            except LongWriterError as exc:
                self.last_error = str(exc)
        usable = store is not None and draft is not None and draft.project_id is not None
        self.note.setText(self.last_error or ("" if usable else "Open or start a project to keep its story bible."))
        self.note.setVisible(bool(self.note.text()))
        self.tabs.setEnabled(usable)
        self._fill_entries()
        self._load_editor(None)
        self.refresh()

    def codex_for_run(self) -> Codex | None:
        """The codex a writing run gets (None when the project has no entries)."""
        if not self.entries:
            return None
        return Codex(list(self.entries), self.budget_spin.value(), self.consistency_box.isChecked())

    def refresh(self) -> None:
        """Recompute mentions, the per-section view and the checks from the draft's current text."""
        self._fill_entries()
        self._fill_mentions()
        self._fill_sections()
        self._fill_checks()
        self._update_buttons()

    # -- entries -------------------------------------------------------------------------------------

    def _texts(self) -> list[str]:
        return [r.text for r in self.draft.rows] if self.draft is not None else []

    def _fill_entries(self) -> None:
        self.table.setRowCount(len(self.entries))
        where = where_mentioned(self.entries, self._texts())
        for i, (entry, found) in enumerate(zip(self.entries, where)):
            mentioned = ", ".join(f"§{n} ({count}×)" if count > 1 else f"§{n}" for n, count in found) or "–"
            self.table.setItem(i, 0, _item(entry.name, ", ".join(entry.aliases)))
            self.table.setItem(i, 1, _item(KIND_LABELS[entry.kind]))
            self.table.setItem(i, 2, _item(MODE_LABELS[entry.mode]))
            self.table.setItem(i, 3, _item(mentioned))

    def _selected(self) -> Entry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows and rows[0].row() < len(self.entries) else None

    def _selection_changed(self) -> None:
        self._load_editor(self._selected())
        self._fill_mentions()
        self._update_buttons()

    def _load_editor(self, entry: Entry | None) -> None:
        self._editing = entry
        entry = entry or Entry("")
        self.name_edit.setText(entry.name)
        self.kind_combo.setCurrentIndex(KINDS.index(entry.kind))
        self.mode_combo.setCurrentIndex(MODES.index(entry.mode))
        self.aliases_edit.setText(", ".join(entry.aliases))
        self.description_edit.setPlainText(entry.description)
        self.notes_edit.setPlainText(entry.notes)
        self.changes_edit.setPlainText("\n".join(f"{c.from_section}: {c.text}" for c in entry.changes))
        self.save_button.setText("Save entry" if self._editing is not None else "Add entry")

    def _new_entry(self) -> None:
        self.table.clearSelection()
        self._load_editor(None)
        self.name_edit.setFocus()

    def _save_entry(self) -> None:
        if self.store is None or self.draft is None or self.draft.project_id is None:
            return
        name = " ".join(self.name_edit.text().split())
        if not name:
            self._say("An entry needs a name.")
            return
        changes, problem = _parse_changes(self.changes_edit.toPlainText())
        if problem:
            self._say(problem)
            return
        entry = Entry(
            name=name, kind=str(self.kind_combo.currentData()), mode=str(self.mode_combo.currentData()),
            aliases=tuple(a for a in (" ".join(p.split()) for p in self.aliases_edit.text().split(",")) if a),
            description=self.description_edit.toPlainText().strip(), notes=self.notes_edit.toPlainText().strip(),
            changes=changes,
        )
        codex = CodexStore(self.store)
        try:
            if self._editing is not None:
                saved = codex.update(self.draft.project_id, replace(entry, id=self._editing.id))
            else:
                saved = codex.add(self.draft.project_id, entry)
            self.entries = codex.entries(self.draft.project_id)
        except LongWriterError as exc:
            self._say(str(exc))
            return
        self._say("")
        self._fill_entries()
        row = next(i for i, e in enumerate(self.entries) if e.id == saved.id)
        self.table.selectRow(row)
        self._load_editor(saved)
        self.refresh()
        self.entriesChanged.emit()

    def _remove_entry(self) -> None:
        entry = self._selected()
        if entry is None or self.store is None or self.draft is None or self.draft.project_id is None:
            return
        try:
            CodexStore(self.store).remove(self.draft.project_id, entry.id or 0)
            self.entries = CodexStore(self.store).entries(self.draft.project_id)
        except LongWriterError as exc:
            self._say(str(exc))
            return
        self._fill_entries()
        self._load_editor(None)
        self.refresh()
        self.entriesChanged.emit()

    def _import(self) -> None:
        if self.store is None or self.draft is None or self.draft.project_id is None:
            return
        chosen, _ = QFileDialog.getOpenFileName(self, "Import a codex file", str(Path.home()), CODEX_FILTERS)
        if not chosen:
            return
        try:
            self.entries = CodexStore(self.store).add_all(self.draft.project_id, load_codex(chosen))
        except LongWriterError as exc:
            self._say(str(exc))
            return
        self._say("")
        self._load_editor(None)
        self.refresh()
        self.entriesChanged.emit()

    def _export(self) -> None:
        if self.draft is None or not self.entries:
            return
        suggested = str(Path.home() / f"{self.draft.title[:60] or 'codex'} codex.md")
        chosen, _ = QFileDialog.getSaveFileName(self, "Export the codex", suggested, CODEX_FILTERS)
        if not chosen:
            return
        path = Path(chosen)
        text = to_json(self.entries) if path.suffix.lower() == ".json" else to_markdown(self.entries)
        try:
            write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))
        except LongWriterError as exc:
            self._say(str(exc))
            return
        self._say(f"Saved {path}.")

    def _say(self, message: str) -> None:
        self.last_error = message
        self.note.setText(message)
        self.note.setVisible(bool(message))

    def _fill_mentions(self) -> None:
        self.mentions_list.clear()
        entry = self._selected()
        if entry is None:
            self.mentions_label.setText("Mentions (select an entry)")
            return
        count = 0
        for number, text in enumerate(self._texts(), 1):
            for mention in all_mentions(self.entries, text):
                if mention.entry.id != entry.id:
                    continue
                count += 1
                start = max(0, text.rfind("\n", 0, mention.start) + 1, mention.start - 70)
                end = min(len(text), mention.end + 70)
                newline = text.find("\n", mention.end)
                if newline >= 0:
                    end = min(end, newline)
                self.mentions_list.addItem(f"§{number}: …{text[start:end].strip()}…")
        self.mentions_label.setText(f"Mentions of {entry.name}: {count}")

    # -- sections and checks -------------------------------------------------------------------------

    def views(self) -> list:
        """Each section's view of the codex, as the writer will compute it."""
        if self.draft is None:
            return []
        return plan_views(self.entries, [r.section for r in self.draft.rows], self._texts(), self.draft.instruction,
                          budget=self.budget_spin.value(), cjk=has_cjk(self.draft.instruction))

    def section_summaries(self) -> list[str] | None:
        """A line per section of the plan: the entries it will see (None when the project has no codex)."""
        if not self.entries:
            return None
        return [", ".join(view.names) + (f" (+{len(view.left_out)} over budget)" if view.left_out else "")
                or "–" for view in self.views()]

    def _fill_sections(self) -> None:
        views = self.views()
        rows = self.draft.rows if self.draft is not None else []
        self.sections_table.setRowCount(len(views))
        for i, (row, view) in enumerate(zip(rows, views)):
            names = ", ".join(f"{v.entry.name}" + (" (changed)" if v.changes else "") for v in view.entries)
            tip = "\n".join(f"{v.entry.name}: {v.reason}" for v in view.entries)
            if view.left_out:
                names += ("; " if names else "") + "over budget: " + ", ".join(e.name for e in view.left_out)
            self.sections_table.setItem(i, 0, _item(f"{i + 1}. {row.section.title}"))
            self.sections_table.setItem(i, 1, _item(names or "–", tip))
            self.sections_table.setItem(i, 2, _item(f"{view.tokens} / {view.budget}"))
        self.sections_table.resizeRowsToContents()

    def _fill_checks(self) -> None:
        self.issues = []
        self.issues_list.clear()
        if not self.consistency_box.isChecked() or self.draft is None:
            return
        for i, (row, view) in enumerate(zip(self.draft.rows, self.views())):
            if row.status != DONE or not row.text:
                continue
            self.issues += check_section(row.text, i + 1, [v.entry for v in view.entries], self.entries)
        for issue in self.issues:
            item = QListWidgetItem(f"Section {issue.section}: {issue.message}\n“{issue.sentence}”")
            item.setData(Qt.ItemDataRole.UserRole, issue.section - 1)
            font = QFont(item.font())
            item.setFont(font)
            self.issues_list.addItem(item)
        if not self.issues:
            self.issues_list.addItem("No problems found in the finished sections.")

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self._selected() is not None)
        self.export_button.setEnabled(bool(self.entries))
        item = self.issues_list.currentItem()
        self.regenerate_button.setEnabled(item is not None and item.data(Qt.ItemDataRole.UserRole) is not None)

    def _regenerate(self) -> None:
        item = self.issues_list.currentItem()
        if item is None or item.data(Qt.ItemDataRole.UserRole) is None:
            return
        self.regenerateRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
