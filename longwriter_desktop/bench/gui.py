"""4. The window: launch time and the event loop's lateness while a worker streams."""


from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.backend import Delta, GenerationRequest, Sampling
from .common import SEED, _median, load_app_backend
from .overhead import _overhead_prompt

# -- 4. the GUI ---------------------------------------------------------------------------------------

_LAUNCH_SCRIPT = """
import json, sys, time
t0 = float(sys.argv[1])
from longwriter_desktop.ui.app import make_application
app = make_application([sys.argv[0]])
from longwriter_desktop.ui.main_window import MainWindow
window = MainWindow(first_frame=True)  # as the app's main() makes it
window.show()
app.processEvents()
shown = time.time() - t0
llama_cpp_loaded = "llama_cpp" in sys.modules
while not window.ready and time.time() - t0 < 60:
    app.processEvents()
    time.sleep(0.002)
ready = time.time() - t0
import psutil
print(json.dumps({"shown_s": shown, "ready_s": ready, "rss": psutil.Process().memory_info().rss,
                  "llama_cpp_loaded": llama_cpp_loaded}), flush=True)
import os
os._exit(0)  # measured: skip the teardown of the window and its worker thread
"""


def main_window_available() -> bool:
    """True when the app's main window module is on this branch."""
    try:
        return importlib.util.find_spec("longwriter_desktop.ui.main_window") is not None
    except (ImportError, ValueError):
        return False


def measure_launch(runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Launch-to-window-shown time and RSS with no model, in fresh processes (offscreen Qt)."""
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
    shown, ready, rss = [], [], []
    llama_loaded = False
    for n in range(runs):
        started = time.time()
        result = subprocess.run([sys.executable, "-c", _LAUNCH_SCRIPT, repr(started)], capture_output=True,
                                text=True, env=env, cwd=repo, timeout=120, check=False)
        if result.returncode != 0:
            return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
        data = json.loads(result.stdout.strip().splitlines()[-1])
        shown.append(data["shown_s"])
        ready.append(data["ready_s"])
        rss.append(data["rss"])
        llama_loaded = llama_loaded or data["llama_cpp_loaded"]
        log(f"  launch {n + 1}/{runs}: window shown after {data['shown_s']:.2f} s, ready after "
            f"{data['ready_s']:.2f} s, RSS {data['rss'] / 2**20:.0f} MiB")
    return {"runs": runs, "shown_s": shown, "shown_median_s": _median(shown), "ready_s": ready,
            "ready_median_s": _median(ready), "rss": rss,
            "rss_median": _median([float(r) for r in rss]), "llama_cpp_loaded": llama_loaded}


def measure_event_loop(model_path: Path, *, stream_tokens: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The GUI thread's timer lateness, idle and while the app's backend streams at full speed."""
    from ..ui.latency import measure_event_loop as measure_loop

    backend = load_app_backend(model_path)
    try:
        tokens = _overhead_prompt(backend)

        def stream(emit: Callable[[str], None]) -> int:
            request = GenerationRequest(tokens, stream_tokens, Sampling(seed=SEED), allow_end=lambda: False)
            produced = 0
            for item in backend.generate(request):
                if isinstance(item, Delta):
                    produced += item.n_tokens
                    emit(item.text)
            return produced

        result = measure_loop(stream)
    finally:
        backend.close()
    busy = result["streaming"]
    log(f"  event loop: p99 {busy['p99_ms']:.1f} ms while streaming {busy['tokens']} tokens")
    return result


