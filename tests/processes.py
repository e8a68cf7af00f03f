"""Helpers for the tests that run the app's processes side by side on one data folder and kill them."""

from __future__ import annotations

from pathlib import Path


def deleted_wal(pid: int) -> list[str]:
    """The process's open files that are a deleted SQLite WAL: the sign that another process, believing itself
    the last user, deleted the WAL under a writer that had lost its POSIX locks (issue 13)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if "-wal" in target and target.endswith("(deleted)"):
            found.append(target)
    return found
