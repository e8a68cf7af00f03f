"""The desktop window in its own process, driven as a person drives it, for the tests that kill it.

    python window_process.py INSTRUCTION
        opens the main window (offscreen) on the built-in model, starts a project through the New project
        dialog (one pass, Ctrl+Return), presses Write (Ctrl+Return), and prints what the text pane shows as it
        changes: "<unix time> <JSON of the whole text>", then "done" when the run ends. SIGTERM, SIGHUP and
        SIGINT close it as they close the app ("closed" is printed as the event loop ends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.app import install_stop_signals, make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog

REPO = Path(__file__).resolve().parents[2]


def main(instruction: str) -> int:
    app = make_application([])
    install_stop_signals(app)  # as the app's own entry point does
    window = MainWindow(Settings(n_ctx=2048))
    window.show()
    shown = [""]

    def fill_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, NewProjectDialog):
            QTimer.singleShot(50, fill_dialog)
            return
        if not dialog.isActiveWindow():
            dialog.activateWindow()
            QTimer.singleShot(50, fill_dialog)
            return
        dialog.instruction.setPlainText(instruction)
        dialog.mode.setCurrentIndex(dialog.mode.findData("direct"))
        QTest.keyClick(dialog.instruction, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    def start() -> None:
        if not window.isActiveWindow():  # shortcuts reach the active window only
            window.activateWindow()
            QTimer.singleShot(50, start)
            return
        QTimer.singleShot(50, fill_dialog)
        QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # returns once it is created
        QTimer.singleShot(0, write)
        print(f"started {os.getpid()}", flush=True)

    def write() -> None:
        if window.worker.busy or window.last_done is not None or window.draft is None or window.draft.started:
            return  # writing (or written): press once
        if window.isActiveWindow():
            QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Write
        else:
            window.activateWindow()
        QTimer.singleShot(100, write)

    def report() -> None:
        text = window.document.editor.toPlainText()
        if text != shown[0]:
            shown[0] = text
            print(f"{time.time():.6f} {json.dumps(text)}", flush=True)
        if window.last_done is not None:
            print("done", flush=True)
            app.quit()

    timer = QTimer()
    timer.timeout.connect(report)
    timer.start(100)
    QTimer.singleShot(0, start)
    code = int(app.exec())
    print("closed", flush=True)
    return code


class WindowRun:
    """This file run in a process of its own on a data folder; what its window shows is read as it comes."""

    def __init__(self, instruction: str, home: Path, stderr: Path) -> None:
        env = {**os.environ, "LONGWRITER_HOME": str(home), "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
        self.stderr = stderr
        self.proc = subprocess.Popen([sys.executable, __file__, instruction], stdout=subprocess.PIPE,
                                     stderr=stderr.open("w"), text=True, env=env, cwd=REPO)
        self.shown: list[tuple[float, str]] = []  # (unix time, the whole text shown)
        self.finished = threading.Event()  # the run ended
        self.closed = threading.Event()  # the event loop ended (the window closed)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("done"):
                self.finished.set()
            elif line.startswith("closed"):
                self.closed.set()
            elif line[:1].isdigit():
                at, text = line.split(" ", 1)
                self.shown.append((float(at), json.loads(text)))

    def wait_for_paragraphs(self, timeout_s: float = 110) -> None:
        """Until the view shows a finished paragraph and the next begun (the title is the first line)."""
        deadline = time.monotonic() + timeout_s
        while not any(text.count("\n") >= 2 for _, text in self.shown):
            assert time.monotonic() < deadline and self.proc.poll() is None, self.stderr.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
