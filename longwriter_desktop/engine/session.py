"""Opening a backend from user settings: shared by the CLI, the GUI worker and the benchmarks."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..library.installed import resolve_model
from .backend import Backend
from .llama_backend import LlamaBackend, LoadSettings
from .prompts import Family


def load_settings_from_args(args: argparse.Namespace) -> LoadSettings:
    family = Family.parse(args.family) if getattr(args, "family", None) else None
    return LoadSettings(
        n_ctx=getattr(args, "ctx", None),
        gpu_layers=getattr(args, "gpu_layers", "auto") or "auto",
        threads=getattr(args, "threads", None),
        family=family,
    )


def load_local(model: str | None, settings: LoadSettings,
               progress: Callable[[float], bool] | None = None) -> LlamaBackend:
    """Resolve a model id or path (validating its header) and load it."""
    installed = resolve_model(model)
    return LlamaBackend(installed.path, settings, model_id=installed.id, progress=progress)


@contextlib.contextmanager
def open_backend(args: argparse.Namespace, message: Callable[[str], Any]) -> Iterator[Backend]:
    """The backend the command line asked for, closed afterwards."""
    settings = load_settings_from_args(args)
    started = time.perf_counter()
    backend = load_local(getattr(args, "model", None), settings)
    message(f"Model {backend.info.model} loaded in {time.perf_counter() - started:.1f} s "
            f"({backend.info.device}, context {backend.info.n_ctx:,} tokens).")
    try:
        yield backend
    finally:
        backend.close()
