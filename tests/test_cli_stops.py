"""Issue 13, items 4 and 5, as a user meets them: a run killed while planning resumes by planning again; a
closed stdout (`| head`), SIGTERM and SIGHUP stop a run cleanly, keeping the text. Real processes, the real
built-in model; only what every sample satisfies is asserted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docx import Document

from longwriter_desktop.projects.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
needs_posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, LONGWRITER_HOME=str(home), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "longwriter_desktop.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(home), cwd=ROOT)


def _cli(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True, text=True,
                          env=_env(home), timeout=timeout, cwd=ROOT)


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 120) -> list[str]:
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        lines.append(line)
        if line.startswith(prefix):
            return lines
        assert time.monotonic() < deadline, "".join(lines)
    raise AssertionError("".join(lines))


@needs_posix_signals
def test_killed_while_planning_resume_plans_again(longwriter_home: Path, tmp_path: Path) -> None:
    proc = _start(longwriter_home, "write", "Write a 460-word guide to growing tomatoes on a balcony.",
                  "--mode", "plan", "--seed", "3", "--quiet")
    try:
        _wait_for_line(proc, "Project 1:")  # the project exists; its plan is being made
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with ProjectStore(daily_backup=False) as store:
        assert store.sections(1) == [], "the plan was saved before the kill: the test did not kill during planning"
    export = _cli(longwriter_home, "export", "1", "--out", str(tmp_path / "early.md"))
    assert export.returncode == 2 and "stopped while its plan was being made" in export.stderr
    resumed = _cli(longwriter_home, "resume", "1", "--out", str(tmp_path / "done.md"), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "plan is made again" in resumed.stderr and "already complete" not in resumed.stderr
    with ProjectStore(daily_backup=False) as store:
        project = store.get_project(1)
        assert project.status == "done" and project.sections_total >= 2
        assert project.sections_done == project.sections_total and project.words_written > 0
    assert (tmp_path / "done.md").read_text(encoding="utf-8").count("\n## ") == project.sections_total


@needs_posix_signals
def test_a_closed_stdout_keeps_writing_into_the_out_file(longwriter_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.docx"
    proc = _start(longwriter_home, "write", "Write a 150-word note about rain.", "--words", "150", "--seed", "2",
                  "--mode", "direct", "--out", str(out))
    assert proc.stdout is not None
    proc.stdout.read(40)  # `| head -c 40`
    proc.stdout.close()
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert "standard output was closed; writing goes on into" in err and "Traceback" not in err
    paragraphs = [p.text for p in Document(str(out)).paragraphs if p.text.strip()]
    assert len(paragraphs) >= 2  # the title and the text
    with ProjectStore(daily_backup=False) as store:
        assert store.get_project(1).status == "done"


@needs_posix_signals
def test_a_closed_stdout_without_out_stops_with_a_message(longwriter_home: Path) -> None:
    proc = _start(longwriter_home, "write", "Write a 600-word story about a fox.", "--words", "600", "--seed", "2",
                  "--mode", "direct")
    assert proc.stdout is not None
    proc.stdout.read(40)
    proc.stdout.close()
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 1, err
    assert "standard output was closed, so writing stops" in err and "longwriter resume 1" in err
    assert "Traceback" not in err and "Exception ignored" not in err
    with ProjectStore(daily_backup=False) as store:
        project = store.get_project(1)
        assert project.status == "interrupted" and project.words_written > 0


@needs_posix_signals
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_cleanly_and_keep_the_text(longwriter_home: Path, tmp_path: Path,
                                                           signum: signal.Signals) -> None:
    out = tmp_path / "stopped.md"
    proc = _start(longwriter_home, "write", "Write a 600-word story about a fox.", "--words", "600", "--seed", "5",
                  "--mode", "direct", "--out", str(out))
    assert proc.stdout is not None
    printed = ""
    while len(printed.split()) < 30:
        chunk = proc.stdout.read(1)
        assert chunk, proc.stderr.read() if proc.stderr else ""
        printed += chunk
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert f"stopping on {signum.name}" in err and "Traceback" not in err
    with ProjectStore(daily_backup=False) as store:
        project = store.get_project(1)
        saved = store.document_text(1)
    assert project.status == "interrupted"
    first_line = next(line for line in printed.splitlines() if line.strip())
    assert first_line.strip()[:60] in saved  # what was printed before the signal was saved
    if not re.search(r"\[\.\.\. \d+ characters ", printed):  # a cut or a trim may take printed words back
        assert len(saved.split()) >= len(printed.split()) - 2
    assert "not finished" in err and out.read_text(encoding="utf-8").strip()
