"""Importing and removing local GGUF files, with the real built-in model as the file."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from longwriter_desktop import paths
from longwriter_desktop.engine.gguf import GGUFError
from longwriter_desktop.errors import InputError, ModelError
from longwriter_desktop.library.installed import (
    BUILTIN_ID,
    import_model,
    list_installed,
    remove_model,
    resolve_model,
)


@pytest.fixture
def model_copy(builtin_gguf: Path, tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "My-Story-Model.Q4_1.gguf"
    path.parent.mkdir()
    shutil.copyfile(builtin_gguf, path)
    return path


def models_folder_entries() -> list[str]:
    return sorted(p.name for p in paths.models_dir().iterdir())


def test_import_copies_into_the_models_folder(model_copy: Path) -> None:
    model = import_model(model_copy)
    assert model.id == "my-story-model.q4_1"
    assert model.path.parent == paths.models_dir()
    assert model.path.read_bytes() == model_copy.read_bytes()
    assert not model.path.is_symlink()
    assert models_folder_entries() == ["My-Story-Model.Q4_1.gguf"]  # no temporary file left
    assert model.id in [m.id for m in list_installed()]
    assert resolve_model(model.id).path == model.path
    # Importing the same file again is a no-op, not an error.
    again = import_model(model_copy)
    assert again.path == model.path and models_folder_entries() == ["My-Story-Model.Q4_1.gguf"]


def test_a_different_file_with_the_same_name_is_refused(model_copy: Path, tmp_path: Path) -> None:
    installed = import_model(model_copy)
    other = tmp_path / "other" / model_copy.name
    other.parent.mkdir()
    data = bytearray(model_copy.read_bytes())
    data[-1] ^= 0xFF  # same header and size, different weights
    other.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="different model called My-Story-Model.Q4_1.gguf is already"):
        import_model(other)
    assert installed.path.read_bytes() == model_copy.read_bytes()
    assert models_folder_entries() == ["My-Story-Model.Q4_1.gguf"]


def test_a_truncated_download_is_rejected(model_copy: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(model_copy.read_bytes()[: 3_000_000])  # the whole header, a little of the weights
    with pytest.raises(GGUFError, match=r"truncated.gguf is truncated: .*bytes missing\). Download it again"):
        import_model(truncated)
    header_cut = tmp_path / "header-cut.gguf"
    header_cut.write_bytes(model_copy.read_bytes()[:600_000])
    with pytest.raises(GGUFError, match="header-cut.gguf is not a valid GGUF model: .*may be truncated"):
        import_model(header_cut)
    assert models_folder_entries() == []


def test_files_that_are_not_models_are_rejected(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("These are my notes, not a model. " * 10)
    with pytest.raises(GGUFError, match=r"notes.gguf is not a GGUF model file \(it does not start with"):
        import_model(text)
    tiny = tmp_path / "tiny.gguf"
    tiny.write_bytes(b"GGUF")
    with pytest.raises(GGUFError, match="only 4 bytes long"):
        import_model(tiny)
    with pytest.raises(InputError, match="Model file not found"):
        import_model(tmp_path / "missing.gguf")
    with pytest.raises(InputError, match="is a folder"):
        import_model(tmp_path)
    assert models_folder_entries() == []


def test_a_model_without_the_gguf_extension_gets_one(model_copy: Path) -> None:
    bare = model_copy.with_name("storyteller")
    model_copy.rename(bare)
    model = import_model(bare)
    assert model.path.name == "storyteller.gguf" and model.id == "storyteller"


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need extra rights on Windows")
def test_import_by_link_leaves_the_file_in_place(model_copy: Path) -> None:
    model = import_model(model_copy, copy=False)
    assert model.path.is_symlink() and model.path.resolve() == model_copy.resolve()
    assert model.size_bytes == model_copy.stat().st_size
    assert remove_model(model.id) == model.path
    assert model_copy.is_file() and models_folder_entries() == []


def test_not_enough_disk_space_is_found_before_copying(model_copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    usage = shutil.disk_usage(paths.models_dir())
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage._replace(free=50_000_000))
    with pytest.raises(ModelError, match=r"Not enough disk space to import My-Story-Model.Q4_1.gguf"):
        import_model(model_copy)
    assert models_folder_entries() == []


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Make writes past ``limit`` bytes fail with EFBIG, as a full disk fails them with ENOSPC."""
    import resource
    import signal

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="RLIMIT_FSIZE behaviour")
def test_a_disk_that_fills_up_mid_copy_leaves_nothing_behind(model_copy: Path) -> None:
    paths.models_dir()  # create the folder before writes are limited
    with file_size_limit(20_000_000), pytest.raises(ModelError, match="filled up .* nothing was kept"):
        import_model(model_copy)
    assert models_folder_entries() == []


def test_remove_deletes_the_file_and_its_empty_folder(model_copy: Path) -> None:
    sub = paths.models_dir() / "bartowski" / "Some-GGUF"
    sub.mkdir(parents=True)
    shutil.copyfile(model_copy, sub / "Some-Model-Q4_1.gguf")
    assert "some-model-q4_1" in [m.id for m in list_installed()]
    removed = remove_model("some-model-q4_1")
    assert removed == sub / "Some-Model-Q4_1.gguf"
    assert not (paths.models_dir() / "bartowski").exists()
    assert paths.models_dir().is_dir()


def test_remove_refuses_the_builtin_and_unknown_ids(model_copy: Path) -> None:
    with pytest.raises(InputError, match="built-in model .* cannot be removed"):
        remove_model(BUILTIN_ID)
    with pytest.raises(InputError, match="built-in model"):
        remove_model("SmolLM2-135M-Instruct.Q4_1.gguf")
    import_model(model_copy)
    with pytest.raises(InputError, match=r"No installed model is called 'nope'. Removable models: my-story"):
        remove_model("nope")
    # An id is never taken as a path: nothing outside the models folder can be deleted.
    with pytest.raises(InputError):
        remove_model(str(model_copy))
    assert model_copy.is_file()


def test_remove_by_file_name_and_ambiguous_ids(model_copy: Path) -> None:
    folder = paths.models_dir()
    for sub in ("a", "b"):
        (folder / sub).mkdir()
        shutil.copyfile(model_copy, folder / sub / "twin.gguf")
    with pytest.raises(InputError, match="names several files"):
        remove_model("twin")
    model = import_model(model_copy)
    assert remove_model(model.path.name) == model.path
