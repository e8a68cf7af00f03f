"""`longwriter models ...`: list and manage models."""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..engine.estimate import CATALOG_WORDS, SpeedStore, estimate_model_file, format_seconds
from ..engine.gguf import GGUFError, read_gguf
from ..engine.prompts import detect_family
from ..errors import InputError
from ..library import catalog, fit, gpu
from ..library import download as dl
from ..library.hub import check_repo_id, list_gguf_files
from ..library.installed import BUILTIN_INSTALL_HINT, import_model, list_installed, remove_model
from ..library.memory import system_memory
from .output import format_bytes, format_duration, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and check models")
    models_sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.required = True
    list_parser = models_sub.add_parser("list", help="installed models with family, size and trained context")
    list_parser.set_defaults(func=cmd_list)
    register_library(models_sub)
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
        rows.append((model.id + (" (built in)" if model.builtin else ""), family,
                     format_bytes(model.size_bytes), ctx, str(model.path)))
    if not rows:
        print(f"No models installed. Install the built-in one with: {BUILTIN_INSTALL_HINT}")
        return 0
    print_table(("id", "family", "size", "trained context", "file"), rows)
    return 0


# -- catalog, import, remove, fit, gpu ------------------------------------------------------------------


def register_library(models_sub: argparse._SubParsersAction) -> None:
    """`models catalog`, `import`, `remove`, `fit` and `gpu`."""
    catalog_parser = models_sub.add_parser("catalog",
                                           help="models the app offers, with a fit badge for this machine")
    catalog_parser.set_defaults(func=cmd_catalog)

    import_parser = models_sub.add_parser("import",
                                          help="check a .gguf file and copy it into the models folder")
    import_parser.add_argument("path", help="the .gguf file")
    import_parser.add_argument("--link", action="store_true",
                               help="leave the file where it is and link to it instead of copying")
    import_parser.set_defaults(func=cmd_import)

    remove_parser = models_sub.add_parser("remove", help="delete an installed model")
    remove_parser.add_argument("id", help="the model id or file name (see `longwriter models list`)")
    remove_parser.set_defaults(func=cmd_remove)

    fit_parser = models_sub.add_parser("fit", help="will a model run here, with how much context?")
    fit_parser.add_argument("id", help="a catalog id, an installed model id, or a path to a .gguf file")
    fit_parser.add_argument("--ctx", type=int, help=f"context size in tokens (default "
                            f"{fit.DEFAULT_CONTEXT:,}, or the model's maximum if smaller)")
    fit_parser.add_argument("--kv-type", choices=[kind.value for kind in fit.KVType], default="f16",
                            help="KV cache type (q8_0 and q4_0 need flash attention; default f16)")
    fit_parser.add_argument("--gpu-layers", type=int,
                            help="layers to offload to the GPU (-1 = all; default: the most that fit)")
    fit_parser.add_argument("--flash-attn", action=argparse.BooleanOptionalAction, default=None,
                            help="assume flash attention on or off (default: as the app loads models)")
    fit_parser.set_defaults(func=cmd_fit)

    gpu_parser = models_sub.add_parser("gpu", help="llama.cpp's backend and devices; why it runs on the CPU")
    gpu_parser.set_defaults(func=cmd_gpu)


def _badge(report: fit.FitReport) -> str:
    if report.verdict is fit.Verdict.FITS:
        return "fits"
    if report.recommended_context:
        return f"{report.verdict.value} (ok at {report.recommended_context // 1024}k)" if (
            report.recommended_verdict is fit.Verdict.FITS) else report.verdict.value
    return report.verdict.value


