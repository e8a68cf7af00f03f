"""`longwriter models catalog|import|remove|fit|gpu` through the real command-line entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from longwriter_desktop import paths
from longwriter_desktop.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_catalog_lists_every_model_with_a_fit_badge(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "catalog")
    assert code == 0
    assert "longwriter-llama3.1-8b-q4_k_m *" in out
    assert "smollm2-135m (installed)" in out
    assert "Built with glm-4" in out
    lines = [line for line in out.splitlines() if line.startswith(("longwriter-", "smollm2"))]
    assert len(lines) == 14
    assert all(any(badge in line for badge in ("fits", "tight", "won't fit")) for line in lines)


def test_import_fit_and_remove_a_local_model(capsys: pytest.CaptureFixture[str], builtin_gguf: Path,
                                             tmp_path: Path) -> None:
    source = tmp_path / "Tiny-Writer.gguf"
    shutil.copyfile(builtin_gguf, source)
    code, out, _ = run(capsys, "import", str(source))
    assert code == 0 and "Imported tiny-writer" in out
    assert (paths.models_dir() / "Tiny-Writer.gguf").is_file()

    code, out, _ = run(capsys, "fit", "tiny-writer", "--ctx", "4096", "--kv-type", "q8_0")
    assert code == 0
    assert "figures from  the file's header" in out
    assert "4,096 tokens, q8_0 KV cache, flash attention on" in out
    assert "verdict       fits" in out

    code, out, _ = run(capsys, "remove", "tiny-writer")
    assert code == 0 and "Removed" in out
    assert not (paths.models_dir() / "Tiny-Writer.gguf").exists()


def test_fit_of_a_catalog_entry_and_of_a_path(capsys: pytest.CaptureFixture[str], builtin_gguf: Path) -> None:
    code, out, _ = run(capsys, "fit", "longwriter-llama3.1-8b-q4_k_m", "--ctx", "16384", "--flash-attn")
    assert code == 0
    assert "the catalog (the model is not downloaded)" in out
    assert "4.92 GB weights + 2.15 GB KV cache" in out
    code, out, _ = run(capsys, "fit", str(builtin_gguf), "--gpu-layers", "-1")
    assert code == 0 and "SmolLM2" in out


def test_errors_are_one_line_with_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "fit", "no-such-model")
    assert code == 2 and "neither an installed model, a catalog id nor a file" in err
    code, _, err = run(capsys, "remove", "smollm2-135m")
    assert code == 2 and "cannot be removed" in err
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a model at all, just some text")
    code, _, err = run(capsys, "import", str(junk))
    assert code == 1 and "not a GGUF model file" in err
    assert "Traceback" not in err


def test_gpu_reports_the_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gpu")
    assert code == 0
    assert "built with: CPU" in out
    assert "runs on:" in out
    assert "CPU" in out.split("device", 1)[1]
