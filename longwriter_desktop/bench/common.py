"""What every benchmark shares: the constants, the machine it runs on, peak memory, timing backends."""


from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..engine.backend import Delta, Finish, GenerationRequest
from ..engine.llama_backend import LlamaBackend, LoadSettings

BENCH_CTX = 8192  # the app's default context
SEED = 1234
OVERHEAD_PROMPT = (
    "Write a long, detailed story about a lighthouse keeper on a remote island, with many scenes, "
    "dialogue and descriptions of the sea, the weather and the people who visit."
)
DOCUMENT_PROMPTS = {
    "quick": "Write a 2500-word guide to starting a community vegetable garden.",
    "full": "Write a 10000-word guide to starting a community vegetable garden, from the first meeting "
            "to the third harvest.",
}
TARGETS = {
    "generation_ratio": 0.97,  # app tokens/s divided by bare llama-cpp-python tokens/s
    "cache_bound_factor": 1.2,  # evaluated <= 1.2 x (plan prompt + writing head + document in context)
    "document_seconds_10k": 300.0,  # 10,000 words in 5 minutes on 2 cores
    "gui_p99_ms": 50.0,
    "launch_s": 1.5,
    "idle_rss_mb": 200.0,
}


def now_iso() -> str:
    """The current local time, to the second, with its offset."""
    return _dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


# -- the machine --------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                   text=True, check=False, timeout=5).stdout.strip()
            return brand or platform.processor()
        except OSError:
            pass
    return platform.processor() or platform.machine()


def _llama_cpp_version() -> str:
    try:
        import llama_cpp
    except ImportError:
        return "not installed"
    return str(llama_cpp.__version__)


def _toolkit_versions() -> dict[str, str]:
    try:
        from ..ui.latency import toolkit_versions

        return toolkit_versions()
    except ImportError:
        return {}


def _cuda_gpu() -> str:
    try:
        import llama_cpp

        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except ImportError:
        offload = False
    return "yes (llama.cpp built with GPU offload)" if offload else "no (CPU build of llama.cpp; no GPU here)"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, OS and the versions that matter for the figures."""
    import psutil

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "app": __version__,
        "llama_cpp_python": _llama_cpp_version(),
        "toolkit": _toolkit_versions(),
        "gpu": _cuda_gpu(),
        "load_average_at_start": list(load) if load else None,
    }


# -- helpers ------------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


class PeakMemory:
    """Samples this process's resident memory in a thread (every 0.1 s) and keeps the peak."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._process = psutil.Process()
        self.interval = interval
        self.peak = self._process.memory_info().rss
        self.start = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


@dataclass
class MeasuredBackend:
    """Passes every call to the app's backend; records each prompt and its Finish (for the cache figures)."""

    inner: LlamaBackend
    prompts: list[list[int]] = field(default_factory=list)
    finishes: list[Finish] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def tokenizes(self) -> bool:
        return self.inner.tokenizes

    def generate(self, request: GenerationRequest) -> Iterator[Delta | Finish]:
        """The inner backend's stream, unchanged."""
        if not isinstance(request.prompt, str):
            self.prompts.append(list(request.prompt))
        for item in self.inner.generate(request):
            if isinstance(item, Finish):
                self.finishes.append(item)
            yield item


def load_app_backend(model_path: Path, n_ctx: int = BENCH_CTX) -> LlamaBackend:
    """The app's backend with the app's default settings (threads as llama.cpp chooses)."""
    return LlamaBackend(model_path, LoadSettings(n_ctx=n_ctx), model_id="bench")


def load_bare_llama(model_path: Path, n_ctx: int = BENCH_CTX) -> Any:
    """A bare llama_cpp.Llama with the same context and llama.cpp's default threads, as the app uses."""
    import llama_cpp

    return llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, verbose=False, logits_all=False)