def cmd_catalog(args: argparse.Namespace) -> int:
    machine = fit.Machine.current()
    installed = {model.path.name.lower() for model in list_installed()}
    profiles = SpeedStore().all()
    rows = []
    for entry in catalog.CATALOG:
        report = fit.fit_catalog_entry(entry, machine)
        took_time = estimate_model_file(Path(entry.file).name, entry.size_bytes,
                                        entry.architecture.kv_bytes_per_token_f16,
                                        report.recommended_context or report.context, CATALOG_WORDS,
                                        profiles=profiles)
        size = format_bytes(entry.size_bytes)
        if entry.size_kind is catalog.SizeKind.ESTIMATE:
            size = f"~{size}"
        marks = " *" if entry.default else ""
        if entry.file_name.lower() in installed:
            marks += " (installed)"
        badge = f"{_badge(report)} at {report.context // 1024}k"
        if report.kv_type is not fit.KVType.F16:
            badge += f", {report.kv_type.value} KV"
        took = "not measured" if took_time is None else ("~" if took_time.rough else "") + format_seconds(
            took_time.seconds)
        rows.append((entry.id + marks, entry.quant, size, entry.licence,
                     f"{entry.recommended_context // 1024}k", badge, took))
    print_table(("id", "quant", "size", "licence", "max context", "fit here", f"{CATALOG_WORDS:,} words"), rows)
    ram = f"{machine.ram_total / 1e9:.1f} GB RAM ({machine.ram_available / 1e9:.1f} GB free)"
    gpus = ", ".join(f"{device.name} {device.description}" for device in machine.gpus) or "no GPU"
    print(f"\n* the default.  Fit: {ram}, {gpus}; `longwriter models fit ID` explains one model.")
    print(f"Time for {CATALOG_WORDS:,} words on this machine: from each model's measured speed here; ~ means scaled "
          "from another model measured here (run `longwriter write PROMPT --estimate` to measure one).")
    print("Licences:")
    for family in catalog.families():
        entry = next(e for e in catalog.CATALOG if e.family == family)
        print(f"  {family}: {entry.licence_note}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    model = import_model(args.path, copy=not args.link)
    how = "Linked" if args.link else "Imported"
    print(f"{how} {model.id} ({format_bytes(model.size_bytes)}): {model.path}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    path = remove_model(args.id)
    print(f"Removed {path}")
    return 0


def _fit_shape(model_id: str) -> tuple[fit.ModelShape, str]:
    """Numbers for the fit check: an installed model's or a file's header, else the catalog's."""
    for model in list_installed():
        if model_id in (model.id, model.path.name):
            return fit.ModelShape.from_header(read_gguf(model.path)), f"the file's header ({model.path})"
    path = Path(model_id).expanduser()
    if path.is_file():
        return fit.ModelShape.from_header(read_gguf(path)), f"the file's header ({path})"
    entry = catalog.find(model_id)
    if entry is not None:
        return fit.ModelShape.from_catalog(entry), "the catalog (the model is not downloaded)"
    if path.suffix.lower() == ".gguf" or "/" in model_id or "\\" in model_id:
        raise InputError(f"Model file not found: {path}")
    raise InputError(f"'{model_id}' is neither an installed model, a catalog id nor a file. "
                     "See `longwriter models list` and `longwriter models catalog`.")


def cmd_fit(args: argparse.Namespace) -> int:
    shape, source = _fit_shape(args.id)
    flash_attn = fit.BACKEND_FLASH_ATTN if args.flash_attn is None else args.flash_attn
    if args.kv_type != "f16" and args.flash_attn is None:
        flash_attn = True  # the app turns it on for a quantised KV cache
    report = fit.check_fit(shape, fit.Machine.current(), context=args.ctx, kv_type=args.kv_type,
                           gpu_layers=args.gpu_layers, flash_attn=flash_attn)
    estimate = report.estimate
    layers = (f"all {report.total_layers}" if report.gpu_layers == report.total_layers
              else f"{report.gpu_layers} of {report.total_layers}")
    recommended = f"{report.recommended_context:,} tokens" if report.recommended_context else "none fits"
    if report.recommended_context and report.machine.gpus:
        recommended += f", {report.recommended_gpu_layers} GPU layers"
    if report.recommended_verdict is fit.Verdict.TIGHT:
        recommended += " (tight)"
    rows = [
        ("model", report.model),
        ("figures from", source),
        ("context", f"{report.context:,} tokens, {report.kv_type.value} KV cache, flash attention "
                    f"{'on' if report.flash_attn else 'off'}"),
        ("estimate", f"{format_bytes(estimate.total_bytes)} = {format_bytes(estimate.weights_bytes)} "
                     f"weights + {format_bytes(estimate.kv_bytes)} KV cache + "
                     f"{format_bytes(estimate.overhead_bytes)} working memory"),
        ("GPU layers", layers + (f" ({format_bytes(estimate.gpu_bytes)} in GPU memory)" if estimate.gpu_bytes
                                 else "")),
        ("verdict", report.verdict.value),
        ("recommended", recommended),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print()
    print(textwrap.fill(report.explanation, width=100))
    return 0


def cmd_gpu(args: argparse.Namespace) -> int:
    report = gpu.detect()
    version = report.llama_cpp_version or "not installed"
    print(f"llama-cpp-python {version}; built with: {', '.join(report.compiled_backends) or 'unknown'}")
    print(f"runs on: {report.summary}")
    if report.devices:
        ram = system_memory()
        rows = []
        for device in report.devices:
            free, total = device.memory_free, device.memory_total
            if device.kind is gpu.DeviceKind.CPU and ram is not None:
                free, total = ram.available, ram.total  # ggml's CPU device does not tell free memory
            rows.append((device.name, device.kind.value, device.description,
                         format_bytes(free) if free else "?", format_bytes(total) if total else "?"))
        print()
        print_table(("device", "kind", "description", "free", "total"), rows)
    print()
    for paragraph in report.explanation().split("\n"):
        print(paragraph if paragraph.startswith("  ") else textwrap.fill(paragraph, width=100))
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
