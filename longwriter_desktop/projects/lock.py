"""One writer per project: an exclusive OS lock (:mod:`longwriter_desktop.locks`) on a small file beside
the database. A lock left behind by a dead run is simply taken over (a reused pid cannot keep a project
locked). The file also records who holds it, for the error message.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ProjectError
from ..locks import try_lock, unlock


class ProjectLock:
    """An exclusive lock on one project, held until ``release`` or the end of the process."""

    def __init__(self, path: Path, project_id: int) -> None:
        self.path = path
        self.project_id = project_id
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ProjectError naming the process that holds it."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ProjectError(f"Could not create the lock file {self.path}: {exc.strerror or exc}") from exc
        try:
            locked = try_lock(fd)
        except OSError as exc:
            os.close(fd)
            raise ProjectError(f"Could not lock {self.path}: {exc.strerror or exc}") from exc
        if not locked:
            os.close(fd)
            raise ProjectError(self._held_elsewhere_message())
        self._fd = fd
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(record).encode())
        except OSError:
            pass  # the record only improves another process's error message; the lock itself is held

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _held_elsewhere_message(self) -> str:
        holder = read_holder(self.path)
        who = "another LongWriter"
        if holder is not None:
            pid, host, since = holder
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since))
            if pid == os.getpid() and host == socket.gethostname():
                who = "this LongWriter (in another window or job)"
            else:
                where = "" if host == socket.gethostname() else f" on {host}"
                who = f"another LongWriter (process {pid}{where}, since {when})"
        return (
            f"Project {self.project_id} is being written by {who}. "
            "Wait for that run to finish or stop it, then try again."
        )


def read_holder(path: Path) -> tuple[int, str, float] | None:
    """(pid, host, since) recorded by the last holder of a lock file, or None when unreadable."""
    try:
        record = json.loads(path.read_bytes()[:4096].decode())
        return int(record["pid"]), str(record["host"]), float(record["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_locked(path: Path) -> bool:
    """True while some process (this one included) holds the lock on ``path``."""
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        if try_lock(fd):
            unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def setup_lock(path: Path, timeout: float) -> Iterator[None]:
    """Serialise opening the database (WAL switch, migrations) across threads and processes.

    SQLite can answer "busy" at once, without waiting, when several connections switch a new file to WAL
    and migrate it together; one at a time, each step is quick.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ProjectError(
            f"Could not open the projects database: the data folder {path.parent} cannot be written "
            f"({exc.strerror or exc}). Make it writable (or set LONGWRITER_HOME to a folder you can write), "
            "then try again."
        ) from exc
    try:
        deadline = time.monotonic() + timeout
        while not try_lock(fd):
            if time.monotonic() > deadline:
                raise ProjectError("Another LongWriter has been opening the projects database for too long. "
                                   "Try again.")
            time.sleep(0.02)
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)
