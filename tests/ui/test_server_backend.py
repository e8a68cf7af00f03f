"""The window writes through a real OpenAI-compatible server (`python -m llama_cpp.server` with the built-in
model), set up on the Servers page of the model manager and chosen in the New project form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from longwriter_desktop.app import keys
from longwriter_desktop.app.servers import load_servers
from longwriter_desktop.engine.counting import LengthRule
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.model_manager import SERVERS_TAB, ModelManagerDialog
from longwriter_desktop.ui.new_project import NewProjectDialog
from tests.llama_servers import LlamaServer, free_port
from tests.ui.test_flow import set_target

count_words = LengthRule().count  # as the app counts an English document (the length score's words)

INSTRUCTION = "Write a 500-word report on city trams."


def answer_modal(qtbot: QtBot, kind: type[QWidget], steps: Callable[[QWidget], None]) -> None:
    """Run ``steps`` on the modal dialog of ``kind`` once it is open (then it closes itself)."""

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind):
            QTimer.singleShot(50, run)
            return
        steps(dialog)

    QTimer.singleShot(0, run)


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def choose(qtbot: QtBot, combo: QWidget, index: int) -> None:
    """Pick an entry of a drop-down with the keyboard, as a person can: Home, then Down."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(index):
        qtbot.keyClick(combo, Qt.Key.Key_Down)


def add_server(win: MainWindow, qtbot: QtBot, name: str, url: str, ctx: int = 0) -> list[str]:
    """Open the model manager, fill the Servers page, test the connection, save; the answers shown."""
    answers: list[str] = []

    def steps(dialog: QWidget) -> None:
        assert isinstance(dialog, ModelManagerDialog)
        try:
            bar = dialog.tabs.tabBar()
            qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(SERVERS_TAB).center())
            assert dialog.tabs.currentIndex() == SERVERS_TAB
            page = dialog.servers_page
            qtbot.keyClicks(page.name, name)
            qtbot.keyClicks(page.url, url)
            if ctx:
                qtbot.keyClick(page.ctx, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
                qtbot.keyClicks(page.ctx, str(ctx))
                assert page.ctx.value() == ctx
            click(qtbot, page.test_button)
            qtbot.waitUntil(lambda: not page.testing, timeout=60_000)
            answers.append(page.answer.text())
            click(qtbot, page.save_button)
            answers.append(page.answer.text())
        finally:
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close).click()

    answer_modal(qtbot, ModelManagerDialog, steps)
    win.models_action.trigger()
    return answers


@pytest.mark.timeout(400)  # the server's start, a plan and two short sections, on a busy 2-core machine
def test_a_project_is_planned_and_written_through_a_server(window: MainWindow, qtbot: QtBot,
                                                           llama_server: LlamaServer) -> None:
    win = window
    url = f"{llama_server.url}/v1"
    # llama-cpp-python's server does not report its context size: the form says it.
    tested, saved = add_server(win, qtbot, "Local test server", url, ctx=8192)
    assert tested.startswith("Connected: model ") and "context 8,192 tokens" in tested, tested
    assert "Saved" in saved and [s.base_url for s in load_servers()] == [url]

    def new_project(dialog: QWidget) -> None:
        assert isinstance(dialog, NewProjectDialog)
        qtbot.keyClicks(dialog.instruction, INSTRUCTION)
        choose(qtbot, dialog.mode, dialog.mode.findData("plan"))
        choose(qtbot, dialog.model, dialog.model.findText("Server: Local test server", Qt.MatchFlag.MatchStartsWith))
        assert dialog.mode.currentData() == "plan"
        assert dialog.model.currentText().startswith("Server: Local test server")
        click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))

    answer_modal(qtbot, NewProjectDialog, new_project)
    win.new_action.trigger()
    assert win.progress_pane.destination.text() == f"the server at {url}"
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=120_000)
    draft = win.draft
    assert draft is not None and len(draft.rows) >= 2, win.last_error
    assert win.loaded_model is not None and url in win.loaded_model.device
    for index in range(len(draft.rows)):  # a short run: edit the targets as a person would
        set_target(qtbot, win, index, 60)

    win.write_action.trigger()
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=180_000)
    assert win.last_error is None and draft.complete, win.last_error
    # What every sample satisfies (through a server the end of text cannot be banned, so a section may end
    # short): each section has text, and one that ended under 85% of its 60 words says so in the window.
    words = [count_words(row.text) for row in draft.rows]
    assert all(words), words
    for index, count in enumerate(words):
        if count < 0.85 * 60:
            assert any(w.startswith(f"Section {index + 1} ended at") for w in win.warnings), (words, win.warnings)

    with ProjectStore() as store:
        project = store.get_project(draft.project_id)
        assert (project.backend, project.status) == ("openai", "done")
        assert project.settings["backend"] == "openai" and project.settings["base_url"] == url
        assert project.settings["ctx"] == 8192 and project.settings["temperature"] == 0.7
        stored = [text for _section, text in store.document_sections(project.id)]
    # The store keeps each section's final text, the window what streamed in (the writer may trim the end).
    assert len(stored) == len(draft.rows) and all(count_words(text) > 0 for text in stored)
    for text, row in zip(stored, draft.rows):
        assert " ".join(text.split())[:100] == " ".join(row.text.split())[:100]


def test_test_connection_answers_plainly_when_no_server_is_there(window: MainWindow, qtbot: QtBot) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    tested, _saved = add_server(window, qtbot, "Nobody", url)
    assert tested == f"No server answers at {url} — is it running?"
    assert "Traceback" not in tested


def test_the_keyring_choice_says_why_it_is_missing(window: MainWindow, qtbot: QtBot) -> None:
    dialog = ModelManagerDialog(window.settings, window)
    qtbot.addWidget(dialog)
    page = dialog.servers_page
    problem = keys.keyring_status()
    keyring_item = page.key_source.model().item(2)
    if problem is None:  # a desktop with a keyring service
        assert keyring_item.isEnabled() and not page.keyring_note.isVisibleTo(page)
    else:  # a bare Linux (CI): said in one sentence, and the environment variable is offered instead
        assert not keyring_item.isEnabled()
        assert page.keyring_note.text() == problem and "environment variable" in problem
