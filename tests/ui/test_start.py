"""A fast start: the window is on screen before llama.cpp is imported; the GPU detection follows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys, time
from longwriter_desktop.ui.app import make_application
app = make_application([sys.argv[0]])
from longwriter_desktop.ui.main_window import MainWindow
window = MainWindow(first_frame=True)  # as the app's main() makes it
window.show()
shown = {"llama_cpp": "llama_cpp" in sys.modules, "docx": "docx" in sys.modules,
         "model_manager": "longwriter_desktop.ui.model_manager" in sys.modules,
         "engine": "longwriter_desktop.engine.writer" in sys.modules,
         "store": "longwriter_desktop.projects.store" in sys.modules, "ready": window.ready}
deadline = time.monotonic() + 120
while not window.ready and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
ready_llama = "llama_cpp" in sys.modules
for _ in range(20):  # widgets put into a window on screen are shown by a queued call
    app.processEvents()
    time.sleep(0.01)
built = {"ready": window.ready, "llama_cpp": ready_llama,
         "menus": [a.text() for a in window.menuBar().actions()],
         "new_project": window.new_button.isVisible()}
while window.backend_report is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
print(json.dumps({"shown": shown, "built": built, "detected": window.backend_report is not None,
                  "later": "llama_cpp" in sys.modules}), flush=True)
window.close()
"""

CLOSED_AT_ONCE = """
import sys
from longwriter_desktop.ui.app import make_application
app = make_application([sys.argv[0]])
from longwriter_desktop.ui.main_window import MainWindow
window = MainWindow(first_frame=True)
window.show()
window.close()  # before its first frame was painted
app.processEvents()
print("closed", window.ready)
"""


def test_the_window_shows_before_llama_cpp_and_detects_the_gpu_after(longwriter_home: Path) -> None:
    env = dict(os.environ, LONGWRITER_HOME=str(longwriter_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["shown"] == {"llama_cpp": False, "docx": False, "model_manager": False, "engine": False,
                             "store": False, "ready": False}, "nothing slow is imported before the window is shown"
    # Its first frame painted, the window builds its panes: the menus and the projects, before llama.cpp.
    assert data["built"]["ready"] and not data["built"]["llama_cpp"] and data["built"]["new_project"]
    assert "&File" in data["built"]["menus"], data["built"]["menus"]
    assert data["detected"] and data["later"], "the GPU detection (llama.cpp's import) runs once it is shown"


def test_a_window_closed_before_its_first_frame_closes_cleanly(longwriter_home: Path) -> None:
    env = dict(os.environ, LONGWRITER_HOME=str(longwriter_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", CLOSED_AT_ONCE], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "closed False" and "Traceback" not in result.stderr
