"""1. Generation overhead: the app's backend against bare llama-cpp-python on the same prompt, alternating."""


from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.backend import Delta, GenerationRequest, Sampling
from ..engine.llama_backend import LlamaBackend
from .common import OVERHEAD_PROMPT, SEED, TARGETS, _median, load_app_backend, load_bare_llama

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


