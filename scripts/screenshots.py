"""Save screenshots of the main window in each state to docs/screenshots/ (runs the real built-in model).

Under a display (or `xvfb-run python scripts/screenshots.py`) the real window is grabbed; without one, Qt's
offscreen platform renders it. Projects go to a temporary LONGWRITER_HOME, never the user's own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["LONGWRITER_HOME"] = tempfile.mkdtemp(prefix="lw-shots-")

from PySide6.QtCore import QCoreApplication, QTimer  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from longwriter_desktop.engine.words import count_words  # noqa: E402
from longwriter_desktop.settings import Settings  # noqa: E402
from longwriter_desktop.ui.app import make_application  # noqa: E402
from longwriter_desktop.ui.draft import Draft  # noqa: E402
from longwriter_desktop.ui.main_window import MainWindow  # noqa: E402
from longwriter_desktop.ui.model_manager import ModelManagerDialog  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def wait(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        QCoreApplication.processEvents()
        time.sleep(0.01)


def shoot(widget: QWidget, name: str) -> None:
    for _ in range(20):
        QCoreApplication.processEvents()
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    make_application([])
    window = MainWindow(Settings(n_ctx=2048))
    window.resize(1380, 860)
    window.show()
    shoot(window, "1-first-run")

    window.create_project(
        Draft("Write a 600-word article about keeping bees in a small city garden.", 600), "plan"
    )
    wait(lambda: not window.worker.busy, 120)
    shoot(window, "2-plan-ready")

    window.write()
    wait(
        lambda: (
            window.draft is not None
            and len(window.draft.rows) > 1
            and count_words(window.draft.rows[1].text) >= 40
        ),
        180,
    )
    shoot(window, "3-writing")
    wait(lambda: not window.worker.busy, 240)
    shoot(window, "4-done")

    dialog = ModelManagerDialog(window.settings, window)
    dialog.show()
    shoot(dialog, "5-model-manager")
    dialog.tabs.setCurrentIndex(1)
    shoot(dialog, "6-settings")
    dialog.close()
    QTimer.singleShot(0, window.close)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
