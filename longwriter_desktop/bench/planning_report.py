"""The report's parts for bench/planning.py: estimates against runs, KV-cache types, launch on Xvfb."""

from __future__ import annotations

from typing import Any

from .planning import TARGETS

MiB = 1 << 20


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _taken(section: dict[str, Any]) -> str:
    return f"*{section.get('mode', '?')} mode, taken {section.get('taken', '?')}*"


def render_planning(sections: dict[str, Any], summary: list[list[str]]) -> list[str]:
    """Sections 8-10 of the report, with their summary rows."""
    lines: list[str] = []
    lines += _estimates(sections.get("estimates"), summary)
    lines += _kv(sections.get("kv"), summary)
    lines += _startup(sections.get("startup"), summary)
    return lines


def _estimates(section: dict[str, Any] | None, summary: list[list[str]]) -> list[str]:
    if not section:
        return []
    bound = TARGETS["estimate_error"]
    lines = ["## 8. Time estimates against the runs, and the whole document against bare llama.cpp", "",
             _taken(section), "",
             "The speed profile starts empty (a temporary settings folder). It is calibrated in this run "
             f"({section['calibration_s']:.1f} s: {section['calibration']['tokens_per_second']:.1f} tokens/s on "
             f"an empty context, slope {section['calibration']['slope']:.2e} per token of context), then each "
             "document is estimated as the app would show it (the profile as refined by the runs before it "
             "in this bench), written by the app's writer in plan mode at 8,192 tokens of context, and timed "
             "from the start of planning to the finished text (the model already loaded). The column "
             "\"calibration only\" is the estimate before any document was written.", ""]
    rows = []
    for row in section["rows"]:
        met = abs(row["error"]) <= bound
        rows.append([f"{row['words_asked']:,}", f"{row['words']:,}", _duration(row["estimate_s"]),
                     _duration(row["actual_s"]), f"{row['error']:+.0%}",
                     f"{_duration(row['estimate_calibration_only_s'])} ({row['error_calibration_only']:+.0%})",
                     f"{row['tokens_per_second']:.1f}", f"{row['length_score']:.1f}", _verdict(met)])
        summary.append([f"estimate vs actual, {row['words_asked']:,} words",
                        f"{_duration(row['estimate_s'])} vs {_duration(row['actual_s'])} ({row['error']:+.0%})",
                        f"within ±{bound:.0%}", _verdict(met)])
    lines += _table(["words asked", "written", "estimate", "actual", "error", "calibration only",
                     "tok/s", "length score", f"±{bound:.0%}"], rows)
    whole = section["whole_document"]
    bare = whole["bare"]
    target = TARGETS["whole_document_ratio"]
    met = whole["ratio"] <= target
    summary.append(["whole document / (kept tokens ÷ bare tok/s)", f"{whole['ratio']:.2f}", f"<= {target:.2f}",
                    _verdict(met)])
    lines += ["", f"**The whole document against bare llama.cpp.** The {whole['words']:,}-word document above "
              f"took {_duration(whole['wall_s'])} (plan and writing); its text is {whole['kept_tokens']:,} "
              f"tokens ({whole['completion_tokens']:,} generated in all: plan, retries and "
              f"{whole['repetition_cuts']} cut loop(s) included). Bare llama-cpp-python, loaded afresh in the "
              f"same run at the same context, wrote {bare['tokens']:,} tokens in one stream (the issue's "
              f"reference length, or the document's if shorter) at "
              f"{bare['tokens_per_second']:.1f} tokens/s, so the kept text alone would take "
              f"{_duration(whole['kept_tokens'] / bare['tokens_per_second'])} there. Ratio: "
              f"**{whole['ratio']:.2f}** (target <= {target:.2f}: {_verdict(met)}).", ""]
    return lines


