"""One file-lock helper: an exclusive OS lock on a small file, for projects, downloads and the database.

The lock is ``flock`` on Linux and macOS and ``msvcrt.locking`` on Windows. The operating system drops it
when the holding process ends in any way (exit, crash, ``kill -9``, power off), so a lock left behind by a
dead process is simply taken over: there is no heartbeat to age out and no process id to guess about.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.platform == "win32":
    import msvcrt

    # msvcrt locks are mandatory: a locked byte cannot be read by others. Lock one byte far past anything
    # the file holds, so another process can still read what the holder wrote there.
    _WINDOWS_LOCK_OFFSET = 1 << 20

    def try_lock(fd: int) -> bool:
        """Take the exclusive lock on an open file without waiting; False when another holds it."""
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the exclusive lock on an open file without waiting; False when another holds it."""
        # flock (not lockf) so two opens in one process also exclude each other.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockFile:
    """A lock file that exists only while it is held: removed on release, never left locked by a dead process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Lock the file (creating it); False when another process or open file holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                locked = try_lock(fd)
            except OSError:
                locked = False
            if not locked:
                os.close(fd)
                return False
            try:
                current = self.path.stat()
                opened = os.fstat(fd)
                same = (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            # Another process removed the file between our open and our lock: lock the new one instead.
            unlock(fd)
            os.close(fd)

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            self.path.unlink()  # while still locked, so nobody can lock the old file in between
        except OSError:
            pass  # Windows cannot remove an open file; an unlocked leftover lock file is harmless
        try:
            unlock(fd)
        except OSError:
            pass
        os.close(fd)
