"""Benchmarks: the app against bare llama-cpp-python and against its targets, side by side in one run.

Each measurement returns a plain dict (JSON-friendly) so a run can be saved and parts of it reused; the
report (:mod:`.report`) puts every figure next to its target. Where the app and a reference are compared,
they run in the same process, alternating A, B, A, B, so that load from other processes on a shared machine
hits both alike: read the ratios, not the absolute figures.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..engine.backend import Delta, Finish, GenerationRequest, Sampling
from ..engine.events import Done
from ..engine.llama_backend import LlamaBackend, LoadSettings
from ..engine.words import length_score
from ..engine.writer import WriteRequest, write_document

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


# -- 1. generation overhead ---------------------------------------------------------------------------


def _overhead_prompt(backend: LlamaBackend) -> list[int]:
    fmt = backend.prompt_format
    text = fmt.start(None) + fmt.user_turn(OVERHEAD_PROMPT)
    return backend.bos_tokens() + backend.tokenize(text, special=True)


def _app_rate(backend: LlamaBackend, tokens: list[int], max_tokens: int, sampling: Sampling
              ) -> tuple[float, int]:
    request = GenerationRequest(tokens, max_tokens, sampling, allow_end=lambda: False)
    first_at = last_at = 0.0
    first_n = produced = 0
    for item in backend.generate(request):
        if isinstance(item, Delta) and item.n_tokens:
            now = time.perf_counter()
            if not first_at:
                first_at, first_n = now, item.n_tokens
            produced += item.n_tokens
            last_at = now
    rate = (produced - first_n) / (last_at - first_at) if last_at > first_at else 0.0
    return rate, produced


def _bare_rate(llm: Any, tokens: list[int], max_tokens: int, sampling: Sampling, banned: list[int]
               ) -> tuple[float, int]:
    import llama_cpp
    import numpy as np

    ban = np.array(banned, dtype=np.intc)

    def ban_end(_ids: Any, scores: Any) -> Any:
        scores[ban] = -np.inf
        return scores

    first_at = last_at = 0.0
    chunks = 0
    finish = None
    stream = llm.create_completion(
        tokens, max_tokens=max_tokens, temperature=sampling.temperature, top_p=sampling.top_p,
        top_k=sampling.top_k, min_p=sampling.min_p, repeat_penalty=sampling.repeat_penalty,
        seed=sampling.seed, stream=True, logits_processor=llama_cpp.LogitsProcessorList([ban_end]),
    )
    for chunk in stream:
        now = time.perf_counter()
        choice = chunk["choices"][0]
        if choice.get("text"):
            if not first_at:
                first_at = now
            chunks += 1
            last_at = now
        finish = choice.get("finish_reason") or finish
    # With end-of-text banned the stream runs to max_tokens; a chunk is one token except where a
    # multi-byte character spans two, so the token count is max_tokens rather than the chunk count.
    produced = max_tokens if finish == "length" else chunks
    rate = (produced - 1) / (last_at - first_at) if last_at > first_at else 0.0
    return rate, produced


def _paired(rates: list[float], reference: list[float]) -> float:
    return _median([a / b for a, b in zip(rates, reference, strict=True) if b])


def measure_generation_overhead(model_path: Path, *, rounds: int, max_tokens: int,
                                log: Callable[[str], None]) -> dict[str, Any]:
    """Tokens/s of the app's stream (with and without DRY) against bare create_completion, alternating."""
    backend = load_app_backend(model_path)
    llm = load_bare_llama(model_path)
    try:
        tokens = _overhead_prompt(backend)
        banned = backend.end_tokens()
        app_default = Sampling(seed=SEED)
        app_no_dry = Sampling(seed=SEED, dry_multiplier=0.0)
        rates: dict[str, list[float]] = {"app": [], "app_no_dry": [], "bare": []}
        # One short warm-up each: first calls pay for page faults and buffer allocation.
        warm_up = min(32, max_tokens)
        _app_rate(backend, tokens, warm_up, app_default)
        _bare_rate(llm, tokens, warm_up, app_default, banned)
        for round_no in range(rounds):
            order = [("app", None), ("bare", None), ("app_no_dry", None)]
            if round_no % 2:
                order.reverse()
            for name, _ in order:
                if name == "bare":
                    rate, _n = _bare_rate(llm, tokens, max_tokens, app_default, banned)
                else:
                    rate, _n = _app_rate(backend, tokens, max_tokens,
                                         app_default if name == "app" else app_no_dry)
                rates[name].append(rate)
                log(f"  overhead round {round_no + 1}/{rounds}: {name} {rate:.1f} tok/s")
    finally:
        backend.close()
        llm.close()
    med = {k: _median(v) for k, v in rates.items()}
    return {
        "rounds": rounds,
        "max_tokens": max_tokens,
        "prompt_tokens": len(tokens),
        "sampling": {"temperature": app_default.temperature, "top_p": app_default.top_p,
                     "top_k": app_default.top_k, "min_p": app_default.min_p, "seed": SEED,
                     "dry_multiplier": app_default.dry_multiplier},
        "rates": rates,
        "median": med,
        "ratio_app": med["app"] / med["bare"] if med["bare"] else 0.0,
        "ratio_app_no_dry": med["app_no_dry"] / med["bare"] if med["bare"] else 0.0,
        # Each round's app rate over the same round's bare rate: less sensitive to load that drifts.
        "paired_ratio_app": _paired(rates["app"], rates["bare"]),
        "paired_ratio_app_no_dry": _paired(rates["app_no_dry"], rates["bare"]),
        "target_ratio": TARGETS["generation_ratio"],
    }


