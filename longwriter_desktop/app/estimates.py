"""Time estimates for installed models: the engine's speed model (:mod:`..engine.estimate`) applied to a model
the library resolves, without loading it."""

from __future__ import annotations

from typing import Any

from ..engine.estimate import DocumentEstimate, ModelTimes, SpeedStore, scaled_profile, settings_key
from ..engine.gguf import read_gguf
from ..engine.llama_backend import choose_n_ctx
from ..library.installed import resolve_model


def installed_times(model: str | None, settings: Any, *, store: SpeedStore | None = None,
                    allow_rough: bool = True) -> ModelTimes:
    """The stored profile for an installed model loaded with these LoadSettings, without loading it."""
    installed = resolve_model(model)
    header = read_gguf(installed.path)
    store = store or SpeedStore()
    key = settings_key(installed.path, header.file_size, settings)
    n_ctx = choose_n_ctx(settings.n_ctx, header.context_length)
    profile = store.get(key)
    if profile is not None and profile.decode_s > 0:
        return ModelTimes(model, profile, n_ctx)
    rough = scaled_profile(store.all(), key, installed.id, header.file_size,
                           header.kv_bytes_per_token(2.0)) if allow_rough else None
    return ModelTimes(model, rough, n_ctx, rough=rough is not None)


def estimate_installed(model: str | None, settings: Any, words: int, *, store: SpeedStore | None = None,
                       allow_rough: bool = True) -> DocumentEstimate | None:
    """The estimate for an installed model from the stored profiles, without loading it (None: none yet)."""
    return installed_times(model, settings, store=store, allow_rough=allow_rough).estimate(words)
