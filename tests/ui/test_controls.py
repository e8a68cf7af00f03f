"""Issue 13, items 6-9 and the window's side of item 2: every control driven as a person drives it (the
shortcut, the toolbar button, the menu, the dialog's keys), file dialogs answered by a fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import docx
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton, QToolBar
from pytestqt.qtbot import QtBot

from longwriter_desktop import paths
from longwriter_desktop.engine.plan import Section
from longwriter_desktop.engine.words import count_words
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog

MORNING = "The stalls open at dawn.\n\nFish, bread and flowers fill the square."
EVENING = "The lamps go out one by one."


@pytest.fixture
def market_project() -> int:
    """A finished two-section project in the store, made before the window opens."""
    with ProjectStore() as store:
        project = store.create_project("Market day", "Write about a market day.", target_words=200, mode="plan")
        sections = store.update_plan(project.id, [Section("Morning", "The market opens.", 100),
                                                  Section("Evening", "The market closes.", 100)])
        for section, text in zip(sections, (MORNING, EVENING)):
            store.finish_take(store.start_take(section.id).id, text=text)
        store.update_project(project.id, status="done")
        return project.id


@pytest.fixture
def save_dialog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Answers the export dialog with tmp_path/export.docx; records the name it suggested."""
    asked: list[str] = []

    def answer(_parent: object, _caption: str, suggested: str, _filters: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(tmp_path / "export.docx"), "Word document (*.docx)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    return asked


def _focus(qtbot: QtBot, win: MainWindow) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)


