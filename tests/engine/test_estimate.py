"""The speed model behind the time estimates: fitting, the document estimate, learning, the store, and a
real calibration and run on the built-in model."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from longwriter_desktop.app.estimates import estimate_installed
from longwriter_desktop.engine import estimate as est
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.events import Done, Progress
from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings
from longwriter_desktop.engine.writer import WriteRequest, write_document


def synthetic(a: float, k: float, calls: list[tuple[int, int]]) -> list[est.CallSample]:
    """Calls whose seconds follow t(n) = a (1 + k n) exactly, token by token."""
    return [est.CallSample(start, tokens, sum(a * (1 + k * (start + i)) for i in range(tokens)))
            for start, tokens in calls]


def profile(a: float = 0.02, k: float = 4e-4, **changes: object) -> est.SpeedProfile:
    base = est.SpeedProfile(key="m|1|cpu x2|f16-nofa|gpuauto|tauto", model="m", weights_bytes=98_000_000,
                            kv_bytes_per_token=23_040, decode_s=a, slope=k, prefill_s=0.004)
    return replace(base, **changes) if changes else base


def test_the_fit_recovers_speed_and_slow_down_from_calls() -> None:
    samples = synthetic(0.015, 5e-4, [(40, 40), (1500, 24), (400, 300), (2500, 400), (5000, 200)])
    fitted = est.fit_speed(samples, est.prior_slope(98_000_000, 23_040))
    assert fitted is not None
    a, k = fitted
    assert a == pytest.approx(0.015, rel=1e-6)
    assert k == pytest.approx(5e-4, rel=1e-6)


def test_the_fit_keeps_the_prior_slope_where_positions_barely_differ() -> None:
    prior = est.prior_slope(98_000_000, 23_040)
    samples = synthetic(0.02, prior, [(100, 50), (150, 50)])
    a, k = est.fit_speed(samples, prior) or (0.0, 0.0)
    assert k == prior
    assert a == pytest.approx(0.02, rel=1e-6)


def test_the_fit_follows_the_newest_calls_when_the_machine_slows_down() -> None:
    old = synthetic(0.01, 4e-4, [(100, 200), (1200, 200)] * 10)
    new = synthetic(0.02, 4e-4, [(100, 200), (1200, 200)] * 3)
    a, _k = est.fit_speed(old + new, 4e-4) or (0.0, 0.0)
    assert a > 0.015, "the newer, slower calls dominate"


def test_decode_seconds_match_a_token_by_token_sum_with_the_context_cap() -> None:
    p = profile()
    cap = 3000
    expected = sum(p.token_seconds(min(500 + i, cap)) for i in range(4000))
    assert p.decode_seconds(500, 4000, cap) == pytest.approx(expected, rel=1e-3)
    assert p.decode_seconds(3500, 10, cap) == pytest.approx(10 * p.token_seconds(cap))


def test_a_document_estimate_grows_faster_than_its_length() -> None:
    p = profile()
    short, long = est.estimate_document(p, 1000, 8192), est.estimate_document(p, 6000, 8192)
    assert 0 < short.seconds < long.seconds
    assert long.generate_s / short.generate_s > 6, "later tokens sit at longer contexts"
    assert long.tokens_per_second_end < long.tokens_per_second_start
    assert "About" in long.describe() and "6,000 words" in long.describe()


def test_decode_seconds_after_the_cap_sit_at_the_plateau() -> None:
    p = profile()
    expected = sum(p.token_seconds(500 + i) for i in range(2500)) + 1500 * p.token_seconds(2000)
    assert p.decode_seconds(500, 4000, 3000, 2000) == pytest.approx(expected, rel=1e-3)


def test_a_tiny_model_writes_in_a_shorter_view_than_its_context() -> None:
    """The built-in model's shape: its view ends near where decoding halves its speed (at least the head plus
    VIEW_MIN_TEXT); a model whose weights outweigh its KV cache keeps the whole context."""
    reach = est.view_reach(98_000_000, 23_040)
    assert reach is not None and 1000 < reach < 3000
    assert est.writing_view(8192, 500, reach) == 500 + est.VIEW_MIN_TEXT
    assert est.writing_view(2048, 500, reach) == 2048  # never past the context
    assert est.writing_view(8192, 500, est.view_reach(4_900_000_000, 131_072)) == 8192
    assert est.writing_view(8192, 500, None) == 8192  # a server: its speed is not this machine's
    low, mean = est.view_positions(3060, 500)
    assert 500 < low < mean < 3060
    # The estimate counts with the same view: once it fills, later tokens sit no deeper than its mean.
    tiny = profile()
    big = profile(weights_bytes=4_900_000_000, kv_bytes_per_token=131_072)
    assert est.estimate_document(tiny, 6000, 8192).generate_s < est.estimate_document(big, 6000, 8192).generate_s
    assert est.estimate_document(tiny, 1000, 8192).generate_s == pytest.approx(
        est.estimate_document(big, 1000, 8192).generate_s), "a short document fits either view"


def test_a_run_teaches_tokens_per_word_and_overhead() -> None:
    p = profile()
    calls = synthetic(0.02, 4e-4, [(400, 700), (1100, 700), (1800, 700)])
    modelled = sum(c.seconds for c in calls)
    learned = est.learn_run(p, calls, words=1000, wall_s=modelled * 1.2)
    assert learned.runs == 1
    assert learned.generated_per_word == pytest.approx(2.1)
    assert learned.overhead == pytest.approx(1.2, rel=0.05)
    again = est.learn_run(learned, calls, words=1400, wall_s=modelled * 1.2)
    assert learned.generated_per_word > again.generated_per_word > 1.5, "later runs are blended in"


def test_profiles_are_kept_in_the_settings_folder(longwriter_home: Path) -> None:
    store = est.SpeedStore()
    assert store.path.parent == longwriter_home / "config"
    p = profile(samples=tuple(synthetic(0.02, 4e-4, [(10, 20)])))
    store.put(p)
    assert est.SpeedStore().get(p.key) == est.SpeedStore().all()[0]
    assert est.SpeedStore().get(p.key).samples[0].tokens == 20
    store.path.write_text("{not json", encoding="utf-8")
    assert est.SpeedStore().get(p.key) is None, "an unreadable file means measuring again, not a crash"


def test_an_unmeasured_model_is_scaled_from_one_measured_here() -> None:
    here = est.profile_key("small.gguf", 98_000_000)
    small = replace(profile(), key=here, runs=2)
    big = est.scaled_profile([small], "big", "big", 4_920_000_000, 131_072)
    assert big is not None and big.decode_s == pytest.approx(small.decode_s * 4_920_000_000 / 98_000_000)
    rough = est.estimate_model_file("big.gguf", 4_920_000_000, 131_072, 16_384, profiles=[small])
    assert rough is not None and rough.rough and "rough" in rough.describe()
    assert est.estimate_model_file("big.gguf", 1, None, 16_384, profiles=[]) is None


def test_format_seconds_rounds_for_people() -> None:
    assert est.format_seconds(3.2) == "3 s"
    assert est.format_seconds(42) == "40 s"
    assert est.format_seconds(185) == "3 min"
    assert est.format_seconds(3 * 3600 + 20 * 60) == "3 h 20 min"


def test_calibration_and_a_run_on_the_built_in_model(builtin_gguf: Path) -> None:
    """A few seconds of calibration, then a short run: time left comes from the profile, which learns."""
    backend = LlamaBackend(builtin_gguf, LoadSettings(n_ctx=4096), model_id="builtin")
    try:
        assert est.SpeedStore().get(est.backend_key(backend) or "") is None
        p = est.profile_for_backend(backend)
        assert p is not None and p.decode_s > 0 and p.slope > 0 and p.prefill_s > 0
        assert len(p.samples) == 2
        assert est.SpeedStore().get(p.key) == p
        request = WriteRequest("Write a 150-word note about tea.", mode="plan", sampling=Sampling(seed=3))
        etas: list[float | None] = []
        done = None
        for event in write_document(backend, request, threading.Event()):
            if isinstance(event, Progress):
                etas.append(event.eta_s)
            elif isinstance(event, Done):
                done = event
        assert done is not None
        assert etas and all(eta is not None and eta >= 0 for eta in etas), "every time-left comes from the model"
        learned = est.SpeedStore().get(p.key)
        assert learned is not None and learned.runs == 1 and len(learned.samples) > 2
        assert estimate_installed(None, LoadSettings(n_ctx=4096), 1000) is not None
    finally:
        backend.close()
