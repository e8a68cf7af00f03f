"""Write a file so that a reader only ever sees the old version or the complete new one."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, LongWriterError


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; folders cannot be opened for this on Windows."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then move it over ``path`` in one step.

    On any failure the temporary file is removed and an existing ``path`` is left as it was.
    """
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"Cannot save {path.name}: the folder {folder} does not exist.")
    if path.is_dir():
        raise InputError(f"Cannot save to {path}: it is a folder.")
    # Same folder, so os.replace is a rename on one file system, never a copy.
    temp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with temp.open("xb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            shutil.copymode(path, temp)
        temp.replace(path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, PermissionError):
            raise LongWriterError(
                f"Cannot save {path}: permission denied. If the file is open in another program, "
                "close it and export again."
            ) from exc
        if isinstance(exc, OSError):
            raise LongWriterError(f"Cannot save {path}: {exc.strerror or exc}.") from exc
        raise
    _sync_folder(folder)