# -- 2 and 3. a whole document, and the KV cache over it -----------------------------------------------


def run_document(backend: LlamaBackend, instruction: str, *, target_words: int | None = None,
                 log: Callable[[str], None] | None = None) -> tuple[dict[str, Any], MeasuredBackend, int]:
    """Plan and write one document with the app's writer; returns its stats, the recorder and peak RSS."""
    measured = MeasuredBackend(backend)
    request = WriteRequest(instruction, target_words=target_words, mode="plan", sampling=Sampling(seed=SEED))
    done: Done | None = None
    started = time.perf_counter()
    last_log = started
    with PeakMemory() as memory:
        for event in write_document(measured, request, threading.Event()):
            if isinstance(event, Done):
                done = event
            elif log is not None and time.perf_counter() - last_log > 30:
                last_log = time.perf_counter()
                words = getattr(event, "words", None)
                log(f"  ... {time.perf_counter() - started:.0f} s" + (f", {words} words" if words else ""))
    if done is None:
        raise RuntimeError("the writer ended without a document")
    stats = dict(done.stats)
    stats["quality"] = text_quality(done.text, instruction)
    stats["wall_s"] = time.perf_counter() - started
    stats["prompt_seconds_app"] = sum(f.prompt_seconds for f in measured.finishes)
    stats["calls"] = len(measured.finishes)
    stats.pop("warnings", None)
    return stats, measured, memory.peak


_ECHO_BROAD = re.compile(
    r"\bsections?\b|\b\d[\d,]*[- ]?words?\b|\bword count\b|\bwriting plan\b|\bthe plan\b|\byou are asked\b|"
    r"\bmain point\b|\bflowing prose\b|^\s*write\b|本部分|本节|字数|写作计划|第[0-9一二三四五六七八九十]+部分",
    re.IGNORECASE)


