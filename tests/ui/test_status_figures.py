"""The figures under the text belong to the project on screen and to this moment: the plan's progress moves
while it is written, the elapsed time never freezes, one moment has one word count, a new project starts with
no figures of the last run, and the list says "(writing)" as soon as a run starts again.

The window writes on a scripted model (the prose test model: its text is the test's, the same on any CPU);
its planning is slowed to a few seconds and one section's start pauses, as a long prompt does."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from longwriter_desktop.app import backends
from longwriter_desktop.engine import events as ev
from longwriter_desktop.settings import Settings
from longwriter_desktop.testing.prose import ProseModel
from longwriter_desktop.testing.scripted import ENABLE_ENV, ScriptedBackend, ScriptedCall
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog

FIRST = "Write a 900-word article about the night markets of Taipei."
SECOND = "Write a 700-word guide to repairing a bicycle puncture by the roadside."
PAUSE_S = 2.6  # the second section's start: nothing streams for this long


class SlowStart:
    """The prose model, with planning at a readable pace and a pause before the second section's text."""

    def __init__(self) -> None:
        self.model = ProseModel("en", seed=5)
        self.backend: ScriptedBackend | None = None
        self.sections = 0
        self.pauses: list[tuple[float, float]] = []  # (start, end) in time.monotonic()
        self.slow = threading.Event()  # set: sections stream slowly too (a run to stop part-way)

    def __call__(self, call: ScriptedCall) -> str:
        assert self.backend is not None
        self.backend.seconds_per_token = 0.03 if call.is_plan or self.slow.is_set() else 0.002
        if not call.is_plan:
            self.sections += 1
            if self.sections == 2:
                started = time.monotonic()
                time.sleep(PAUSE_S)
                self.pauses.append((started, time.monotonic()))
        return self.model(call)


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> SlowStart:
    monkeypatch.setenv(ENABLE_ENV, "1")
    script = SlowStart()

    def open_scripted(_choice: Any, progress: Any = None) -> ScriptedBackend:
        script.backend = ScriptedBackend(script, n_ctx=8192)
        return script.backend

    monkeypatch.setattr(backends, "open_backend", open_scripted)
    return script


@pytest.fixture
def win(qtbot: QtBot) -> Iterator[MainWindow]:
    make_application([])
    window = MainWindow(Settings())
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    assert window.worker.shutdown(10)


def _new_project(window: MainWindow, qtbot: QtBot, instruction: str) -> None:
    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, NewProjectDialog)
        qtbot.keyClicks(dialog.instruction, instruction)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, fill)
    window.new_action.trigger()


def _watch(window: MainWindow, qtbot: QtBot, until: Any, timeout_ms: int = 60_000) -> list[tuple[float, str, str,
                                                                                                 str]]:
    """Samples (when, status line, strip bar, elapsed) every few milliseconds until ``until()``."""
    samples: list[tuple[float, str, str, str]] = []

    def done() -> bool:
        samples.append((time.monotonic(), window.strip.state.text(), window.strip.progress.format(),
                        window.progress_pane.elapsed.text()))
        return bool(until())

    qtbot.waitUntil(done, timeout=timeout_ms)
    return samples


def _first_number(text: str) -> int:
    match = re.search(r"\d[\d,]*", text)
    assert match, text
    return int(match.group(0).replace(",", ""))


def test_the_figures_follow_the_moment_and_the_project(win: MainWindow, qtbot: QtBot, slow: SlowStart) -> None:
    # Planning takes seconds: its lines move the bar, and the status line's clock runs.
    _new_project(win, qtbot, FIRST)
    planning = _watch(win, qtbot, lambda: not win.worker.busy)
    assert win.draft is not None and win.draft.rows, win.last_error
    bars = [bar for _t, _s, bar, _e in planning if bar.startswith("plan:")]
    done_counts = sorted({_first_number(bar) for bar in bars})
    assert len(done_counts) >= 3, bars  # 0, 1, 2, ... of n sections, not one jump at the end
    clocks = {m.group(0) for _t, status, _b, _e in planning
              if status.startswith("Planning") and (m := re.search(r"\d+:\d\d$", status))}
    assert len(clocks) >= 2, [s for _t, s, _b, _e in planning]
    assert not any("No project" in status for _t, status, _b, _e in planning)

    # Writing: every figure counts the text on screen, at every progress event.
    mismatches: list[str] = []

    def check(progress: ev.Progress) -> None:
        draft = win.draft
        assert draft is not None
        on_screen = sum(draft.rule.count(r.text) for r in draft.rows)
        strip_words = _first_number(win.strip.progress.format())
        pane_words = _first_number(win.progress_pane.overall.format())
        if not strip_words == pane_words == on_screen == win.document.words():
            mismatches.append(f"strip {strip_words}, details {pane_words}, text {on_screen}, "
                              f"view {win.document.words()}")

    win.worker.progressChanged.connect(check)  # after the window's own slot: sees what the window shows
    win.write_action.trigger()
    writing = _watch(win, qtbot, lambda: not win.worker.busy)
    win.worker.progressChanged.disconnect(check)
    assert win.draft.complete and win.last_error is None
    assert not mismatches, mismatches[:5]
    # The elapsed time moved on while the second section's start paused with nothing streamed.
    (pause_start, pause_end), = slow.pauses
    during = {elapsed for when, _s, _b, elapsed in writing if pause_start + 0.3 < when < pause_end}
    assert len(during) >= 2, during
    assert win.project_list.item(0).text().endswith("(done)")
    assert win.strip.speed.text() and win.strip.context.text()
    # Each section's short summary (what the model keeps in view once the text leaves its context) is in the
    # inspector of the section clicked in the outline.
    outline = win.outline.table
    rect = outline.visualItemRect(outline.item(1, 0))
    qtbot.mouseClick(outline.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.outline.current_index() == 1
    summary = win.draft.rows[1].summary
    assert summary and win.inspector.summary.text() == summary
    assert summary.split()[0] in win.draft.rows[1].text

    # A new project shows none of the last run's figures.
    slow.slow.set()  # it writes slowly, so the run can be stopped part-way below
    _new_project(win, qtbot, SECOND)
    assert win.strip.speed.text() == "" and win.strip.remaining.text() == "" and win.strip.context.text() == ""
    for label in (win.progress_pane.speed, win.progress_pane.elapsed, win.progress_pane.remaining):
        assert label.text() == "–"
    assert win.progress_pane.context.format() == "–"
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=60_000)
    assert win.strip.speed.text() == "" and win.strip.context.text() == ""

    # Stopped part-way, then resumed: the list says "(writing)" from the moment the run starts.
    win.write_action.trigger()
    assert win.project_list.item(1).text().endswith("(writing)")
    qtbot.waitUntil(lambda: win.draft is not None and win.draft.rule.count(win.draft.rows[0].text) > 20,
                    timeout=30_000)
    win.stop_action.trigger()
    slow.slow.clear()
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=30_000)
    assert win.project_list.item(1).text().endswith("(stopped)")
    assert win.write_action.text() == "Resume"
    win.write_action.trigger()
    assert win.project_list.item(1).text().endswith("(writing)")
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=60_000)
    assert win.draft is not None and win.draft.complete, win.last_error
    assert win.project_list.item(1).text().endswith("(done)")
