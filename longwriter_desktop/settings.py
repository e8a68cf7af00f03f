"""The user's settings: a typed object saved as JSON in the config folder (no Qt: the CLI can read it too)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from . import paths
from .engine.backend import Sampling
from .engine.llama_backend import LoadSettings, parse_gpu_layers
from .errors import InputError
from .export.atomic_file import write_atomically

log = logging.getLogger(__name__)

KV_TYPES = ("f16", "q8_0", "q4_0")


@dataclass(frozen=True)
class Settings:
    """How models are loaded and sampled, and which model the user last chose."""

    model: str | None = None  # an installed model id; None = the default model
    n_ctx: int | None = None  # None = the engine's default, capped by the model
    gpu_layers: str = "auto"  # "auto", "all" or a number of layers
    threads: int | None = None  # None = llama.cpp's choice
    temperature: float = 0.5
    top_p: float = 0.8
    repeat_penalty: float = 1.0
    kv_type: str = "f16"

    def validated(self) -> Settings:
        """The same settings, checked; raises InputError with a plain message on a bad value."""
        if self.n_ctx is not None and not 512 <= self.n_ctx <= 1_048_576:
            raise InputError("The context size must be between 512 and 1,048,576 tokens.")
        gpu = parse_gpu_layers(self.gpu_layers)
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise InputError("Threads must be a number from 1 to 1024.")
        if not 0 <= self.temperature <= 5:
            raise InputError("The temperature must be between 0 and 5.")
        if not 0 < self.top_p <= 1:
            raise InputError("Top-p must be above 0 and at most 1.")
        if not 0.5 <= self.repeat_penalty <= 2:
            raise InputError("The repetition penalty must be between 0.5 and 2.")
        if self.kv_type not in KV_TYPES:
            raise InputError(f"The KV cache type must be one of {', '.join(KV_TYPES)}.")
        return replace(self, gpu_layers=str(gpu))

    def load_settings(self) -> LoadSettings:
        """What the engine needs to load a model with these settings."""
        return LoadSettings(
            n_ctx=self.n_ctx, gpu_layers=self.gpu_layers, threads=self.threads, kv_type=self.kv_type
        )

    def sampling(self) -> Sampling:
        """What the engine needs to sample with these settings."""
        return Sampling(temperature=self.temperature, top_p=self.top_p, repeat_penalty=self.repeat_penalty)


def _from_dict(data: dict[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    if "gpu_layers" in values:
        values["gpu_layers"] = str(values["gpu_layers"])
    return Settings(**values).validated()


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults when the file is missing, and (logged) when it is unreadable."""
    path = path or paths.settings_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(data, dict):
        log.warning("settings file %s does not hold an object; using defaults", path)
        return Settings()
    try:
        return _from_dict(data)
    except (InputError, TypeError, ValueError) as exc:
        log.warning("settings file %s has a bad value (%s); using defaults", path, exc)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Check and save the settings atomically; returns the file."""
    path = path or paths.settings_file()
    checked = settings.validated()
    text = json.dumps(asdict(checked), indent=2) + "\n"
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))
    return path
