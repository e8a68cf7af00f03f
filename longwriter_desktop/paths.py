"""Where LongWriter Desktop keeps its files.

Every folder comes from platformdirs, except when ``LONGWRITER_HOME`` is set: then all of them live
under that one folder (tests and benchmarks use it to stay away from the user's real data).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "LONGWRITER_HOME"
_APP = "LongWriterDesktop"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Projects database and other user data."""
    home = _home()
    return _ensure(home / "data" if home else Path(platformdirs.user_data_dir(_APP, appauthor=False)))


def config_dir() -> Path:
    """Settings file."""
    home = _home()
    return _ensure(home / "config" if home else Path(platformdirs.user_config_dir(_APP, appauthor=False)))


def cache_dir() -> Path:
    home = _home()
    return _ensure(home / "cache" if home else Path(platformdirs.user_cache_dir(_APP, appauthor=False)))


def logs_dir() -> Path:
    home = _home()
    return _ensure(home / "logs" if home else Path(platformdirs.user_log_dir(_APP, appauthor=False)))


def models_dir() -> Path:
    """Downloaded and imported GGUF files (large: kept apart from the rest of the data)."""
    return _ensure(data_dir() / "models")


def partial_downloads_dir() -> Path:
    """Partial downloads and their records, inside the models folder so a rename into place is atomic."""
    return _ensure(models_dir() / ".partial")


def projects_db() -> Path:
    return data_dir() / "projects.sqlite3"


def settings_file() -> Path:
    return config_dir() / "settings.json"