def text_quality(text: str, instruction: str) -> dict[str, Any]:
    """What a reader would see at once: language, subject, echoed task sentences, headings, repeats.

    The echo count uses a broader pattern than the writer's own filter (any sentence that mentions sections,
    word counts, the plan or "write"), so the writer's filter is not grading itself.
    """
    from ..engine.plan import _stems_for_quality, title_problem
    from ..engine.repetition import repeated_ngram_share, script_of

    lines = text.splitlines()
    headings = [(len(h) - len(h.lstrip("#")), h.lstrip("#").strip()) for h in lines if h.startswith("#")]
    section_titles = [t for level, t in headings if level == 2]
    body_parts: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("#"):
            if current:
                body_parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        body_parts.append("\n".join(current))
    body_parts = [b for b in body_parts if b.strip()]
    body = "\n".join(body_parts)
    sentences = [m.group(0).strip() for m in re.finditer(r"[^.!?。！？\n]+[.!?。！？]?", body) if m.group(0).strip()]
    echoes = [x for x in sentences if _ECHO_BROAD.search(x)]
    keys = _stems_for_quality(instruction)
    touched = [bool(_stems_for_quality(b) & keys) for b in body_parts]
    found = _stems_for_quality(body) & keys
    bad_headings = [t for i, t in enumerate(section_titles)
                    if title_problem(t, instruction, i, len(section_titles)) is not None]
    bad_title = [t for level, t in headings if level == 1 and (len(t.split()) > 12 or title_problem(
        t, instruction, 0, 1) in ("stops mid-phrase", "a broken word", "a stray letter", "too long"))]
    return {
        "language": script_of(body) or "-",
        "instruction_language": script_of(instruction) or "-",
        "same_language": script_of(body) == script_of(instruction),
        "subject_keys_found": round(len(found) / len(keys), 3) if keys else 1.0,
        "sections_on_subject": round(sum(touched) / len(touched), 3) if touched else 0.0,
        "echoed_sentences": len(echoes),
        "echo_examples": echoes[:5],
        "headings": [t for _, t in headings],
        "broken_headings": bad_headings + bad_title,
        "repeated_4gram_share": round(repeated_ngram_share(body), 4),
    }


def naive_prompt_cost(llm: Any, prompts: list[list[int]], *, time_budget_s: float) -> dict[str, Any]:
    """Time re-evaluating each prompt from an empty cache with bare llama.cpp (what no reuse would cost).

    Prompts are taken in an order that spreads over the run (first, last, middle, ...) until the time budget
    is spent; the rest are extrapolated at the tokens/s measured on those evaluated.
    """
    order = _spread_order(len(prompts))
    measured_tokens = 0
    measured_seconds = 0.0
    measured_count = 0
    for index in order:
        if measured_count and measured_seconds >= time_budget_s:
            break
        tokens = prompts[index]
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        measured_seconds += time.perf_counter() - started
        measured_tokens += len(tokens)
        measured_count += 1
    llm.reset()
    total_tokens = sum(len(p) for p in prompts)
    rate = measured_tokens / measured_seconds if measured_seconds else 0.0
    extrapolated = (total_tokens - measured_tokens) / rate if rate else 0.0
    return {
        "prompts": len(prompts),
        "prompts_evaluated": measured_count,
        "tokens": total_tokens,
        "tokens_evaluated": measured_tokens,
        "seconds_measured": measured_seconds,
        "seconds_total": measured_seconds + extrapolated,
        "prompt_eval_tokens_per_s": rate,
    }


def _spread_order(n: int) -> list[int]:
    """0, n-1, the middle, then the quarter points ...: any prefix of it samples the whole range."""
    order: list[int] = []
    seen: set[int] = set()
    step = n
    for candidate in [0, n - 1] if n else []:
        if candidate not in seen:
            seen.add(candidate)
            order.append(candidate)
    while step >= 1 and len(order) < n:
        for i in range(0, n, step):
            if i not in seen:
                seen.add(i)
                order.append(i)
        step //= 2
    return order