def _kv(section: dict[str, Any] | None, summary: list[list[str]]) -> list[str]:
    if not section:
        return []
    lines = ["## 9. KV-cache types on the built-in model", "", _taken(section), "",
             f"Each type in a fresh process at {section['n_ctx']:,} tokens of context (q8_0 and q4_0 turn flash "
             "attention on, as llama.cpp needs for a quantised V cache; f16 runs without it, the app's "
             "default). Each wrote the same prompts with the same seed: "
             + "; ".join(f'"{p}"' for p in section["prompts"]) + ". The KV size is llama.cpp's own log line; "
             "the fit check's figure is beside it. No GPU machine was lent for this work, so there are no CUDA figures "
             "for this table: every figure here is CPU-only.", ""]
    rows = []
    f16 = next((r for r in section["rows"] if r.get("kv_type") == "f16" and "error" not in r), None)
    for row in section["rows"]:
        if "error" in row:
            rows.append([row["kv_type"], "failed: " + row["error"], "", "", "", "", "", ""])
            continue
        kv = f"{row['kv_mib']:.1f} MiB" if row.get("kv_mib") is not None else "?"
        rows.append([row["kv_type"], kv, f"{row['fit_kv_bytes'] / MiB:.1f} MiB",
                     f"{row['load_rss_delta'] / MiB:.0f} MiB", f"{row['peak_rss'] / MiB:.0f} MiB",
                     f"{row['tokens_per_second']:.1f}", f"{row['mean_length_score']:.1f}",
                     f"{row['mean_repeated_4gram_share']:.3f}"])
        if f16 is not None and row is not f16:
            summary.append([f"KV cache {row['kv_type']} vs f16 (8k context)",
                            f"{kv} vs {f16['kv_mib']:.1f} MiB, {row['tokens_per_second']:.1f} vs "
                            f"{f16['tokens_per_second']:.1f} tok/s, length score {row['mean_length_score']:.1f} vs "
                            f"{f16['mean_length_score']:.1f}", "-", "-"])
    lines += _table(["KV type", "KV cache (llama.cpp)", "fit check", "RSS added by loading", "peak RSS",
                     "tok/s", "length score (mean)", "repeated 4-gram share (mean)"], rows)
    lines += ["", "Per document:", ""]
    docs = []
    for row in section["rows"]:
        for prompt, doc in zip(section["prompts"], row.get("documents", []), strict=False):
            docs.append([row["kv_type"], prompt[:48] + "...", f"{doc['words']:,}", f"{doc['length_score']:.1f}",
                         f"{doc['repeated_4gram_share']:.3f}", f"{doc['tokens_per_second']:.1f}",
                         _duration(doc["wall_s"])])
    lines += _table(["KV type", "prompt", "words", "length score", "4-gram share", "tok/s", "time"], docs)
    lines.append("")
    return lines


def _startup(section: dict[str, Any] | None, summary: list[list[str]]) -> list[str]:
    if not section:
        return []
    lines = ["## 10. Start-up: launch to a mapped window", "", _taken(section), ""]
    mapped = section.get("mapped", {})
    offscreen = section.get("offscreen", {})
    rows = []
    for name, target in (("source", TARGETS["mapped_source_s"]), ("bundle", TARGETS["mapped_bundle_s"])):
        data = mapped.get(name)
        if not data:
            rows.append([f"{name}, Xvfb", "not measured (no bundle built)" if name == "bundle" else "not measured",
                         f"< {target} s", "-"])
            continue
        if "error" in data:
            rows.append([f"{name}, Xvfb", f"failed: {data['error']}", f"< {target} s", "-"])
            continue
        met = data["median_s"] < target
        each = ", ".join(f"{t:.2f}" for t in data["mapped_s"])
        rows.append([f"{name}, Xvfb (median of {len(data['mapped_s'])})", f"{data['median_s']:.2f} s ({each})",
                     f"< {target} s", _verdict(met)])
        if "ready_median_s" in data:
            each = ", ".join(f"{t:.2f}" for t in data["ready_s"])
            rows.append([f"{name}, Xvfb: window ready (panes built, projects read)",
                         f"{data['ready_median_s']:.2f} s ({each})", "-", "-"])
        summary.append([f"launch to mapped window, {name} (Xvfb)", f"{data['median_s']:.2f} s", f"< {target} s",
                        _verdict(met)])
    if offscreen and "shown_median_s" in offscreen:
        rows.append([f"source, offscreen Qt (median of {len(offscreen['shown_s'])}), window shown",
                     f"{offscreen['shown_median_s']:.2f} s", "-", "-"])
        if "ready_median_s" in offscreen:
            rows.append([f"source, offscreen Qt (median of {len(offscreen['ready_s'])}), window ready",
                         f"{offscreen['ready_median_s']:.2f} s", "-", "-"])
    lines += _table(["launch", "measured", "target", "verdict"], rows)
    lines += ["", "Mapped: from starting the process until the X server reports the window's MapNotify (`xev -root "
              "-event substructure`, read as it happens) on a fresh Xvfb server (each command once to warm the page "
              "cache first, not counted; the package byte-compiled, as an installed app has it). The window maps "
              "with Qt alone loaded, showing \"Opening…\"; once that frame is painted it imports the engine, the "
              "projects and the panes and builds them (ready: the app's \"window ready\" log line, timed from the "
              "same start). llama.cpp is imported and the GPU detected only after that; the model "
              f"loads when the first job starts. llama_cpp imported at window shown (offscreen): "
              f"{'yes' if offscreen.get('llama_cpp_loaded') else 'no'}.", ""]
    return lines
