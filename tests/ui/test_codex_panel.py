"""The story bible in the window, driven as a person does: open it with Ctrl+B, click entries and tabs, type in
the editor, save with the button or Ctrl+Shift+S, tick the consistency check, regenerate a flagged section
(on the real built-in model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QTabWidget
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.codex import Change, Entry, load_codex
from longwriter_desktop.engine.plan import Section
from longwriter_desktop.projects.codex_store import CodexStore
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow

TEXTS = [
    "Mara Voss woke before dawn and walked the deck.",
    "The week at sea was calm and long.",
    "A storm came. Then Marra shouted at the crew, and Mara held the wheel.",
    "They waited for the sail to be mended.",
    "A rope burned across her palm.",
    "They came home in the rain.",
]
SECTIONS = [("Departure", "The ship leaves port."), ("Open sea", "A calm week."), ("The storm", "A storm."),
            ("Landfall", "They shelter at Brightwater."), ("The wound", "An accident on deck."),
            ("Home", "The voyage ends.")]


@pytest.fixture
def seeded(longwriter_home: Path) -> int:
    with ProjectStore() as store:
        project = store.create_project("Sea story", "Write a short sea story in six parts.", target_words=240,
                                       mode="plan")
        store.update_plan(project.id, [Section(t, p, 40) for t, p in SECTIONS])
        for record, text in zip(store.sections(project.id), TEXTS):
            take = store.start_take(record.id)
            store.finish_take(take.id, text=text)
        codex = CodexStore(store)
        codex.add(project.id, Entry("Mara Voss", "character", ("Mara",), "Grey-eyed captain.", mode="always",
                                    changes=(Change(5, "Has a scar on her left hand."),)))
        codex.add(project.id, Entry("Brightwater", "place", (), "A harbour town."))
        return project.id


@pytest.fixture
def win(qtbot: QtBot, seeded: int) -> Iterator[MainWindow]:
    make_application([])
    window = MainWindow(Settings(n_ctx=2048, temperature=0.7))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    assert window.worker.shutdown(10), "the model thread did not stop"


@pytest.fixture
def file_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answers the next file dialogs with the paths the test puts in this list ("" = Cancel)."""
    answers: list[str] = []

    def answer(*_args: object) -> tuple[str, str]:
        return (answers.pop(0) if answers else "", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(answer))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    return answers


def click_row(qtbot: QtBot, view: QAbstractItemView, row: int, column: int = 0) -> None:
    rect = view.visualRect(view.model().index(row, column))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def click_tab(qtbot: QtBot, tabs: QTabWidget, name: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == name)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def cell(table: object, row: int, column: int) -> str:
    item = table.item(row, column)  # type: ignore[attr-defined]
    return item.text() if item is not None else ""


