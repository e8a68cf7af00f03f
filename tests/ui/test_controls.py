"""Issue 13 in the window, driven as a person drives it: an emptied database offers its newest backup (item 2),
Ctrl+Return creates a project from the New project dialog (item 9).
Export, Quit, the menus, headings and status belong to the writing-room window (its own tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from longwriter_desktop import paths
from longwriter_desktop.engine.plan import Section
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


def _focus(qtbot: QtBot, win: MainWindow) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)


def _press(qtbot: QtBot, win: MainWindow, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> None:
    _focus(qtbot, win)
    qtbot.keyClick(QApplication.focusWidget() or win, key, modifiers)


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


def test_ctrl_return_creates_the_project_from_the_dialog(window: MainWindow, qtbot: QtBot) -> None:
    _new_project_by_keyboard(qtbot, window, "Write a 300-word note about rain on a tin roof.", "direct")
    assert [d.instruction for d in window.drafts] == ["Write a 300-word note about rain on a tin roof."]
