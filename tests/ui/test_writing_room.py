"""The writing room, driven as a person drives it: takes, write more, headings, find/replace, menus.

The real built-in model writes short sections here; the tests assert what every sample satisfies (takes kept,
the chosen take exported, lengths within the length control's bounds), never the model's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.counting import LengthRule
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.ui.draft import DONE, Draft
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.takes_dialog import TakesDialog
from longwriter_desktop.ui.write_more import WriteMoreDialog

count_words = LengthRule().count  # as the app counts an English document (the length score's words)


def wait_job(qtbot: QtBot, win: MainWindow, timeout_s: float = 120) -> None:
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=int(timeout_s * 1000))


@pytest.fixture
def save_dialog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """Answers the export file dialog with the next path a test puts in the list (and records the calls)."""
    answers: list[Path] = []

    def answer(*_args: object, **_kwargs: object) -> tuple[str, str]:
        return str(answers.pop(0)), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    return answers


def when_dialog(kind: type[QWidget], act: Callable[[QWidget], None]) -> None:
    """Act on the next modal dialog of this kind once it is open (a person answering it)."""

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind):
            act(dialog)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def type_target(qtbot: QtBot, win: MainWindow, index: int, words: int) -> None:
    click_outline(qtbot, win, index)
    box = win.inspector.target
    box.selectAll()
    qtbot.keyClicks(box, str(words))
    qtbot.keyClick(box, Qt.Key.Key_Tab)


def click_outline(qtbot: QtBot, win: MainWindow, index: int) -> None:
    table = win.outline.table
    rect = table.visualRect(table.model().index(index, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def export_docx(win: MainWindow, save_dialog: list[Path], path: Path) -> docx.document.Document:
    save_dialog.append(path)
    win.export_action.trigger()
    assert path.is_file(), win.last_error
    return docx.Document(str(path))


def docx_body(document: docx.document.Document) -> str:
    return "\n".join(p.text for p in document.paragraphs if p.style.name not in ("Title", "Heading 1"))


def words_of(text: str) -> str:
    """The letters-only words in order: Markdown marks (lists, emphasis) become Word formatting on export."""
    return " ".join(re.findall(r"[A-Za-z']+", text))


def planned_two_sections(qtbot: QtBot, win: MainWindow) -> Draft:
    win.create_project(Draft("Write a 600-word guide to growing tomatoes on a balcony.", 600), "plan")
    wait_job(qtbot, win, 90)
    draft = win.draft
    assert draft is not None and len(draft.rows) >= 2, win.last_error
    while len(draft.rows) > 2:  # two short sections keep the test quick
        click_outline(qtbot, win, len(draft.rows) - 1)
        qtbot.mouseClick(win.outline.delete_button, Qt.MouseButton.LeftButton)
    type_target(qtbot, win, 0, 60)
    type_target(qtbot, win, 1, 60)
    win.inspector.commit()
    assert [r.section.target_words for r in draft.rows] == [60, 60]
    return draft


def test_regenerate_a_section_choose_a_take_and_export_it(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, save_dialog: list[Path], builtin_gguf: Path
) -> None:
    win = window
    draft = planned_two_sections(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Write
    wait_job(qtbot, win)
    assert draft.complete, win.last_error
    first_take, second_section = draft.rows[0].text, draft.rows[1].text
    assert first_take.strip()

    # Write section 1 again: a new take, the other section untouched.
    click_outline(qtbot, win, 0)
    assert win.regenerate_section_action.isEnabled()
    qtbot.mouseClick(win.inspector.regenerate_button, Qt.MouseButton.LeftButton)
    assert win.worker.busy and win.document.editor.isReadOnly()
    wait_job(qtbot, win)
    assert win.last_error is None
    assert draft.rows[1].text == second_section, "the rest of the document stays"
    assert draft.rows[0].status == DONE and draft.rows[0].text.strip()
    new_take = draft.rows[0].text
    with ProjectStore() as store:
        takes = store.takes(store.section_at(draft.project_id, 0).id)
    assert [t.text for t in takes] == [first_take, new_take] and takes[1].chosen
    assert takes[0].seed != takes[1].seed, "a new take gets a new seed"

    # Compare the two takes side by side and choose the first one again.
    click_outline(qtbot, win, 0)
    win.takes_action.trigger()
    dialog = win.takes_dialog
    assert isinstance(dialog, TakesDialog) and dialog.isVisible()
    assert dialog.left_text.toPlainText() == first_take and dialog.right_text.toPlainText() == new_take
    if first_take != new_take:
        assert dialog.marked["left"] or dialog.marked["right"], "the differing words are marked"
    qtbot.mouseClick(dialog.use_left, Qt.MouseButton.LeftButton)
    assert draft.rows[0].text == first_take
    assert not dialog.use_left.isEnabled() and dialog.use_right.isEnabled()
    dialog.close()
    assert [s.text for s in win.document.content().sections][0] == first_take

    document = export_docx(win, save_dialog, tmp_path / "chosen.docx")
    body = words_of(docx_body(document))
    opening = " ".join(words_of(first_take).split()[:12])
    assert opening in body
    if opening != " ".join(words_of(new_take).split()[:12]):
        assert " ".join(words_of(new_take).split()[:12]) not in body


def test_edit_a_heading_in_the_text_and_find_it_in_the_export(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, save_dialog: list[Path], builtin_gguf: Path
) -> None:
    win = window
    draft = planned_two_sections(qtbot, win)
    win.write_action.trigger()
    wait_job(qtbot, win)
    assert draft.complete, win.last_error
    editor = win.document.editor
    assert "##" not in editor.toPlainText(), "headings show as headings, not Markdown marks"

    # Click on the second heading, select it (a long title wraps, so as a triple-click would) and type over it.
    heading = editor.document().findBlockByNumber(0)
    while heading.isValid() and not (heading.blockFormat().headingLevel() == 2 and
                                     heading.text() == draft.rows[1].section.title):
        heading = heading.next()
    assert heading.isValid()
    cursor = QTextCursor(heading)
    editor.setTextCursor(cursor)
    editor.ensureCursorVisible()
    qtbot.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, pos=editor.cursorRect(cursor).center() +
                     QPoint(2, 0))
    assert editor.textCursor().block() == heading
    selection = QTextCursor(heading)
    selection.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(selection)
    qtbot.keyClicks(editor, "Harvest time, edited")
    qtbot.waitUntil(lambda: draft.rows[1].section.title == "Harvest time, edited", timeout=5000)
    assert win.outline.table.item(1, 0).text() == "Harvest time, edited"

    document = export_docx(win, save_dialog, tmp_path / "edited.docx")
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[1] == "Harvest time, edited"

    # Saved, and the section kept its takes under the new title.
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    with ProjectStore() as store:
        section = store.section_at(draft.project_id, 1)
        assert section.title == "Harvest time, edited" and section.takes >= 1

    # Deleting a heading's text merges its section into the one before, as shown, without an error.
    cursor = QTextCursor(editor.document())
    block = editor.document().findBlockByNumber(0)
    while block.isValid() and block.text() != "Harvest time, edited":
        block = block.next()
    cursor = QTextCursor(block)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    document = export_docx(win, save_dialog, tmp_path / "merged.docx")
    assert win.last_error is None
    # Word headings hold the title with its runs of spaces collapsed (the tiny model's titles may have some).
    assert [" ".join(p.text.split()) for p in document.paragraphs if p.style.name == "Heading 1"] == [
        " ".join(draft.rows[0].section.title.split())]


def test_write_more_words_after_a_finished_document_and_find_replace(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, save_dialog: list[Path], builtin_gguf: Path
) -> None:
    win = window
    win.create_project(Draft("Write a 100-word note about a quiet harbour town.", 100), "direct")
    win.write_action.trigger()
    wait_job(qtbot, win)
    draft = win.draft
    assert draft is not None and draft.complete, win.last_error
    before = count_words(draft.rows[0].text)
    assert win.more_action.isEnabled()

    more = 150

    def answer(dialog: QWidget) -> None:
        assert isinstance(dialog, WriteMoreDialog)
        dialog.words.selectAll()
        qtbot.keyClicks(dialog.words, str(more))
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    when_dialog(WriteMoreDialog, answer)
    win.more_action.trigger()
    assert win.worker.busy
    wait_job(qtbot, win)
    assert win.last_error is None and draft.complete
    added = count_words(draft.rows[0].text) - before
    assert abs(added - more) <= 0.15 * more, f"asked for {more} more words, got {added}"
    assert draft.rows[0].text.startswith(draft.rows[0].text[:50])
    with ProjectStore() as store:
        takes = store.takes(store.section_at(draft.project_id, 0).id)
        assert len(takes) == 2 and takes[1].chosen and takes[1].text == draft.rows[0].text

    # Find and replace across the document: Ctrl+H, then Replace all.
    word = next(w for w in draft.rows[0].text.split() if w.isalpha() and len(w) > 3)
    win.activateWindow()  # the person clicks back into the window after the dialog
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    win.document.editor.setFocus()
    qtbot.keyClick(win.document.editor, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    bar = win.find_bar
    assert bar.isVisible()
    bar.find_text.clear()
    qtbot.keyClicks(bar.find_text, word)
    bar.whole.setChecked(True)
    bar.case.setChecked(True)
    qtbot.keyClicks(bar.replace_text, "ZEBRA")
    qtbot.mouseClick(bar.replace_all_button, Qt.MouseButton.LeftButton)
    assert "replaced" in bar.status.text()
    document = export_docx(win, save_dialog, tmp_path / "replaced.docx")
    body = docx_body(document)
    assert "ZEBRA" in body and word not in body.split()


def test_menus_shortcuts_focus_mode_and_the_window_fits_the_screen(window: MainWindow, qtbot: QtBot) -> None:
    win = window
    menus = [action.text().replace("&", "") for action in win.menuBar().actions()]
    assert menus[:2] == ["File", "Edit"] and "View" in menus and menus[-1] == "Help"
    screen = win.screen().availableGeometry()
    assert screen.contains(win.frameGeometry()), "the window fits the screen it opens on"
    assert win.minimumSizeHint().width() <= 1366 and win.minimumSizeHint().height() <= 700

    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert win.focus_mode and not win.side.isVisible() and not win.menuBar().isVisible()
    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert not win.focus_mode and win.side.isVisible()

    qtbot.keyClick(win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not win.isVisible(), "Ctrl+Q quits"
