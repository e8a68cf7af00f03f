"""`longwriter write` and `longwriter plan`: write a document (or only its plan) from a prompt."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ..errors import InputError
from ..fsutil import write_text_atomic
from ..engine import events as ev
from ..engine.backend import Sampling
from ..engine.plan import Plan, PlanResult, generate_plan, load_plan
from ..engine.session import open_backend
from ..engine.target import target_from_instruction
from ..engine.writer import WriteRequest, render_document, write_document
from .output import format_duration


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the writing instruction")
    parser.add_argument("--words", type=int, help="target length in words (default: read from the prompt)")
    parser.add_argument("--model", help="installed model id, or a path to a .gguf file (default: the built-in model "
                        "until another is installed)")
    parser.add_argument("--ctx", type=int, help="context size in tokens (a multiple of 256; default 8192, capped "
                        "by the model)")
    parser.add_argument("--gpu-layers", default="auto", help="auto, all, or a number of layers to offload")
    parser.add_argument("--threads", type=int, help="CPU threads (default: llama.cpp's choice)")
    parser.add_argument("--family", help="override the prompt format: longwriter-llama, glm4, longwriter-zero, chatml, "
                        "template")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable output")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--top-p", type=float, default=0.8)
    parser.add_argument("--notes", type=Path, help="a file of writing notes: audience, style, characters, facts to keep")
    parser.add_argument("--quiet", action="store_true", help="don't stream the document to stdout")


def register(sub: argparse._SubParsersAction) -> None:
    write = sub.add_parser("write", help="write a document from a prompt")
    _common(write)
    write.add_argument("--mode", choices=("auto", "direct", "plan"), default="auto",
                       help="direct: one pass (LongWriter models); plan: plan, then write section by section")
    write.add_argument("--plan", type=Path, help="use this plan (JSON, or lines 'Paragraph 1 - Main Point: ... - "
                       "Word Count: 400 words') instead of asking the model for one")
    write.add_argument("--out", type=Path, help="write the document to FILE (.md or .txt)")
    write.add_argument("--stats-json", type=Path, help="write run statistics as JSON to FILE")
    write.set_defaults(func=cmd_write)
    plan = sub.add_parser("plan", help="ask the model for a plan only")
    _common(plan)
    plan.add_argument("--out", type=Path, help="write the plan to FILE (.json, or .txt for the line form)")
    plan.set_defaults(func=cmd_plan)


def _sampling(args: argparse.Namespace) -> Sampling:
    if not 0 <= args.temperature <= 5:
        raise InputError("--temperature must be between 0 and 5.")
    if not 0 < args.top_p <= 1:
        raise InputError("--top-p must be above 0 and at most 1.")
    return Sampling(temperature=args.temperature, top_p=args.top_p, seed=args.seed)


def _notes(args: argparse.Namespace) -> str:
    if not args.notes:
        return ""
    try:
        return str(args.notes.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the notes file {args.notes}: {exc}") from None


def _check_words(words: int | None) -> None:
    if words is not None and not 1 <= words <= 100_000:
        raise InputError("--words must be between 1 and 100,000.")


def _check_out(path: Path | None, allowed: tuple[str, ...]) -> None:
    if path is not None and path.suffix.lower() not in allowed:
        raise InputError(f"--out must end in {', '.join(allowed)} (got '{path.name}').")


class _CancelOnSigint:
    """First Ctrl+C stops the run cleanly (the text so far is kept); a second one interrupts at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: Any = None

    def __enter__(self) -> threading.Event:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self.event

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        print("\nlongwriter: stopping (Ctrl+C again to quit at once) ...", file=sys.stderr)

    def __exit__(self, *_exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


class _ProgressLine:
    """One status line on stderr: words against target, tokens/s, time left."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = 0.0
        self.width = 0

    def show(self, progress: ev.Progress) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        line = (f"[{progress.words:,}/{progress.target_words:,} words | section {progress.section_index + 1}: "
                f"{progress.section_words}/{progress.section_target} | {progress.tokens_per_second:.1f} tok/s | "
                f"{format_duration(progress.elapsed_s)} elapsed | {format_duration(progress.eta_s)} left]")
        self.write(line)

    def write(self, line: str) -> None:
        if self.stream.isatty():
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.stream.isatty() and self.width:
            self.stream.write("\n")
            self.width = 0
        self.stream.write(text + "\n")
        self.stream.flush()


def cmd_write(args: argparse.Namespace) -> int:
    _check_words(args.words)
    _check_out(args.out, (".md", ".markdown", ".txt"))
    plan = load_plan(args.plan) if args.plan else None
    request = WriteRequest(
        instruction=args.prompt,
        target_words=args.words,
        mode=args.mode,
        notes=_notes(args),
        plan=plan,
        sampling=_sampling(args),
    )
    if not args.prompt.strip():
        raise InputError("The prompt is empty: say what to write.")
    status = _ProgressLine(sys.stderr, enabled=True)
    out = sys.stdout
    with _CancelOnSigint() as cancel, open_backend(args, status.message) as backend:
        done: ev.Done | None = None
        writer_events = write_document(backend, request, cancel)
        plan_seen = None
        texts: list[str] = []
        for event in writer_events:
            if isinstance(event, ev.PlanReady):
                plan_seen = event.plan
                texts = [""] * len(event.plan.sections)
                if len(event.plan.sections) > 1:
                    status.message(f"Plan: {len(event.plan.sections)} sections, {event.plan.total_words:,} words.")
            elif isinstance(event, ev.SectionStarted):
                if event.title and plan_seen is not None and len(plan_seen.sections) > 1 and not args.quiet:
                    out.write(("\n\n" if event.index else "") + f"## {event.title}\n\n")
                    out.flush()
            elif isinstance(event, ev.TextDelta):
                if texts:
                    texts[event.index] += event.text
                if not args.quiet:
                    out.write(event.text)
                    out.flush()
            elif isinstance(event, ev.TextRetracted):
                if texts:
                    texts[event.index] = texts[event.index][: len(texts[event.index]) - event.chars]
                if not args.quiet:
                    out.write(f"\n[... {event.chars} characters of repeated text removed ...]\n")
            elif isinstance(event, ev.Progress):
                status.show(event)
            elif isinstance(event, ev.Warning):
                status.message(f"longwriter: note: {event.message}")
            elif isinstance(event, ev.Cancelled):
                status.message(f"longwriter: stopped at {event.words:,} words; the text so far is kept.")
            elif isinstance(event, ev.Done):
                done = event
        if not args.quiet:
            out.write("\n")
            out.flush()
        if done is None:
            # Cancelled: keep what was written.
            if plan_seen is not None and args.out:
                partial = render_document(None, plan_seen, texts)
                _save_text(args.out, partial)
            return 130 if cancel.is_set() else 1
        if args.out:
            _save_text(args.out, done.text)
        if args.stats_json:
            _save_text(args.stats_json, json.dumps(done.stats, indent=2, ensure_ascii=False) + "\n")
        stats = done.stats
        status.message(
            f"Done: {stats['words']:,} words (target {stats['target_words']:,}, length score "
            f"{stats['length_score']}), {stats['tokens_per_second']} tok/s, {format_duration(stats['elapsed_s'])}."
        )
    return 0


def _save_text(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def cmd_plan(args: argparse.Namespace) -> int:
    _check_words(args.words)
    _check_out(args.out, (".json", ".txt"))
    words = args.words or target_from_instruction(args.prompt).words
    with _CancelOnSigint() as cancel, open_backend(args, lambda m: print(m, file=sys.stderr)) as backend:
        result = PlanResult(Plan([]))
        for event in generate_plan(backend, args.prompt, words, notes=_notes(args), sampling=_sampling(args),
                                   cancel=cancel, result=result):
            if isinstance(event, ev.Warning):
                print(f"longwriter: note: {event.message}", file=sys.stderr)
        if cancel.is_set() or not result.plan.sections:
            return 130
        text = result.plan.to_json() + "\n" if not args.out or args.out.suffix.lower() == ".json" \
            else result.plan.to_text() + "\n"
        if args.out:
            _save_text(args.out, text)
            print(f"Plan written to {args.out}.", file=sys.stderr)
        if not args.quiet:
            sys.stdout.write(text)
    return 0