def test_entries_mentions_sections_and_checks(win: MainWindow, qtbot: QtBot, seeded: int,
                                              builtin_gguf: Path) -> None:
    panel = win.codex_panel
    click_row(qtbot, win.project_list, 0)
    assert win.draft is not None and win.draft.project_id == seeded
    assert not win.codex_dock.isVisible()
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(win.codex_dock.isVisible)

    # The entry list, with where each entry is mentioned.
    assert [cell(panel.table, r, 0) for r in range(panel.table.rowCount())] == ["Mara Voss", "Brightwater"]
    assert cell(panel.table, 0, 2) == "Always" and cell(panel.table, 1, 2) == "When mentioned"
    assert cell(panel.table, 0, 3) == "§1, §3" and cell(panel.table, 1, 3) == "–"
    click_row(qtbot, panel.table, 0)
    assert panel.name_edit.text() == "Mara Voss"
    assert panel.changes_edit.toPlainText() == "5: Has a scar on her left hand."
    assert panel.mentions_label.text() == "Mentions of Mara Voss: 2"
    assert panel.mentions_list.item(1).text().startswith("§3: …")

    # Mentions are marked in the text view.
    document = win.document.editor.document()
    block = document.findBlock(document.toPlainText().index("Mara Voss woke"))
    marks = [(f.start, f.length) for f in block.layout().formats() if f.format.fontUnderline()]
    assert marks == [(0, len("Mara Voss"))]

    # A new entry, typed in the editor and added with the button.
    qtbot.mouseClick(panel.new_button, Qt.MouseButton.LeftButton)
    assert panel.name_edit.text() == "" and panel.save_button.text() == "Add entry"
    qtbot.keyClicks(panel.name_edit, "Rope")
    panel.kind_combo.setFocus()
    qtbot.keyClicks(panel.kind_combo, "Object")
    assert panel.kind_combo.currentData() == "object"
    qtbot.keyClicks(panel.aliases_edit, "the line, hawser")
    qtbot.keyClicks(panel.description_edit, "Tarred hemp, sixty feet.")
    qtbot.keyClicks(panel.notes_edit, "Private: it will break later.")
    qtbot.keyClicks(panel.changes_edit, "6: frayed at one end")
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert panel.last_error == ""
    assert [cell(panel.table, r, 0) for r in range(panel.table.rowCount())] == ["Mara Voss", "Brightwater", "Rope"]
    stored = CodexStore(win.store).get(seeded, "hawser")  # type: ignore[arg-type]
    assert (stored.kind, stored.aliases, stored.notes) == ("object", ("the line", "hawser"),
                                                           "Private: it will break later.")
    assert stored.changes == (Change(6, "frayed at one end"),)
    assert cell(panel.table, 2, 3) == "§5"  # "A rope burned across her palm."
    marks = [f for b in (document.findBlock(document.toPlainText().index("A rope burned")),)
             for f in b.layout().formats() if f.format.fontUnderline()]
    assert len(marks) == 1 and marks[0].format.toolTip() == "Rope"

    # What each section will see, within the budget.
    click_tab(qtbot, panel.tabs, "By section")
    sees = [cell(panel.sections_table, r, 1) for r in range(6)]
    assert sees[0] == "Mara Voss"
    assert sees[3].startswith("Mara Voss, Brightwater")  # named in section 4's main point
    assert sees[4] == "Mara Voss (changed)"  # the change from section 5
    assert sees[5] == "Mara Voss (changed), Rope (changed)"  # the end of section 5 names the rope
    budget = cell(panel.sections_table, 3, 2)
    used, total = (int(x) for x in budget.split(" / "))
    assert 0 < used <= total == 600

    # The plan's outline says the same, and follows an edit of a main point typed into the table.
    table = win.outline.table
    codex = win.outline.CODEX_COLUMN
    assert not table.isColumnHidden(codex)
    assert cell(table, 3, codex) == "Mara Voss, Brightwater" and cell(table, 1, codex) == "Mara Voss"
    click_row(qtbot, table, 1, 0)
    editor = win.inspector.point
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "A calm week, then a letter from Brightwater.")
    qtbot.waitUntil(lambda: cell(table, 1, codex) == "Mara Voss, Brightwater", timeout=5000)
    assert win.draft.rows[1].section.main_point == "A calm week, then a letter from Brightwater."
    assert cell(panel.sections_table, 1, 1) == "Mara Voss, Brightwater"

    # Edit an entry: Brightwater is never shown; saved with Ctrl+Shift+S.
    click_tab(qtbot, panel.tabs, "Entries")
    click_row(qtbot, panel.table, 1)
    panel.mode_combo.setFocus()
    qtbot.keyClicks(panel.mode_combo, "Never")
    assert panel.mode_combo.currentData() == "never"
    qtbot.keyClick(panel.mode_combo, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert CodexStore(win.store).get(seeded, "Brightwater").mode == "never"  # type: ignore[arg-type]
    click_tab(qtbot, panel.tabs, "By section")
    assert cell(panel.sections_table, 3, 1) == "Mara Voss"

    # Remove an entry with its button.
    click_tab(qtbot, panel.tabs, "Entries")
    click_row(qtbot, panel.table, 2)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [cell(panel.table, r, 0) for r in range(panel.table.rowCount())] == ["Mara Voss", "Brightwater"]

    # The consistency check flags the misspelt name with its sentence; regenerate that section.
    click_tab(qtbot, panel.tabs, "Checks")
    box = panel.consistency_box
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert panel.consistency_box.isChecked()
    assert panel.issues_list.count() == 1
    issue = panel.issues_list.item(0).text()
    assert issue.startswith("Section 3: 'Marra' looks like a misspelling of 'Mara'")
    assert "“Then Marra shouted at the crew, and Mara held the wheel.”" in issue
    assert not panel.regenerate_button.isEnabled()
    click_row(qtbot, panel.issues_list, 0)
    assert panel.regenerate_button.isEnabled()
    qtbot.mouseClick(panel.regenerate_button, Qt.MouseButton.LeftButton)
    assert win.worker.busy
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=120_000)
    assert win.last_error is None
    draft = win.draft
    assert draft is not None and draft.complete
    assert draft.rows[2].text and draft.rows[2].text != TEXTS[2]
    assert [r.text for i, r in enumerate(draft.rows) if i != 2] == [t for i, t in enumerate(TEXTS) if i != 2]
    assert [s.text for s in win.document.content().sections] == [r.text for r in draft.rows]
    with ProjectStore() as store:  # the old take is kept, the new one chosen
        section = store.sections(seeded)[2]
        takes = store.takes(section.id)
        assert [t.text for t in takes][0] == TEXTS[2] and len(takes) == 2 and takes[1].chosen


def test_import_and_export_a_codex_file(win: MainWindow, qtbot: QtBot, seeded: int, tmp_path: Path,
                                        file_dialogs: list[str]) -> None:
    panel = win.codex_panel
    click_row(qtbot, win.project_list, 0)
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(win.codex_dock.isVisible)
    source = tmp_path / "more.md"
    source.write_text("## Heron\nkind: object\nmode: always\nA schooner.\n\n## Brightwater\nkind: place\n"
                      "A fishing village.\n", encoding="utf-8")
    file_dialogs.append(str(source))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert panel.last_error == ""
    assert [cell(panel.table, r, 0) for r in range(panel.table.rowCount())] == ["Mara Voss", "Brightwater", "Heron"]
    assert CodexStore(win.store).get(seeded, "Brightwater").description == "A fishing village."  # type: ignore[arg-type]
    assert cell(win.outline.table, 0, win.outline.CODEX_COLUMN) == "Mara Voss, Heron"

    target = tmp_path / "sea codex.json"
    file_dialogs.append(str(target))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    assert panel.last_error == f"Saved {target}."
    assert [e.name for e in load_codex(target)] == ["Mara Voss", "Brightwater", "Heron"]
    bad = tmp_path / "bad.md"
    bad.write_text("## X\nkind: dragon\n", encoding="utf-8")
    file_dialogs.append(str(bad))
    qtbot.mouseClick(panel.import_button, Qt.MouseButton.LeftButton)
    assert panel.last_error.startswith("Unknown kind 'dragon'") and panel.note.isVisible()
    assert panel.table.rowCount() == 3
