"""11. Through a server without DRY: `python -m llama_cpp.server` on the built-in model, one short report
written with several seeds by the app's writer over HTTP (the client-side controls: logit bias against
over-used words, cut-and-rewrite, length hand-on)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.backend import Sampling
from ..engine.events import Done
from ..engine.openai_backend import OpenAIBackend
from ..engine.writer import WriteRequest, write_document
from .document import text_quality

INSTRUCTION = "Write a 600-word report on city trams."
TARGET = 600
SEEDS = (1, 2, 3, 4, 5)
TOLERANCE = 0.10
N_CTX = 8192

# `python -m llama_cpp.server`, with the model loaded under the app's own weight-buffer settings: on a CPU with
# AMX, llama.cpp 0.3.36's AMX buffers segfault on the first prompt (see llama_backend.model_params), and the
# server would die at the first request. (The tests start their servers with it too.)
SERVER_LAUNCH = """
import runpy, sys
import llama_cpp
from longwriter_desktop.engine.llama_backend import model_params
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
with model_params(llama_cpp):
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(model_path: Path, log_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER_LAUNCH, "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(N_CTX), "--verbose", "false", "--logits_all", "false"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("llama_cpp.server exited: " + log_file.read_text(errors="replace")[-500:])
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                return process, url
        except urllib.error.HTTPError:
            return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("llama_cpp.server did not answer in 120 s")


def measure_server_seeds(model_path: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """The report written once per seed through the server; each run's length, repeats and waste."""
    with tempfile.TemporaryDirectory(prefix="longwriter-server-") as folder:
        try:
            process, url = _start_server(model_path, Path(folder) / "server.log")
        except RuntimeError as exc:
            return {"error": str(exc)}
        rows = []
        try:
            for seed in SEEDS:
                backend = OpenAIBackend(f"{url}/v1", n_ctx=N_CTX)
                request = WriteRequest(INSTRUCTION, mode="plan", sampling=Sampling(seed=seed))
                started = time.perf_counter()
                done: Done | None = None
                for event in write_document(backend, request, threading.Event()):
                    if isinstance(event, Done):
                        done = event
                backend.close()
                if done is None:
                    rows.append({"seed": seed, "error": "no document"})
                    continue
                stats = done.stats
                words = int(stats.get("longbench_words", stats["words"]))
                row = {
                    "seed": seed, "words": words, "deviation": words / TARGET - 1,
                    "within": abs(words / TARGET - 1) <= TOLERANCE, "wall_s": time.perf_counter() - started,
                    "repeated_4gram_share": stats.get("repeated_4gram_share"),
                    "generated_tokens_per_kept": stats.get("generated_tokens_per_kept"),
                    "repetition_cuts": stats.get("repetition_cuts"), "echo_cuts": stats.get("echo_cuts"),
                    "drift_cuts": stats.get("drift_cuts"),
                    "section_words": [(s["words"], s["target_words"]) for s in stats["sections"]],
                    "quality": text_quality(done.text, INSTRUCTION),
                }
                rows.append(row)
                log(f"  seed {seed}: {words}/{TARGET} words ({row['deviation']:+.1%}), "
                    f"4-gram share {row['repeated_4gram_share']:.3f}, cuts {row['repetition_cuts']}")
        finally:
            process.kill()
            process.wait(timeout=30)
    return {"instruction": INSTRUCTION, "target": TARGET, "tolerance": TOLERANCE, "rows": rows,
            "within": sum(1 for r in rows if r.get("within")), "server": "python -m llama_cpp.server"}
