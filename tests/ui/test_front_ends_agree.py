"""The command line and the window, given the same run, store the same project record: backend, run
settings, plan and texts. Both write on the scripted backend (its text is the test's, the same on any CPU)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from longwriter_desktop import cli
from longwriter_desktop.app import backends
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.settings import Settings
from longwriter_desktop.testing.scripted import ENABLE_ENV, ScriptedBackend, ScriptedCall
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog

PROMPT = "Write a 600-word piece about night trains in Europe."
PLAN = {"sections": [
    {"title": "Leaving at dusk", "main_point": "Boarding a sleeper in Vienna.", "words": 300},
    {"title": "Waking in another country", "main_point": "Breakfast near Venice.", "words": 300},
]}


def _word(k: int) -> str:
    letters = ""
    for _ in range(3):
        k, r = divmod(k, 26)
        letters += "bcdfghjklmnpqrstvwxz"[r % 20] + "aeiou"[r % 5]
    return letters


SUBJECT = ("trains", "night", "Europe", "Vienna", "Venice", "sleeper")


def _sentences(section: int) -> str:
    """297 words in sentences of eleven (the model ends its turn close to the target, so both front ends keep
    all of it), different in each section and never repeated; every other sentence names a word of the
    subject, as a model that keeps to it does."""
    words = [_word(section * 5000 + n * 7) for n in range(297)]
    sentences = []
    for k, i in enumerate(range(0, 297, 11)):
        chunk = words[i:i + 11]
        if k % 2:
            chunk = [*chunk[:-1], SUBJECT[(k // 2) % len(SUBJECT)]]
        sentences.append(" ".join(chunk).capitalize() + ".")
    return " ".join(sentences)


_SECTIONS: dict[str, int] = {}


def _reply(call: ScriptedCall) -> str:
    if call.is_plan:
        return json.dumps(PLAN)
    titles = re.findall(r'(?:Begin with|Go on with) "([^"]+)"', call.prompt_text)
    title = titles[-1] if titles else ""
    section = _SECTIONS.setdefault(title, len(_SECTIONS) + 1)  # the same title gets the same text in both runs
    return _sentences(section)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every backend either front end opens is a scripted one; counts the openings."""
    monkeypatch.setenv(ENABLE_ENV, "1")
    opened: list[int] = []

    def open_scripted(_choice: Any, progress: Any = None) -> ScriptedBackend:
        opened.append(1)
        return ScriptedBackend(_reply, n_ctx=8192)

    monkeypatch.setattr(backends, "open_backend", open_scripted)
    return opened


@pytest.fixture
def default_window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A window on the default settings, as the command line's defaults."""
    make_application([])
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert win.worker.shutdown(10)


def _record(store: ProjectStore, project_id: int) -> dict[str, Any]:
    project = store.get_project(project_id)
    return {
        "title": project.title, "instruction": project.instruction, "target": project.target_words,
        "mode": project.mode, "model": project.model, "backend": project.backend, "settings": project.settings,
        "status": project.status,
        "plan": [(s.title, s.main_point, s.target_words, s.status) for s in store.sections(project_id)],
        "texts": [text for _record, text in store.document_sections(project_id)],
    }


def test_the_cli_and_the_window_store_the_same_project(default_window: MainWindow, qtbot: QtBot,
                                                       scripted: list[int]) -> None:
    assert cli.main(["write", PROMPT, "--quiet"]) == 0

    win = default_window

    def fill_new_project() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, NewProjectDialog)
        qtbot.keyClicks(dialog.instruction, PROMPT)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, fill_new_project)
    win.new_action.trigger()  # the New project form, answered above: a plan job starts
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=60_000)
    assert win.draft is not None and len(win.draft.rows) == 2, win.last_error
    win.write_action.trigger()
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=60_000)
    assert win.last_error is None and win.draft.complete

    with ProjectStore() as store:
        from_cli, from_window = (_record(store, p.id) for p in sorted(store.list_projects(), key=lambda p: p.id))
    assert from_cli["status"] == "done" and len(from_cli["texts"]) == 2
    assert all(len(text.split()) >= 250 for text in from_cli["texts"])
    assert from_window == from_cli
    assert from_cli["settings"]["backend"] == "local" and from_cli["backend"] == "scripted"
