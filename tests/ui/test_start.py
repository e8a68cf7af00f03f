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
window = MainWindow()
window.show()
app.processEvents()
shown = {"llama_cpp": "llama_cpp" in sys.modules, "docx": "docx" in sys.modules,
         "model_manager": "longwriter_desktop.ui.model_manager" in sys.modules}
deadline = time.monotonic() + 120
while window.backend_report is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
print(json.dumps({"shown": shown, "detected": window.backend_report is not None,
                  "later": "llama_cpp" in sys.modules}), flush=True)
window.close()
"""


def test_the_window_shows_before_llama_cpp_and_detects_the_gpu_after(longwriter_home: Path) -> None:
    env = dict(os.environ, LONGWRITER_HOME=str(longwriter_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["shown"] == {"llama_cpp": False, "docx": False, "model_manager": False}, \
        "nothing slow is imported before the window is shown"
    assert data["detected"] and data["later"], "the GPU detection (llama.cpp's import) runs once it is shown"
