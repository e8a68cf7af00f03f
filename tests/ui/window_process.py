"""The desktop window in its own process, driven as a person drives it, for the tests that kill it.

    python window_process.py INSTRUCTION
        opens the main window (offscreen) on the built-in model, starts a project through the New project
        dialog (one pass, Ctrl+Return), presses Write (Ctrl+Return), and prints what the text pane shows as it
        changes: "<unix time> <JSON of the whole text>", then "done" when the run ends.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog


def main(instruction: str) -> int:
    app = make_application([])
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
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
