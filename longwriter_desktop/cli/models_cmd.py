"""`longwriter models ...`: list and manage models."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..engine.prompts import detect_family
from ..errors import InputError
from ..library import catalog, fit, gpu
from ..library.gguf import GGUFError, read_gguf
from ..library.installed import BUILTIN_INSTALL_HINT, import_model, list_installed, remove_model
from ..library.memory import system_memory
from .output import format_bytes, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and check models")
    models_sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.required = True
    list_parser = models_sub.add_parser("list", help="installed models with family, size and trained context")
    list_parser.set_defaults(func=cmd_list)
    register_library(models_sub)


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
    rows = []
    for entry in catalog.CATALOG:
        report = fit.fit_catalog_entry(entry, machine)
        size = format_bytes(entry.size_bytes)
        if entry.size_kind is catalog.SizeKind.ESTIMATE:
            size = f"~{size}"
        marks = " *" if entry.default else ""
        if entry.file_name.lower() in installed:
            marks += " (installed)"
        badge = f"{_badge(report)} at {report.context // 1024}k"
        rows.append((entry.id + marks, entry.quant, size, entry.licence,
                     f"{entry.recommended_context // 1024}k", badge))
    print_table(("id", "quant", "size", "licence", "max context", "fit here"), rows)
    ram = f"{machine.ram_total / 1e9:.1f} GB RAM ({machine.ram_available / 1e9:.1f} GB free)"
    gpus = ", ".join(f"{device.name} {device.description}" for device in machine.gpus) or "no GPU"
    print(f"\n* the default.  Fit: {ram}, {gpus}; `longwriter models fit ID` explains one model.")
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
