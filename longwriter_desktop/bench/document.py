"""2 and 3. A whole document written by the app, with the KV-cache figures against re-reading every prompt."""


from __future__ import annotations

import importlib
import importlib.util
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.backend import Sampling
from ..engine.events import Done
from ..engine.llama_backend import LlamaBackend
from ..engine.writer import WriteRequest, write_document
from .common import DOCUMENT_PROMPTS, SEED, TARGETS, MeasuredBackend, PeakMemory, load_app_backend, load_bare_llama

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
