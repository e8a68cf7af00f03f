"""python -m longwriter_desktop.bench [--quick] [--out docs/benchmarks.md]: measure and write the report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import LongWriterError
from ..library.installed import builtin_model, resolve_model
from .prompts import find_dev_prompts
from .report import merge_results, render_report
from .run import SECTIONS, Options, run_benchmarks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m longwriter_desktop.bench",
        description="Benchmark the app against bare llama-cpp-python and its targets; write a report.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="a short run (about 5 minutes on 2 cores): fewer rounds, a 2,500-word document, "
                             "the 3 shortest dev prompts")
    parser.add_argument("--out", default="docs/benchmarks.md",
                        help="the Markdown report (default: %(default)s)")
    parser.add_argument("--json", dest="json_path",
                        help="where the raw results go (default: the report's path with .json)")
    parser.add_argument("--only", help=f"comma-separated parts to run: {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--skip", help="comma-separated parts not to run")
    parser.add_argument("--reuse", action="append", default=[],
                        help="a results .json from an earlier run: parts not run now are taken from it "
                             "(each keeps its own date and mode in the report); may be repeated")
    parser.add_argument("--prefer-reused", default="",
                        help="comma-separated parts to take from --reuse files even where this run has them "
                             "(e.g. prompts: a full dev-prompt table over a quick run's subset)")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="measure nothing: write the report from this results file (and any --reuse)")
    parser.add_argument("--prompts", help="dev_prompts.jsonl (default: ../shared/eval beside the repository)")
    parser.add_argument("--prompt-numbers", help="only these dev prompts, by line number (e.g. 1,2,8)")
    parser.add_argument("--model", help="a model id or GGUF path (default: the built-in model)")
    return parser


def _parts(text: str | None) -> set[str]:
    if not text:
        return set()
    parts = {p.strip() for p in text.split(",") if p.strip()}
    unknown = parts - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return parts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report and its raw results."""
    args = _parser().parse_args(argv)
    only = _parts(args.only) or set(SECTIONS)
    only -= _parts(args.skip)
    out = Path(args.out)
    json_path = Path(args.json_path) if args.json_path else out.with_suffix(".json")
    numbers = [int(n) for n in args.prompt_numbers.split(",")] if args.prompt_numbers else None
    try:
        model = resolve_model(args.model) if args.model else builtin_model()
    except LongWriterError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    earlier: list[dict[str, Any]] = [json.loads(Path(p).read_text(encoding="utf-8")) for p in args.reuse]
    prefer = frozenset(_parts(args.prefer_reused))
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    def save(results: dict[str, Any]) -> None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1), encoding="utf-8")

    if args.render:
        results = json.loads(Path(args.render).read_text(encoding="utf-8"))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_report(merge_results(results, earlier, prefer)), encoding="utf-8")
        log(f"wrote {out}")
        return 0
    options = Options(quick=args.quick, only=only, prompts_path=find_dev_prompts(args.prompts),
                      prompt_numbers=numbers, log=log, save_partial=save)
    results = run_benchmarks(model.path, options)
    results["total_s"] = time.perf_counter() - started
    save(results)
    merged = merge_results(results, earlier, prefer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(merged), encoding="utf-8")
    log(f"wrote {out} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
