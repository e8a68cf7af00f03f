"""The whole writing flow on the real built-in model: plan, edit, write, stop, resume, finish, export."""

from __future__ import annotations

import time
from pathlib import Path

import docx
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.counting import LengthRule
from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.draft import DONE, INTERRUPTED, Draft
from longwriter_desktop.ui.main_window import MainWindow

count_words = LengthRule().count  # as the app counts an English document (the length score's words)

INSTRUCTION = "Write a 500-word article about keeping bees in a small city garden."


def wait_job(qtbot: QtBot, win: MainWindow, timeout_s: float) -> None:
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=int(timeout_s * 1000))


def set_target(qtbot: QtBot, win: MainWindow, index: int, words: int) -> None:
    """Select a section in the outline and type its target into the inspector."""
    win.outline.table.setCurrentCell(index, 0)
    box = win.inspector.target
    box.selectAll()
    qtbot.keyClicks(box, str(words))
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    win.inspector.commit()


def shown_texts(win: MainWindow) -> list[str]:
    """Each section's text as the document view shows it."""
    content = win.document.content()
    if win.draft is not None and not win.draft.headings:
        return [content.lead]
    return [s.text for s in content.sections]


def end_of_text(win: MainWindow) -> None:
    """Put the text cursor at the end of the document, as Ctrl+End does."""
    win.document.editor.setFocus()
    cursor = win.document.editor.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    win.document.editor.setTextCursor(cursor)


def test_plan_edit_write_stop_resume_export(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, builtin_gguf: Path
) -> None:
    win = window
    assert win.banner.isVisibleTo(win), "first run on the built-in model shows the note about better models"
    assert not win.write_action.isEnabled()

    win.create_project(Draft(INSTRUCTION, 500), "plan")
    assert win.worker.busy and win.stop_action.isEnabled() and not win.new_action.isEnabled()
    wait_job(qtbot, win, 90)
    draft = win.draft
    assert draft is not None and len(draft.rows) == 2, win.last_error
    assert win.loaded_model is not None and win.loaded_model.device == "CPU"
    assert win.outline.table.rowCount() == 2
    assert win.write_action.isEnabled() and win.write_action.text() == "Write"
    assert not win.export_action.isEnabled()

    # Edit the targets in the inspector, as a user would, to keep the run short.
    set_target(qtbot, win, 0, 150)
    set_target(qtbot, win, 1, 120)
    assert [r.section.target_words for r in draft.rows] == [150, 120]
    assert "of 270 words planned" in win.outline.total_label.text()
    # After the first job the worker measures the model's speed here (a few seconds); the outline then says
    # how long the plan will take to write.
    qtbot.waitUntil(lambda: "About " in win.outline.total_label.text(), timeout=120_000)  # slower when busy
    assert "for 270 words" in win.outline.total_label.text()

    win.write_action.trigger()
    assert win.document.editor.isReadOnly()
    qtbot.waitUntil(lambda: count_words(draft.rows[0].text) >= 40, timeout=90_000)
    win.stop_action.trigger()
    wait_job(qtbot, win, 30)
    assert draft.resumable and not draft.complete
    assert draft.rows[0].status == INTERRUPTED
    assert win.write_action.text() == "Resume"
    assert not win.document.editor.isReadOnly()
    assert shown_texts(win) == [r.text for r in draft.rows[: draft.shown_sections()]]
    stopped_text = draft.rows[0].text

    resumed: list[tuple[int, int]] = []
    win.worker.sectionStarted.connect(lambda index, _title, _target, words: resumed.append((index, words)))
    win.write_action.trigger()  # resume
    wait_job(qtbot, win, 120)
    assert win.last_error is None
    assert draft.complete and all(r.status == DONE for r in draft.rows)
    assert resumed[0][0] == 0 and resumed[0][1] >= 40, "the resumed section went on from its text"
    if not any("loop was cut" in w for w in win.warnings):  # a cut may reach back into the resumed text
        assert draft.rows[0].text.startswith(stopped_text.rstrip()[:200])
    assert win.last_done is not None
    assert shown_texts(win) == [r.text for r in draft.rows]
    assert win.export_action.isEnabled() and win.write_action.text() == "Write"
    # Never more view updates than tokens (on a busy machine a token may take longer than a flush; the
    # batching itself is tested without a model in test_parts).
    assert win.worker.text_signals <= win.worker.deltas_received

    path = win.export(tmp_path / "bees.docx")
    assert path is not None and path.is_file()
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [" ".join(r.section.title.split()) for r in draft.rows]
    body = " ".join(p.text for p in document.paragraphs if p.style.name not in ("Heading 1", "Title"))
    assert count_words(body) >= 150


def test_closing_mid_run_stops_the_worker(window: MainWindow, qtbot: QtBot, builtin_gguf: Path) -> None:
    win = window
    win.create_project(Draft("Write a 2,000-word story about a lighthouse keeper.", 2000), "direct")
    assert len(win.draft.rows) == 1 and win.draft.mode == "direct"
    win.write_action.trigger()
    qtbot.waitUntil(lambda: count_words(win.draft.rows[0].text) >= 10, timeout=90_000)
    started = time.perf_counter()
    win.close()
    assert win.worker.shutdown(10)
    assert time.perf_counter() - started < 5.0
    assert win.draft.rows[0].status == INTERRUPTED
    written = win.draft.rows[0].text

    again = reopen(qtbot)  # the autosave kept the text of the interrupted run
    try:
        again.project_list.setCurrentRow(0)
        assert again.draft.rows[0].status == INTERRUPTED
        assert again.draft.rows[0].text == written
        assert again.write_action.text() == "Resume"
    finally:
        again.close()


def reopen(qtbot: QtBot) -> MainWindow:
    """A second window on the same projects database, as after restarting the app."""
    again = MainWindow(Settings(n_ctx=2048))
    qtbot.addWidget(again)
    return again


def test_projects_are_saved_and_reopened(window: MainWindow, qtbot: QtBot, builtin_gguf: Path) -> None:
    win = window
    win.create_project(Draft("Write a 120-word note about tea.", 120), "direct")
    win.write_action.trigger()
    wait_job(qtbot, win, 90)
    draft = win.draft
    assert draft.complete, win.last_error
    # A hand edit of the text, kept by Ctrl+S.
    end_of_text(win)
    qtbot.keyClicks(win.document.editor, " An added closing line.")
    win.save_action.trigger()
    assert win.last_error is None
    win.close()

    again = reopen(qtbot)
    try:
        assert again.project_list.count() == 1
        again.project_list.setCurrentRow(0)
        loaded = again.draft
        assert loaded is not None and loaded.project_id == draft.project_id
        assert loaded.complete and loaded.rows[0].text.endswith("An added closing line.")
        assert shown_texts(again) == [loaded.rows[0].text]
    finally:
        again.close()
