"""A desktop session ending sends the app SIGTERM: the window closes as its close button does (the run stops,
everything shown is saved, the project can be resumed) instead of dying like kill -9."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from longwriter_desktop.projects.store import ProjectStore
from tests.ui.window_process import WindowRun


@pytest.mark.timeout(150)
@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_sigterm_closes_the_writing_window_and_keeps_everything(longwriter_home: Path, tmp_path: Path) -> None:
    window = WindowRun("Write a 1000-word story about a lighthouse keeper and a storm.", longwriter_home,
                       tmp_path / "window.err")
    try:
        window.wait_for_paragraphs()
        time.sleep(1.0)
        assert window.proc.poll() is None and not window.finished.is_set(), "the run ended before the signal"
        window.proc.send_signal(signal.SIGTERM)
        code = window.proc.wait(timeout=30)
    finally:
        window.stop()
    errors = window.stderr.read_text()
    assert code == 0, errors
    assert window.closed.is_set(), "the event loop did not end: the process died instead of closing"
    assert "Traceback" not in errors, errors

    final = window.shown[-1][1]
    body = final.split("\n", 1)[1] if "\n" in final else ""  # below the title line
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    assert len(paragraphs) >= 2
    with ProjectStore(daily_backup=False) as store:
        (project,) = store.list_projects()
        saved = store.document_text(project.id)
        assert project.status == "interrupted"  # stopped part-way: Resume goes on from here
    # Every finished paragraph the window showed is saved; the one being written may lose its unfinished end.
    for paragraph in paragraphs[:-1]:
        assert paragraph in saved, f"shown but not saved: {paragraph[:80]!r}"