def cache_figures(stats: dict[str, Any], naive: dict[str, Any]) -> dict[str, Any]:
    """KV-cache reuse over one run: evaluated against the naive total and against the target bound."""
    floor = stats["plan_prompt_tokens"] + stats["writing_head_tokens"] + stats["document_tokens_in_context"]
    bound = TARGETS["cache_bound_factor"] * floor
    return {
        "prompt_tokens_evaluated": stats["prompt_tokens_evaluated"],
        "prompt_tokens_without_cache": stats["prompt_tokens_without_cache"],
        "plan_prompt_tokens": stats["plan_prompt_tokens"],
        "writing_head_tokens": stats["writing_head_tokens"],
        "document_tokens_in_context": stats["document_tokens_in_context"],
        "context_drops": stats["context_drops"],
        "bound": bound,
        "met": stats["prompt_tokens_evaluated"] <= bound,
        "share_of_naive": stats["prompt_tokens_evaluated"] / stats["prompt_tokens_without_cache"]
        if stats["prompt_tokens_without_cache"] else 0.0,
        "app_prompt_seconds": stats["prompt_seconds_app"],
        "naive": naive,
    }


def measure_document(model_path: Path, *, quick: bool, naive_budget_s: float,
                     log: Callable[[str], None]) -> dict[str, Any]:
    """One whole document (2,500 words quick, 10,000 full), its KV-cache figures and its peak memory."""
    instruction = DOCUMENT_PROMPTS["quick" if quick else "full"]
    backend = load_app_backend(model_path)
    try:
        loaded_rss = _rss()
        stats, measured, peak = run_document(backend, instruction, log=log)
        n_ctx = backend.n_ctx
        header = backend.header
    finally:
        backend.close()
    log(f"  document: {stats['words']} words in {stats['wall_s']:.0f} s; re-evaluating prompts without cache")
    llm = load_bare_llama(model_path)
    try:
        naive = naive_prompt_cost(llm, measured.prompts, time_budget_s=naive_budget_s)
    finally:
        llm.close()
    words = stats["words"]
    target = stats["target_words"]
    scaled_target = TARGETS["document_seconds_10k"] * target / 10_000
    return {
        "instruction": instruction,
        "stats": stats,
        "wall_s": stats["wall_s"],
        "words_per_minute": words / stats["wall_s"] * 60 if stats["wall_s"] else 0.0,
        "time_target_s": scaled_target,
        "time_target_scaled": target != 10_000,
        "cache": cache_figures(stats, naive),
        "memory": {"n_ctx": n_ctx, "rss_after_load": loaded_rss, "peak_rss": peak,
                   "fit_estimate": fit_estimate(header, n_ctx)},
    }


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def fit_estimate(header: Any, n_ctx: int) -> dict[str, Any] | None:
    """The fit check's memory estimate for this model and context, where library/fit.py exists."""
    if importlib.util.find_spec("longwriter_desktop.library.fit") is None:
        return None
    try:
        fit = importlib.import_module("longwriter_desktop.library.fit")
        shape = fit.ModelShape.from_header(header)
        estimate = fit.estimate_memory(shape, n_ctx)
        total = int(estimate.total_bytes)
    except (AttributeError, TypeError, ValueError) as exc:
        return {"error": f"fit.py's interface differs from what the benchmark expects: {exc}"}
    return {"total_bytes": total}


# -- 3b. the dev prompts ------------------------------------------------------------------------------


def find_dev_prompts(explicit: str | None = None) -> Path | None:
    """dev_prompts.jsonl: the given path, else ../shared/eval beside the repository (or one level up)."""
    if explicit:
        return Path(explicit)
    repo = Path(__file__).resolve().parents[2]
    for base in (repo.parent, repo.parent.parent):
        candidate = base / "shared" / "eval" / "dev_prompts.jsonl"
        if candidate.is_file():
            return candidate
    return None


