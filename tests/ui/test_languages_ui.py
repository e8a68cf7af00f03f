"""The window counts as readers of the document's language count: characters for Japanese, words for Russian,
in the new-project dialog, the plan table, the progress figures and the text's own count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.counting import Unit, count
from longwriter_desktop.engine.writer import DocumentWriter, WriteRequest
from longwriter_desktop.projects.recorder import ProjectRecorder
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.settings import Settings
from longwriter_desktop.testing.prose import ProseModel
from longwriter_desktop.testing.scripted import ScriptedBackend
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog

JAPANESE = "冬の町についての1600字の短編小説を書いてください。"


@pytest.fixture
def japanese_project() -> int:
    """A Japanese story written by a scripted model into the real project store, before the window opens."""
    backend = ScriptedBackend(ProseModel("ja", seed=2), n_ctx=32768)
    writer = DocumentWriter(backend, WriteRequest(JAPANESE, mode="plan", sampling=Sampling(seed=1)))
    with ProjectStore() as store:
        project = store.create_project(writer.title, JAPANESE, target_words=writer.target_words, mode="plan")
        with ProjectRecorder(store, project.id) as recorder:
            for event in writer.run():
                recorder.handle(event)
        return project.id


@pytest.fixture
def opened(qtbot: QtBot, japanese_project: int) -> Iterator[MainWindow]:
    make_application([])
    win = MainWindow(Settings(n_ctx=2048))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert win.worker.shutdown(10)


def test_a_japanese_project_is_counted_in_characters(opened: MainWindow, qtbot: QtBot) -> None:
    win = opened
    item = win.project_list.item(0)
    rect = win.project_list.visualItemRect(item)
    qtbot.mouseClick(win.project_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    draft = win.draft
    assert draft is not None and draft.instruction == JAPANESE and draft.rows
    characters = sum(count(r.text, Unit.CHARACTERS) for r in draft.rows)
    assert abs(characters - 1600) <= 160
    assert win.outline.table.horizontalHeaderItem(win.outline.WORDS).text() == "Characters"
    assert win.strip.progress.format().endswith("characters")
    assert win.document.words() == characters
    first = draft.rows[0]
    shown = win.outline.table.item(0, win.outline.WORDS).text()
    assert shown == f"{count(first.text, Unit.CHARACTERS):,} / {first.section.target_words:,}"


def _type_through_input_method(widget: QWidget, text: str) -> None:
    """Commit text as an input method does (how Japanese and Russian are typed; QTest's key clicks are
    for Latin-1 keys)."""
    widget.setFocus()
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget.focusProxy() or widget, event)


def test_the_new_project_dialog_reads_length_and_unit(opened: MainWindow, qtbot: QtBot) -> None:
    dialog = NewProjectDialog(opened.refresh_models(), None, opened)
    qtbot.addWidget(dialog)
    dialog.show()
    _type_through_input_method(dialog.instruction, JAPANESE)
    assert dialog.words.value() == 1600 and dialog.words.suffix() == " characters"
    assert "1,600 characters" in dialog.words_hint.text()
    dialog.instruction.clear()
    _type_through_input_method(dialog.instruction, "Напишите статью не менее 1 500 слов о Байкале.")
    assert dialog.words.suffix() == " words"
    assert dialog.words.value() == 1575  # a little past "at least 1,500", so the document lands above it
    assert 'at least 1,500 words (from "не менее 1 500 слов")' in dialog.words_hint.text()
    dialog.close()