def _press(qtbot: QtBot, win: MainWindow, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    _focus(qtbot, win)
    qtbot.keyClick(QApplication.focusWidget() or win, key, modifiers)


def _open_project(qtbot: QtBot, win: MainWindow, title: str) -> None:
    row = next(i for i, d in enumerate(win.drafts) if d.title == title)
    item = win.project_list.item(row)
    qtbot.mouseClick(win.project_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=win.project_list.visualItemRect(item).center())
    assert win.draft is win.drafts[row]


def _docx_headings(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs if p.style.name == "Heading 1"]


def test_export_by_shortcut_and_toolbar_opens_the_dialog_and_writes_docx(
    market_project: int, window: MainWindow, qtbot: QtBot, save_dialog: list[str], tmp_path: Path
) -> None:
    win = window
    _open_project(qtbot, win, "Market day")
    _press(qtbot, win, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert save_dialog and save_dialog[0].endswith("Market day.docx"), "the file dialog never opened"
    assert win.last_error is None, win.last_error
    assert _docx_headings(tmp_path / "export.docx") == ["Morning", "Evening"]
    (tmp_path / "export.docx").unlink()
    toolbar_button = win.findChild(QToolBar, "main-toolbar").widgetForAction(win.export_action)
    qtbot.mouseClick(toolbar_button, Qt.MouseButton.LeftButton)
    assert len(save_dialog) == 2 and (tmp_path / "export.docx").is_file()
    assert "Exported to" in win.statusBar().currentMessage()


def _select_in_editor(qtbot: QtBot, win: MainWindow, text: str) -> None:
    editor = win.output_pane.editor
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    assert editor.find(text), text
    editor.setFocus()


def test_an_edited_heading_is_kept_and_a_deleted_one_loses_no_text(
    market_project: int, window: MainWindow, qtbot: QtBot
) -> None:
    win = window
    _open_project(qtbot, win, "Market day")
    _focus(qtbot, win)
    _select_in_editor(qtbot, win, "Evening")
    qtbot.keyClicks(win.output_pane.editor, "Night")
    _press(qtbot, win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert win.last_error is None, win.last_error
    with ProjectStore(daily_backup=False) as store:
        sections = store.sections(market_project)
        assert [s.title for s in sections] == ["Morning", "Night"]
        assert store.document_text(market_project) == MORNING + "\n\n" + EVENING
        assert sections[1].takes == 1, "a renamed section keeps its take"

    _select_in_editor(qtbot, win, "## Night")
    qtbot.keyClick(win.output_pane.editor, Qt.Key.Key_Delete)  # the heading's text
    qtbot.keyClick(win.output_pane.editor, Qt.Key.Key_Delete)  # and its line
    _press(qtbot, win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert win.last_error is None, win.last_error
    with ProjectStore(daily_backup=False) as store:
        text = store.document_text(market_project)
    assert MORNING in text and EVENING in text, "deleting a heading line lost text"


def _new_project_by_keyboard(qtbot: QtBot, win: MainWindow, instruction: str, mode: str) -> None:
    """Ctrl+N, type the instruction, choose the mode, Ctrl+Return (the dialog is modal: answered from a timer)."""
    answered: list[bool] = []

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, NewProjectDialog):
            QTimer.singleShot(20, fill)
            return
        dialog.activateWindow()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
        qtbot.keyClicks(dialog.instruction, instruction)
        dialog.mode.setCurrentIndex(dialog.mode.findData(mode))
        qtbot.keyClick(dialog.instruction, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        answered.append(dialog.result() == NewProjectDialog.DialogCode.Accepted)

    QTimer.singleShot(0, fill)
    _press(qtbot, win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert answered == [True], "Ctrl+Return did not create the project"
    assert win.draft is not None and win.draft.instruction == instruction


def _figures(win: MainWindow) -> tuple[str, str, str, str]:
    pane = win.progress_pane
    return pane.speed.text(), pane.elapsed.text(), pane.remaining.text(), pane.context.format()


def test_the_status_follows_the_project_and_the_run(market_project: int, window: MainWindow, qtbot: QtBot) -> None:
    win = window
    assert "Choose a project" in win.progress_pane.state.text(), "says 'No project yet' beside a project"

    _new_project_by_keyboard(qtbot, win, "Write a 120-word note about rain on a tin roof.", "direct")
    draft = win.draft
    assert draft is not None
    _press(qtbot, win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Write
    assert win.worker.busy
    row = win.drafts.index(draft)
    qtbot.waitUntil(lambda: count_words(draft.rows[0].text) >= 5 or not win.worker.busy, timeout=120_000)
    if win.worker.busy:
        assert win.project_list.item(row).text().endswith("(writing)")
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=180_000)
    assert win.last_error is None, win.last_error

    # One count of words everywhere: the bar, the text pane's count, the section table.
    words = sum(count_words(r.text) for r in draft.rows)
    assert win.progress_pane.overall.format().startswith(f"{words:,} of ")
    assert win.output_pane.word_count.text() == f"{words:,} words"
    assert win.progress_pane.sections.item(0, 2).text().startswith(f"{words:,} / ")
    assert win.project_list.item(row).text().endswith("(done)")
    assert win.progress_pane.speed.text() != "–"

    # Another project shows none of this run's figures.
    _open_project(qtbot, win, "Market day")
    speed, elapsed, remaining, context = _figures(win)
    assert (speed, elapsed, remaining) == ("–", "–", "–")
    assert context.startswith("0 of") or context == "–"


def test_planning_shows_that_work_goes_on(window: MainWindow, qtbot: QtBot) -> None:
    win = window
    _new_project_by_keyboard(qtbot, win, "Write a 900-word guide to keeping bees in a city garden.", "plan")
    assert win.worker.busy
    assert win.progress_pane.overall.maximum() == 0, "the bar does not move while the plan is made"
    states: set[str] = set()
    elapsed: set[str] = set()

    def watched() -> bool:
        states.add(win.progress_pane.state.text())
        elapsed.add(win.progress_pane.elapsed.text())
        return len(elapsed) >= 3 or not win.worker.busy

    qtbot.waitUntil(watched, timeout=60_000)
    assert len(elapsed) >= 3 or win.draft.rows, "the elapsed time froze while planning"
    assert any("s)" in state for state in states), states
    _press(qtbot, win, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)  # Stop
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=60_000)
    assert win.progress_pane.overall.maximum() != 0


def test_a_menu_bar_with_quit_on_ctrl_q(window: MainWindow, qtbot: QtBot) -> None:
    win = window
    titles = [action.text() for action in win.menuBar().actions()]
    assert titles[:2] == ["&File", "&Writing"] and "&Help" in titles
    file_menu = win.menuBar().actions()[0].menu()
    assert win.quit_action in file_menu.actions() and win.export_action in file_menu.actions()
    assert win.quit_action.shortcut().toString() == "Ctrl+Q"
    _press(qtbot, win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=10_000)


def test_the_first_run_window_fits_a_1366_by_768_screen(window: MainWindow, qtbot: QtBot) -> None:
    win = window
    hint = win.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 48, hint  # minus a panel and the title bar
    room = win.screen().availableGeometry()
    assert win.width() <= max(room.width(), hint.width()) and win.height() <= max(room.height(), hint.height())
    win.resize(1366, 768 - 48)
    qtbot.waitUntil(lambda: win.height() == 768 - 48, timeout=5000)
    button = win.new_button
    bottom = button.mapTo(win, QPoint(0, button.height())).y()
    assert button.isVisible() and bottom <= win.height(), "New project is off the window"


def _find_button(box: QMessageBox, text: str) -> QPushButton:
    return next(b for b in box.findChildren(QPushButton) if b.text() == text)


@pytest.fixture
def emptied_database_window(qtbot: QtBot, market_project: int) -> Iterator[Callable[[], MainWindow]]:
    with ProjectStore() as store:
        store.backup()
    db = paths.projects_db()
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    db.write_bytes(b"")
    made: list[MainWindow] = []

    def make() -> MainWindow:
        make_application([])
        win = MainWindow(Settings(n_ctx=2048))
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()
        assert win.worker.shutdown(10)


def test_the_window_offers_the_newest_backup_of_an_emptied_database(
    emptied_database_window: Callable[[], MainWindow], qtbot: QtBot
) -> None:
    win = emptied_database_window()
    qtbot.waitUntil(lambda: win.findChild(QMessageBox, "damaged-database") is not None, timeout=5000)
    box = win.findChild(QMessageBox, "damaged-database")
    assert "empty" in box.text() and "Restore" in box.text()
    assert win.drafts == []
    qtbot.mouseClick(_find_button(box, "Restore the backup"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(win.drafts), timeout=5000)
    assert [d.title for d in win.drafts] == ["Market day"] and win.store is not None
    db = paths.projects_db()
    assert [p for p in db.parent.iterdir() if ".damaged-" in p.name], "the emptied file must be kept"


def test_an_impossible_length_in_the_instruction_is_named_not_replaced(qtbot: QtBot) -> None:
    """Item 13 in the window: "0-word" is not silently 1,000 words."""
    make_application([])
    dialog = NewProjectDialog([], None)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.instruction, "Write a 0-word story about a cat.")
    assert "asks for 0 words" in dialog.words_hint.text()
    assert dialog.words.value() == dialog.words.minimum()
    dialog.instruction.clear()
    qtbot.keyClicks(dialog.instruction, "Write a 999999999-word story about a cat.")
    assert "asks for 999,999,999 words" in dialog.words_hint.text()
    assert dialog.words.value() == dialog.words.maximum()
