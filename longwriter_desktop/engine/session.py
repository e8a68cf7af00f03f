"""Opening a backend from user settings: shared by the CLI, the GUI worker and the benchmarks."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from ..errors import InputError, ModelError
from ..library.fit import FitReport, Machine, ModelShape, Verdict, check_fit, lighter_kv_fit
from ..library.gguf import GGUFInfo, read_gguf
from ..library.installed import resolve_model
from .backend import Backend
from .llama_backend import LlamaBackend, LoadSettings, choose_n_ctx, parse_gpu_layers
from .prompts import Family

log = logging.getLogger(__name__)


def load_settings_from_args(args: argparse.Namespace) -> LoadSettings:
    family = Family.parse(args.family) if getattr(args, "family", None) else None
    return LoadSettings(
        n_ctx=getattr(args, "ctx", None),
        gpu_layers=getattr(args, "gpu_layers", "auto") or "auto",
        threads=getattr(args, "threads", None),
        family=family,
        kv_type=getattr(args, "kv_type", None) or "f16",
    )


def load_fit(header: GGUFInfo, settings: LoadSettings, machine: Machine) -> FitReport:
    """The fit check for loading a model with these settings (the same context and GPU layers as the load).

    Where an f16 KV cache won't fit and a q8_0 one would, the report is for q8_0: :func:`fitted_settings`
    then loads with it.
    """
    layers = parse_gpu_layers(settings.gpu_layers)
    shape = ModelShape.from_header(header)
    report = check_fit(shape, machine,
                       context=choose_n_ctx(settings.n_ctx, header.context_length), kv_type=settings.kv_type,
                       gpu_layers=None if layers == "auto" else -1 if layers == "all" else int(layers),
                       flash_attn=settings.flash_attn or settings.kv_type != "f16")
    return lighter_kv_fit(report, shape)


def fitted_settings(settings: LoadSettings, report: FitReport | None) -> LoadSettings:
    """The settings with the KV-cache type the fit check chose (q8_0 where f16 would not fit)."""
    if report is None or report.kv_type.value == settings.kv_type:
        return settings
    log.info("loading with a %s KV cache: %s", report.kv_type.value, report.notes[-1] if report.notes else "")
    return replace(settings, kv_type=report.kv_type.value, flash_attn=True)


def load_local(model: str | None, settings: LoadSettings,
               progress: Callable[[float], bool] | None = None, *, force: bool = False,
               machine: Machine | None = None) -> LlamaBackend:
    """Resolve a model id or path (validating its header), check it fits this machine, and load it.

    A model that won't fit is refused unless ``force``: loading it would swap the machine to a halt or be
    killed for memory, taking the user's session with it.
    """
    installed = resolve_model(model)
    header = read_gguf(installed.path)
    if not force and not installed.builtin:
        try:
            machine = machine or Machine.current()
        except InputError:  # memory unknown here: nothing to warn with, so let llama.cpp try
            machine = None
        report = load_fit(header, settings, machine) if machine is not None else None
        if report is not None and report.verdict is Verdict.WONT_FIT:
            raise ModelError(f"{report.explanation} To load it anyway, use --force (or confirm in the app).")
        settings = fitted_settings(settings, report)
    return LlamaBackend(installed.path, settings, model_id=installed.id, progress=progress, header=header)


def connect_server(args: argparse.Namespace) -> Backend:
    """An OpenAI-compatible server (llama.cpp server, vLLM, Ollama) from --base-url and friends."""
    from .openai_backend import OpenAIBackend
    from .prompts import format_for

    base_url = getattr(args, "base_url", None)
    if not base_url:
        raise InputError("--backend openai needs --base-url, for example http://127.0.0.1:8080/v1")
    key_env = getattr(args, "api_key_env", None)
    api_key = None
    if key_env:
        api_key = os.environ.get(key_env)
        if not api_key:
            raise InputError(f"The environment variable {key_env} (named by --api-key-env) is not set.")
    family = getattr(args, "family", None)
    return OpenAIBackend(
        base_url,
        api_key=api_key,
        model=getattr(args, "api_model", None),
        prompt_format=format_for(Family.parse(family)) if family else None,
        n_ctx=getattr(args, "ctx", None),
    )


@contextlib.contextmanager
def open_backend(args: argparse.Namespace, message: Callable[[str], Any]) -> Iterator[Backend]:
    """The backend the command line asked for, closed afterwards."""
    started = time.perf_counter()
    if getattr(args, "backend", "local") == "openai":
        backend: Backend = connect_server(args)
    else:
        backend = load_local(getattr(args, "model", None), load_settings_from_args(args),
                             force=bool(getattr(args, "force", False)))
    message(f"Model {backend.info.model} loaded in {time.perf_counter() - started:.1f} s "
            f"({backend.info.device}, context {backend.info.n_ctx:,} tokens).")
    try:
        yield backend
    finally:
        backend.close()