def load_dev_prompts(path: Path) -> list[dict[str, Any]]:
    """The prompts, one JSON object a line (prompt, type, length)."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            items.append(json.loads(line))
    return items


def measure_dev_prompts(model_path: Path, prompts_path: Path | None, *, quick: bool, which: list[int] | None,
                        log: Callable[[str], None], on_row: Callable[[dict[str, Any]], None] | None = None
                        ) -> dict[str, Any]:
    """Each dev prompt written by the app (plan mode, target from the instruction): the per-prompt table."""
    if prompts_path is None or not prompts_path.is_file():
        return {"skipped": "dev_prompts.jsonl not found (looked in ../shared/eval beside the repository)"}
    prompts = load_dev_prompts(prompts_path)
    indexed = list(enumerate(prompts))
    if which:
        # In the order given: a long run can put the long prompts last and still have the short ones if cut off.
        indexed = [indexed[n - 1] for n in which if 1 <= n <= len(indexed)]
    elif quick:
        indexed = sorted(indexed, key=lambda ip: ip[1]["length"])[:3]
    rows = []
    commit = _commit()  # the code this process runs (the checkout may move on while it runs)
    backend = load_app_backend(model_path)
    try:
        for number, item in indexed:
            log(f"  dev prompt {number + 1}: {item['length']} words ...")
            stats, _measured, peak = run_document(backend, item["prompt"], log=log)
            words = stats["words"]
            row = {
                "number": number + 1,
                "prompt": item["prompt"],
                "type": item.get("type", ""),
                "target": item["length"],
                "app_target": stats["target_words"],
                "words": words,
                "length_score": round(length_score(item["length"], words), 1),
                "wall_s": stats["wall_s"],
                "tokens_per_second": stats["tokens_per_second"],
                "prompt_tokens_evaluated": stats["prompt_tokens_evaluated"],
                "prompt_tokens_without_cache": stats["prompt_tokens_without_cache"],
                "completion_tokens": stats["completion_tokens"],
                "sections": len(stats["sections"]),
                "context_drops": stats["context_drops"],
                "repeated_4gram_share": stats["repeated_4gram_share"],
                "generated_tokens_per_kept": stats.get("generated_tokens_per_kept"),
                "generated_tokens_per_kept_with_plan": stats.get("generated_tokens_per_kept_with_plan"),
                "echo_cuts": stats.get("echo_cuts"),
                "drift_cuts": stats.get("drift_cuts"),
                "repetition_cuts": stats.get("repetition_cuts"),
                "quality": stats.get("quality"),
                "section_words": [(s["words"], s["target_words"]) for s in stats["sections"]],
                "model": stats.get("model"),
                "commit": commit,
                "peak_rss": peak,
            }
            rows.append(row)
            log(f"  dev prompt {number + 1}: {words}/{item['length']} words, score {row['length_score']}, "
                f"{row['wall_s']:.0f} s")
            if on_row is not None:
                on_row(row)
    finally:
        backend.close()
    return {"file": str(prompts_path), "rows": rows,
            "mean_length_score": _mean([r["length_score"] for r in rows]),
            "subset": "all" if len(rows) == len(prompts) else f"{len(rows)} of {len(prompts)}"}


def _commit() -> str:
    """The checkout's commit (and whether it had changes), so each row says which code wrote it."""
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False, timeout=10).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + ("+changes" if dirty else "")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# -- 4. the GUI ---------------------------------------------------------------------------------------

_LAUNCH_SCRIPT = """
import json, sys, time
t0 = float(sys.argv[1])
from longwriter_desktop.ui.app import make_application
app = make_application([sys.argv[0]])
from longwriter_desktop.ui.main_window import MainWindow
window = MainWindow()
window.show()
app.processEvents()
shown = time.time() - t0
import psutil
print(json.dumps({"shown_s": shown, "rss": psutil.Process().memory_info().rss,
                  "llama_cpp_loaded": "llama_cpp" in sys.modules}), flush=True)
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
    shown, rss = [], []
    llama_loaded = False
    for n in range(runs):
        started = time.time()
        result = subprocess.run([sys.executable, "-c", _LAUNCH_SCRIPT, repr(started)], capture_output=True,
                                text=True, env=env, cwd=repo, timeout=120, check=False)
        if result.returncode != 0:
            return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
        data = json.loads(result.stdout.strip().splitlines()[-1])
        shown.append(data["shown_s"])
        rss.append(data["rss"])
        llama_loaded = llama_loaded or data["llama_cpp_loaded"]
        log(f"  launch {n + 1}/{runs}: window shown after {data['shown_s']:.2f} s, "
            f"RSS {data['rss'] / 2**20:.0f} MiB")
    return {"runs": runs, "shown_s": shown, "shown_median_s": _median(shown), "rss": rss,
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


# -- 5. downloads -------------------------------------------------------------------------------------


def downloads_available() -> bool:
    """True when library/download.py is on this branch."""
    return importlib.util.find_spec("longwriter_desktop.library.download") is not None


def _plain_fetch(url: str, destination: Path) -> float:
    """GET with urllib (redirects followed), 1 MiB reads written to a file; returns the seconds it took."""
    import urllib.request

    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)
    return time.perf_counter() - started


def _app_fetch(repo_id: str, filename: str) -> tuple[float, str]:
    """The app's downloader, to completion; returns the seconds it took (as timed here) and its digest."""
    from ..library import download as dl

    started = time.perf_counter()
    done = None
    for event in dl.download(repo_id, filename):
        if isinstance(event, dl.DownloadFailed):
            raise RuntimeError(f"the app's download failed: {event}")
        if isinstance(event, dl.DownloadDone):
            done = event
    seconds = time.perf_counter() - started
    if done is None:
        raise RuntimeError("the app's download ended without a result")
    done.path.unlink()
    return seconds, done.digest


