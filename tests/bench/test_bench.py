"""The benchmark command's parts, run tiny with the real model, and its report from those results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from longwriter_desktop.bench.common import load_bare_llama, machine_info
from longwriter_desktop.bench.document import _spread_order, naive_prompt_cost
from longwriter_desktop.bench.downloads import measure_sha256
from longwriter_desktop.bench.gui import measure_event_loop
from longwriter_desktop.bench.overhead import measure_generation_overhead
from longwriter_desktop.bench.prompts import find_dev_prompts
from longwriter_desktop.bench.report import merge_results, render_report


def test_spread_order_covers_every_prompt_once_starting_with_both_ends() -> None:
    for n in range(1, 40):
        order = _spread_order(n)
        assert sorted(order) == list(range(n))
        assert order[: min(n, 2)] == [0, n - 1][: min(n, 2)] if n > 1 else order == [0]


def test_overhead_and_sha256_produce_a_report_with_verdicts(builtin_gguf: Path) -> None:
    messages: list[str] = []
    overhead = measure_generation_overhead(builtin_gguf, rounds=1, max_tokens=12, log=messages.append)
    assert set(overhead["rates"]) == {"app", "app_no_dry", "bare"}
    assert all(rates[0] > 0 for rates in overhead["rates"].values())
    assert overhead["ratio_app"] > 0
    sha = measure_sha256(builtin_gguf)
    assert sha["bytes"] == builtin_gguf.stat().st_size
    results = {"machine": machine_info(), "taken": "2025-01-01T00:00:00+00:00", "mode": "quick",
               "model": {"path": str(builtin_gguf), "bytes": sha["bytes"]},
               "sections": {"overhead": overhead, "downloads": {"sha256": sha}}}
    earlier = {"mode": "full", "taken": "2024-12-31T00:00:00+00:00", "machine": {"cpu": "x"},
               "sections": {"prompts": {"skipped": "no file"}}}
    text = render_report(merge_results(results, [earlier]))
    assert "## Summary" in text
    assert "generation speed, app (DRY on) / bare" in text
    assert "**met**" in text or "**missed**" in text
    assert "Skipped: no file." in text
    assert "not measured yet" in text  # the download comparison


def test_naive_prompt_cost_extrapolates_past_its_time_budget(builtin_gguf: Path) -> None:
    llm = load_bare_llama(builtin_gguf, n_ctx=1024)
    try:
        prompts = [list(range(100, 100 + n)) for n in (8, 16, 24)]
        full = naive_prompt_cost(llm, prompts, time_budget_s=60)
        sampled = naive_prompt_cost(llm, prompts, time_budget_s=0)
    finally:
        llm.close()
    assert full["prompts_evaluated"] == 3 and full["tokens_evaluated"] == 48
    assert sampled["prompts_evaluated"] == 1 and sampled["tokens"] == 48
    assert sampled["seconds_total"] > sampled["seconds_measured"] > 0


def test_dev_prompts_are_found_from_an_explicit_path(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    assert find_dev_prompts(str(path)) == path


def test_event_loop_latency_while_the_backend_streams(builtin_gguf: Path) -> None:
    result = measure_event_loop(builtin_gguf, stream_tokens=40, log=lambda _m: None)
    assert result["streaming"]["tokens"] == 40
    assert result["streaming"]["ticks"] > 0 and result["idle"]["ticks"] > 50
    busy = result["streaming"]
    assert 0 <= busy["p50_ms"] <= busy["p99_ms"] <= busy["max_ms"]


@pytest.mark.skipif(not shutil.which("Xvfb") or not shutil.which("xev"), reason="needs Xvfb and xev (x11-utils)")
def test_launch_to_a_mapped_window_is_timed_by_the_x_servers_map_event() -> None:
    from longwriter_desktop.bench.planning import launch_commands, measure_mapped

    lines: list[str] = []
    repo = Path(__file__).resolve().parents[2]
    result = measure_mapped({"source": launch_commands(repo)["source"]}, 2, lines.append)
    source = result["source"]
    assert "error" not in source, source
    assert len(source["mapped_s"]) == 2 and all(0.05 < t < 30 for t in source["mapped_s"])
    # Ready (the panes built, from the app's log) comes after the first frame is mapped, in every run.
    assert len(source["ready_s"]) == 2 and all(m < r < 60 for m, r in zip(source["mapped_s"], source["ready_s"]))
    assert any("warm-up" in line for line in lines)


def test_the_server_part_renders_seeds_and_a_verdict() -> None:
    rows = [{"seed": s, "words": w, "deviation": w / 600 - 1, "within": abs(w / 600 - 1) <= 0.1, "wall_s": 30.0,
             "repeated_4gram_share": 0.01, "generated_tokens_per_kept": 1.1, "repetition_cuts": 1, "echo_cuts": 0,
             "drift_cuts": 0, "section_words": [(w, 600)]} for s, w in ((1, 590), (2, 480))]
    results = {"machine": {}, "model": {"path": "m.gguf", "bytes": 1}, "sections": {"server": {
        "instruction": "Write a 600-word report on city trams.", "target": 600, "tolerance": 0.1, "rows": rows,
        "within": 1, "server": "python -m llama_cpp.server", "taken": "2026-12-01", "mode": "full"}}}
    report = render_report(results)
    assert "## 11. Through a server without DRY" in report
    assert "| 2 | 480 | -20.0% | **no** |" in report
    assert "1 of 2 seeds" in report


def test_dev_prompts_of_another_model_say_which_model_wrote_them() -> None:
    row = {"number": 1, "prompt": "Write a 150-word product description.", "type": "", "target": 150,
           "app_target": 150, "words": 149, "length_score": 99.7, "wall_s": 8.7, "tokens_per_second": 33.5,
           "prompt_tokens_evaluated": 21, "prompt_tokens_without_cache": 21, "completion_tokens": 200,
           "sections": 1, "context_drops": 0, "repeated_4gram_share": 0.0, "generated_tokens_per_kept": 1.0,
           "generated_tokens_per_kept_with_plan": 1.0, "echo_cuts": 0, "drift_cuts": 0, "repetition_cuts": 0,
           "quality": None, "section_words": [(149, 150)], "model": "bench", "commit": "abc1234", "peak_rss": 1}
    prompts = {"file": "shared/eval/dev_prompts.jsonl", "rows": [row], "mean_length_score": 99.7, "subset": "1 of 10",
               "taken": "2026-12-02", "mode": "full", "model_file": "gemma-3-270m-q4_k_m.gguf", "builtin": False}
    results = {"machine": {}, "model": {"path": "/m/gemma-3-270m-q4_k_m.gguf", "bytes": 253_000_000,
                                        "builtin": False}, "sections": {"prompts": prompts}}
    report = render_report(results)
    assert "on `gemma-3-270m-q4_k_m.gguf`, a model given with --model (the target" in report
    assert "the built-in model" not in report.split("## 5.")[1].split("##")[0]
    assert "(253 MB, given with --model)" in report
