"""The benchmark run: the chosen measurements in a temporary LONGWRITER_HOME, saved as they finish."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import machine_info, now_iso
from .document import measure_document
from .downloads import measure_downloads
from .gui import main_window_available, measure_event_loop, measure_launch
from .overhead import measure_generation_overhead
from .prompts import measure_dev_prompts

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
        planning.compile_package(repo)
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


SECTIONS = ("overhead", "document", "prompts", "gui", "downloads", "estimates", "kv", "startup", "server")


def _is_builtin(model_path: Path) -> bool:
    from ..library.installed import builtin_model_path

    builtin = builtin_model_path()
    return builtin is not None and builtin.resolve() == model_path.resolve()


def run_benchmarks(model_path: Path, options: Options) -> dict[str, Any]:
    """Run the chosen measurements in a temporary LONGWRITER_HOME; returns the results for the report."""
    quick = options.quick
    mode = "quick" if quick else "full"
    log = options.log
    results: dict[str, Any] = {"machine": machine_info(), "taken": now_iso(), "mode": mode,
                               "model": {"path": str(model_path), "bytes": model_path.stat().st_size,
                                         "builtin": _is_builtin(model_path)},
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
                                               "taken": now_iso(), "model_file": model_path.name,
                                               "builtin": results["model"]["builtin"]}
                        options.save_partial(results)

                measured = measure_dev_prompts(model_path, options.prompts_path, quick=quick,
                                               which=options.prompt_numbers, log=log, on_row=partial)
                save("prompts", dict(measured, model_file=model_path.name, builtin=results["model"]["builtin"]))
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
            if "server" in options.only:
                from .server import measure_server_seeds

                log("11. one report through llama_cpp.server, several seeds")
                save("server", measure_server_seeds(model_path, log))
        finally:
            if previous_home is None:
                os.environ.pop("LONGWRITER_HOME", None)
            else:
                os.environ["LONGWRITER_HOME"] = previous_home
    results["finished"] = now_iso()
    return results
