"""Issue 13's "Done when": the window writes while `longwriter projects list` and `export` run every second in
other processes on the same data folder; the window is killed with SIGKILL, and every paragraph it showed
more than 2 s before the kill is in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from longwriter_desktop.projects.store import ProjectStore
from tests.processes import deleted_wal
from tests.ui.window_process import WindowRun

REPO = Path(__file__).resolve().parents[2]
PROMISE_S = 2.0
WRITE_FOR_S = 5.0  # of text streaming before the kill


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "LONGWRITER_HOME": str(home), "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}


@pytest.mark.timeout(150)
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc to see deleted files")
def test_the_window_killed_beside_cli_commands_keeps_what_it_showed(longwriter_home: Path, tmp_path: Path) -> None:
    window = WindowRun("Write a 1000-word story about a lighthouse keeper and a storm.", longwriter_home,
                       tmp_path / "window.err")
    stop_cli = threading.Event()
    cli_runs: list[tuple[str, int, str]] = []

    def cli_every_second() -> None:
        while not stop_cli.is_set():
            started = time.monotonic()
            for args in (["projects", "list"], ["export", "1", "--out", str(tmp_path / "copy.md")]):
                result = subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args],
                                        capture_output=True, text=True, env=_env(longwriter_home), timeout=60)
                cli_runs.append((args[0], result.returncode, result.stderr))
            stop_cli.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    cli = threading.Thread(target=cli_every_second, daemon=True)
    cli.start()
    try:
        window.wait_for_paragraphs()
        writing_since = time.time()
        while time.time() < writing_since + WRITE_FOR_S and not window.finished.is_set():
            assert window.proc.poll() is None
            time.sleep(0.1)
        assert deleted_wal(window.proc.pid) == [], "the window writes into a WAL another process deleted"
        killed_at = time.time()
        window.proc.send_signal(signal.SIGKILL)
        window.proc.wait(timeout=30)
    finally:
        stop_cli.set()
        window.stop()
        cli.join(timeout=90)
    assert len(cli_runs) >= 4, cli_runs
    assert all(code == 0 for name, code, _ in cli_runs if name == "projects"), cli_runs
    # Before the project or its text exists, export says so in one line (exit 1 or 2); after, it exports.
    assert all(code in (0, 1, 2) and "Traceback" not in err for _, code, err in cli_runs), cli_runs
    assert any(name == "export" and code == 0 for name, code, _ in cli_runs), cli_runs

    # What the window showed 2 s before the kill, less any end a loop cut took back by the kill.
    early = next((text for at, text in reversed(window.shown) if at <= killed_at - PROMISE_S), "")
    final = window.shown[-1][1]
    common = early[: next((i for i, (a, b) in enumerate(zip(early, final)) if a != b), min(len(early), len(final)))]
    body = common.split("\n", 1)[1] if "\n" in common else ""  # below the title line
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    assert paragraphs, "the window showed no text 2 s before the kill"
    with ProjectStore(daily_backup=False) as store:
        (project,) = store.list_projects()
        saved = store.document_text(project.id)
        assert project.status == "interrupted" or window.finished.is_set()
    for paragraph in paragraphs:
        assert paragraph in saved, f"shown more than {PROMISE_S} s before the kill but not saved: {paragraph[:80]!r}"