def measure_downloads(model_path: Path, *, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The app's downloader against urllib, alternating, both from the local fake Hub; and sha256 speed."""
    result: dict[str, Any] = {"sha256": measure_sha256(model_path), "download_module": downloads_available()}
    server_module = importlib.util.find_spec("longwriter_desktop.testing.hubserver")
    if not result["download_module"] or server_module is None:
        return result
    from ..library import hub as hub_api
    from ..testing import hubserver

    saved = {name: os.environ.get(name) for name in
             (hubserver.ENABLE_ENV, "HF_ENDPOINT", "HF_TOKEN", "NO_PROXY", "HF_HUB_DISABLE_TELEMETRY")}
    os.environ.update({hubserver.ENABLE_ENV: "1", "NO_PROXY": "127.0.0.1,localhost",
                       "HF_HUB_DISABLE_TELEMETRY": "1", "HF_TOKEN": hubserver.DEFAULT_TOKEN})
    repo_id, filename = hubserver.DEFAULT_REPO, model_path.name
    fake = hubserver.FakeHub().start()
    size = model_path.stat().st_size
    try:
        os.environ["HF_ENDPOINT"] = fake.endpoint
        fake.add_file(repo_id, filename, model_path)
        url = hub_api.remote_file(repo_id, filename).url
        rates: dict[str, list[float]] = {"app": [], "plain": []}
        with tempfile.TemporaryDirectory(prefix="bench-plain-") as scratch:
            plain_file = Path(scratch) / filename
            for round_no in range(rounds):
                order = ("app", "plain") if round_no % 2 == 0 else ("plain", "app")
                for name in order:
                    if name == "app":
                        seconds, digest = _app_fetch(repo_id, filename)
                        if digest != hashlib.sha256(model_path.read_bytes()).hexdigest():
                            raise RuntimeError("the app's download does not match the served file")
                    else:
                        seconds = _plain_fetch(url, plain_file)
                        plain_file.unlink()
                    rates[name].append(size / 1e6 / seconds)
                    log(f"  download round {round_no + 1}/{rounds}: {name} {rates[name][-1]:.0f} MB/s")
    finally:
        fake.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    med = {k: _median(v) for k, v in rates.items()}
    result.update({"bytes": size, "rounds": rounds, "rates": rates, "median": med,
                   "ratio": med["app"] / med["plain"] if med["plain"] else 0.0,
                   "paired_ratio": _paired(rates["app"], rates["plain"])})
    return result


def measure_sha256(path: Path) -> dict[str, Any]:
    """hashlib sha256 over a file in 1 MiB reads: the limit for any download verification."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    started = time.perf_counter()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    seconds = time.perf_counter() - started
    return {"bytes": size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds if seconds else 0.0}


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    only: set[str]
    prompts_path: Path | None
    prompt_numbers: list[int] | None
    log: Callable[[str], None]
    save_partial: Callable[[dict[str, Any]], None] | None = None


def run_planning(model_path: Path, options: Options, save: Callable[[str, dict[str, Any]], None]) -> None:
    """Sections 8-10 (bench/planning.py): estimates, KV-cache types, launch on Xvfb."""
    from . import planning

    log = options.log
    # Quickest first: a run cut short by the shared machine's clock still has the short parts.
    if "startup" in options.only:
        log("10. launch to a mapped window (Xvfb) and offscreen")
        repo = Path(__file__).resolve().parents[2]
        startup: dict[str, Any] = {"mapped": planning.measure_mapped(planning.launch_commands(repo), 5, log)}
        if main_window_available():
            startup["offscreen"] = measure_launch(5, log)
        save("startup", startup)
    if "kv" in options.only:
        log("9. KV-cache types")
        save("kv", planning.measure_kv_types(model_path, log))
    if "estimates" in options.only:
        log("8. time estimates against runs; the whole document against bare llama.cpp")
        save("estimates", planning.measure_estimates(model_path, log))


SECTIONS = ("overhead", "document", "prompts", "gui", "downloads", "estimates", "kv", "startup")


def run_benchmarks(model_path: Path, options: Options) -> dict[str, Any]:
    """Run the chosen measurements in a temporary LONGWRITER_HOME; returns the results for the report."""
    quick = options.quick
    mode = "quick" if quick else "full"
    log = options.log
    results: dict[str, Any] = {"machine": machine_info(), "taken": now_iso(), "mode": mode,
                               "model": {"path": str(model_path), "bytes": model_path.stat().st_size},
                               "sections": {}}
    sections: dict[str, Any] = results["sections"]

    def save(name: str, value: dict[str, Any]) -> None:
        value.setdefault("mode", mode)
        value.setdefault("taken", now_iso())
        sections[name] = value
        if options.save_partial is not None:
            options.save_partial(results)

    with tempfile.TemporaryDirectory(prefix="longwriter-bench-") as home:
        previous_home = os.environ.get("LONGWRITER_HOME")
        os.environ["LONGWRITER_HOME"] = home
        try:
            if "overhead" in options.only:
                log("1. generation overhead: app vs bare llama-cpp-python")
                save("overhead", measure_generation_overhead(
                    model_path, rounds=3 if quick else 7, max_tokens=512, log=log))
            if "document" in options.only:
                log("2-3. a whole document with the KV-cache figures")
                save("document", measure_document(model_path, quick=quick,
                                                  naive_budget_s=20.0 if quick else 600.0, log=log))
            if "prompts" in options.only:
                log("3. dev prompts")
                rows: list[dict[str, Any]] = []

                def partial(row: dict[str, Any]) -> None:
                    rows.append(row)
                    if options.save_partial is not None:
                        sections["prompts"] = {"rows": list(rows), "partial": True, "mode": mode,
                                               "taken": now_iso()}
                        options.save_partial(results)

                save("prompts", measure_dev_prompts(model_path, options.prompts_path, quick=quick,
                                                    which=options.prompt_numbers, log=log, on_row=partial))
            if "gui" in options.only:
                log("4. GUI")
                gui: dict[str, Any] = {"main_window": main_window_available()}
                try:
                    gui["event_loop"] = measure_event_loop(model_path, stream_tokens=600 if quick else 1500,
                                                           log=log)
                except ImportError as exc:
                    gui["event_loop"] = {"error": f"Qt is not available: {exc}"}
                if gui["main_window"]:
                    gui["launch"] = measure_launch(3 if quick else 5, log)
                save("gui", gui)
            if "downloads" in options.only:
                log("5. downloads")
                save("downloads", measure_downloads(model_path, rounds=3 if quick else 5, log=log))
            run_planning(model_path, options, save)
        finally:
            if previous_home is None:
                os.environ.pop("LONGWRITER_HOME", None)
            else:
                os.environ["LONGWRITER_HOME"] = previous_home
    results["finished"] = now_iso()
    return results
