"""Where a project writes: a local GGUF with its load settings, or an OpenAI-compatible server.

A :data:`BackendChoice` is a typed value that both front ends build (the CLI from its options, the window
from its settings and the Servers page), that a project records (:func:`run_record`) and that a resumed
run reads back (:func:`choice_from_record`). :func:`open_backend` turns it into an engine backend.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine.backend import Backend, Sampling
from ..engine.gguf import GGUFInfo, read_gguf
from ..engine.llama_backend import LlamaBackend, LoadSettings, choose_n_ctx, parse_gpu_layers
from ..engine.prompts import Family
from ..errors import InputError, ModelError
from ..library.fit import FitReport, Machine, ModelShape, Verdict, check_fit, lighter_kv_fit
from ..library.installed import resolve_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalModel:
    """A GGUF model run by llama.cpp in this process."""

    model: str | None = None  # an installed model id or a .gguf path; None = the default model
    settings: LoadSettings = field(default_factory=LoadSettings)
    force: bool = False  # load even if the fit check says it won't fit (the user confirmed it)

    def describe(self) -> str:
        return f"this computer ({self.model or 'the default model'})"


@dataclass(frozen=True)
class ApiKey:
    """Where a server's API key comes from; the key itself is never saved by the app."""

    source: str = "none"  # "none", "env" (an environment variable) or "keyring" (the OS keyring)
    name: str = ""  # the variable's name, or the keyring entry's user name

    def __post_init__(self) -> None:
        if self.source not in ("none", "env", "keyring"):
            raise InputError(f"Unknown API key source '{self.source}': use none, env or keyring.")

    def resolve(self) -> str | None:
        """The key, or None when none is needed; InputError in one sentence when it cannot be read."""
        if self.source == "env":
            value = os.environ.get(self.name)
            if not value:
                raise InputError(f"The environment variable {self.name} (named as the server's API key) is not set.")
            return value
        if self.source == "keyring":
            from . import keys

            return keys.read_key(self.name)
        return None


@dataclass(frozen=True)
class ServerChoice:
    """An OpenAI-compatible server: llama.cpp's or llama-cpp-python's server, vLLM, Ollama."""

    base_url: str
    model: str | None = None  # the server's model name; None = the first one it lists
    key: ApiKey = field(default_factory=ApiKey)
    n_ctx: int | None = None  # for servers that don't report their context size
    family: Family | None = None  # override the prompt format guessed from the model name

    def describe(self) -> str:
        return f"the server at {self.base_url}" + (f" ({self.model})" if self.model else "")


BackendChoice = LocalModel | ServerChoice


# -- loading and connecting ------------------------------------------------------------------------------


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


def connect_server(choice: ServerChoice) -> Backend:
    """Connect to an OpenAI-compatible server (it is asked for its models and context size)."""
    from ..engine.openai_backend import OpenAIBackend
    from ..engine.prompts import format_for

    if not choice.base_url.strip():
        raise InputError("A server needs its address, for example http://127.0.0.1:8080/v1")
    return OpenAIBackend(
        choice.base_url,
        api_key=choice.key.resolve(),
        model=choice.model,
        prompt_format=format_for(choice.family) if choice.family else None,
        n_ctx=choice.n_ctx,
    )


def open_backend(choice: BackendChoice, progress: Callable[[float], bool] | None = None) -> Backend:
    """Load the local model or connect to the server; the caller closes the backend."""
    if isinstance(choice, ServerChoice):
        return connect_server(choice)
    return load_local(choice.model, choice.settings, progress=progress, force=choice.force)


@contextlib.contextmanager
def opened(choice: BackendChoice, message: Callable[[str], Any]) -> Iterator[Backend]:
    """The backend, announced in one line and closed afterwards."""
    started = time.perf_counter()
    backend = open_backend(choice)
    message(f"Model {backend.info.model} loaded in {time.perf_counter() - started:.1f} s "
            f"({backend.info.device}, context {backend.info.n_ctx:,} tokens).")
    try:
        yield backend
    finally:
        backend.close()


# -- the project record ------------------------------------------------------------------------------------

RECORD_KEYS = ("backend", "model", "ctx", "gpu_layers", "threads", "family", "kv_type", "seed", "temperature",
               "top_p", "repeat_penalty", "base_url", "api_model", "api_key_env", "api_key_keyring")


def run_record(choice: BackendChoice, sampling: Sampling) -> dict[str, Any]:
    """What a project records of a run's backend and settings, so that a resumed run loads and samples alike.

    The key's source is recorded (a variable's name, a keyring entry), never the key.
    """
    record: dict[str, Any] = dict.fromkeys(RECORD_KEYS)
    record.update(seed=sampling.seed, temperature=sampling.temperature, top_p=sampling.top_p,
                  repeat_penalty=sampling.repeat_penalty)
    if isinstance(choice, ServerChoice):
        record.update(
            backend="openai", base_url=choice.base_url, api_model=choice.model, ctx=choice.n_ctx,
            family=choice.family.value if choice.family else None, gpu_layers="auto",
            api_key_env=choice.key.name if choice.key.source == "env" else None,
            api_key_keyring=choice.key.name if choice.key.source == "keyring" else None,
        )
    else:
        load = choice.settings
        record.update(
            backend="local", model=_model_id(choice.model), ctx=load.n_ctx, gpu_layers=str(load.gpu_layers),
            threads=load.threads, family=load.family.value if load.family else None, kv_type=load.kv_type,
        )
    return record


def _model_id(model: str | None) -> str | None:
    """The model as given (an id or a path), or the default model's id when none is named, so that a resumed
    run uses the same model even after the default changed."""
    if model:
        return model
    try:
        return resolve_model(None).id
    except (InputError, ModelError):
        return None


def _family(value: Any) -> Family | None:
    if not value:
        return None
    try:
        return Family.parse(str(value))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def choice_from_record(record: dict[str, Any], *, model: str = "") -> BackendChoice:
    """The backend a project recorded (``model``: the project's model, when the record names none)."""
    if record.get("backend") == "openai":
        if record.get("api_key_keyring"):
            key = ApiKey("keyring", str(record["api_key_keyring"]))
        elif record.get("api_key_env"):
            key = ApiKey("env", str(record["api_key_env"]))
        else:
            key = ApiKey()
        return ServerChoice(str(record.get("base_url") or ""), record.get("api_model") or None, key,
                            record.get("ctx"), _family(record.get("family")))
    settings = LoadSettings(
        n_ctx=record.get("ctx"), gpu_layers=record.get("gpu_layers") or "auto", threads=record.get("threads"),
        family=_family(record.get("family")), kv_type=record.get("kv_type") or "f16",
    )
    return LocalModel(record.get("model") or model or None, settings)


def sampling_from_record(record: dict[str, Any], base: Sampling | None = None) -> Sampling:
    """The sampling a project recorded, on top of ``base`` (defaults where the record has no value)."""
    sampling = base or Sampling()
    values = {key: record[key] for key in ("temperature", "top_p", "repeat_penalty", "seed")
              if record.get(key) is not None}
    return replace(sampling, **values)
