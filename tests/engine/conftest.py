from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings


@pytest.fixture(scope="module")
def backend(builtin_gguf: Path) -> Iterator[LlamaBackend]:
    """The real built-in model, loaded once per test module (0.2-0.5 s)."""
    with LlamaBackend(builtin_gguf, LoadSettings(n_ctx=8192), model_id="smollm2-135m") as loaded:
        yield loaded
