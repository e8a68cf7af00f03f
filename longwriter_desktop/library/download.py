"""Resumable, verified downloads of GGUF files from the Hugging Face Hub.

A download is a generator of typed events (:func:`download`); the CLI prints them and the GUI runs the
generator on a worker thread. Bytes go into ``<models>/.partial/<key>.part`` next to ``<key>.json``, a
record of what the file should become (repo, file, commit, size, sha256, URL, target). A later run, after a
pause, a dropped connection, a kill or a restart, checks the record against the Hub and carries on from the
bytes already on disk; if the file changed on the Hub it starts again and says so. The sha256 is computed
while the bytes arrive (bytes already on disk are re-read once when resuming: hashlib cannot save its
state), checked, and only then is the file moved into ``<models>/<owner>__<name>/<file>`` with an atomic
rename. A lock file keeps two app instances off the same partial file.

The transfer uses the standard library's http.client rather than huggingface_hub's HTTP client: that
client has changed three times across the huggingface_hub versions we accept (requests, httpx, httpx2),
and http.client gives direct access to the socket, so a pause or cancel from another thread can wake a
read that is blocked on a stalled connection, and the read timeout is exactly our stall detector.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import SplitResult, urljoin, urlsplit

from .. import net, paths
from ..engine.events import Event
from ..errors import DownloadError, InputError, LongWriterError
from ..locks import LockFile
from ..units import format_bytes
from . import hub

if TYPE_CHECKING:
    from hashlib import _Hash

log = logging.getLogger(__name__)

RECORD_VERSION = 1
CHUNK_SIZE = 1 << 20
_REHASH_BLOCK = 8 << 20
_MAX_REDIRECTS = 10
_RETRY_STATUSES = (408, 425, 429)
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}
_BAD_NAME_CHARS = set('<>:"|?*\\') | {chr(c) for c in range(32)} | {"\x7f"}


# ----- events -----


@dataclass(frozen=True)
class DownloadChecking(Event):
    """Re-reading the bytes already on disk before resuming (their hash is needed to verify the file)."""

    checked_bytes: int
    partial_bytes: int


@dataclass(frozen=True)
class DownloadStarted(Event):
    repo_id: str
    filename: str
    commit: str
    total_bytes: int
    resumed_bytes: int  # bytes already on disk from an earlier run, not fetched again
    target: Path
    restart_reason: str | None = None  # why bytes on disk were thrown away, when they were


@dataclass(frozen=True)
class DownloadProgress(Event):
    done_bytes: int
    total_bytes: int
    bytes_per_second: float
    eta_seconds: float | None

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


@dataclass(frozen=True)
class DownloadRetrying(Event):
    attempt: int  # failed attempts in a row without progress
    max_attempts: int
    reason: str
    delay_seconds: float
    done_bytes: int


@dataclass(frozen=True)
class DownloadPaused(Event):
    done_bytes: int
    total_bytes: int
    partial_path: Path


@dataclass(frozen=True)
class DownloadVerifying(Event):
    algorithm: str  # "sha256", or "git-sha1" for a small file kept in git rather than LFS
    total_bytes: int


@dataclass(frozen=True)
class DownloadDone(Event):
    path: Path
    size_bytes: int
    digest: str
    algorithm: str
    repo_id: str
    filename: str
    commit: str
    downloaded_bytes: int  # fetched by this run
    seconds: float
    already_present: bool = False


@dataclass(frozen=True)
class DownloadCancelled(Event):
    repo_id: str
    filename: str


@dataclass(frozen=True)
class DownloadFailed(Event):
    message: str
    partial_kept: bool
    error: LongWriterError


DownloadEvent = (DownloadChecking | DownloadStarted | DownloadProgress | DownloadRetrying | DownloadPaused
                 | DownloadVerifying | DownloadDone | DownloadCancelled | DownloadFailed)


# ----- options and control -----


def _open_file(path: Path, mode: str) -> BinaryIO:
    return cast(BinaryIO, open(path, mode))


@dataclass(frozen=True)
class DownloadOptions:
    stall_seconds: float = 30.0  # no bytes for this long: reconnect
    connect_seconds: float = 20.0
    max_attempts: int = 8  # failures in a row without progress before giving up (the partial is kept)
    backoff_seconds: float = 1.0  # first retry delay, doubled each time
    backoff_max_seconds: float = 60.0
    free_space_margin_bytes: int = 200_000_000  # left free after the file, for the system and the app
    progress_interval: float = 0.25
    speed_window_seconds: float = 5.0
    sync_every_bytes: int = 64 << 20  # flush to disk and record a checkpoint this often...
    sync_every_seconds: float = 10.0  # ...or this often, whichever comes first
    # How the partial file is opened for writing: a seam for disk failures (a full disk, a removed drive).
    open_file: Callable[[Path, str], BinaryIO] = _open_file


class DownloadControl:
    """Pause or cancel a running download from another thread; both wake a read blocked on the network."""

    def __init__(self) -> None:
        self._pause = threading.Event()
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None

    def pause(self) -> None:
        """Stop soon and keep the partial file for a later resume."""
        self._pause.set()
        self._request_stop()

    def cancel(self) -> None:
        """Stop soon and delete the partial file and its record."""
        self._cancel.set()
        self._request_stop()

    @property
    def pause_requested(self) -> bool:
        return self._pause.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a pause or cancel cut it short."""
        return self._stop.wait(seconds)

    def _request_stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._socket is not None:
                _shutdown(self._socket)

    def _attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
            if sock is not None and self._stop.is_set():
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# ----- where files go -----


def safe_relative_parts(filename: str) -> tuple[str, ...]:
    """The path components of a repo file name, or InputError if it could escape the models folder."""
    problem = _name_problem(filename)
    if problem:
        raise InputError(f"Refusing to download '{filename}': {problem}.")
    return tuple(filename.split("/"))


def is_safe_file_name(filename: str) -> bool:
    """Whether a repo file name can be saved inside the models folder (see safe_relative_parts)."""
    return _name_problem(filename) is None


def _name_problem(filename: str) -> str | None:
    if not filename:
        return "the file name is empty"
    if len(filename) > 1000:
        return "the file name is too long"
    if filename.startswith("/"):
        return "it is an absolute path"
    if set(filename) & _BAD_NAME_CHARS:
        return "the name has characters that are not allowed in file names (such as \\ : * ? < > |)"
    for part in filename.split("/"):
        if part in ("", ".", ".."):
            return "the path has empty, '.' or '..' parts"
        if part.endswith((".", " ")) or part.startswith(" "):
            return "a path part begins with a space or ends with a dot or a space"
        if part.split(".")[0].lower() in _WINDOWS_RESERVED:
            return f"'{part}' is a reserved device name on Windows"
        if len(part.encode("utf-8")) > 240:
            return "a path part is too long"
    if not filename.lower().endswith(".gguf"):
        return "LongWriter downloads GGUF model files only (names ending in .gguf)"
    return None


def model_folder(repo_id: str) -> Path:
    """The folder in the models folder that holds a repo's files: ``<owner>__<name>``."""
    return paths.models_dir() / hub.check_repo_id(repo_id).replace("/", "__")


def target_path(repo_id: str, filename: str) -> Path:
    """Where a downloaded file ends up; subfolders of the repo are kept, inside the repo's folder."""
    folder = model_folder(repo_id)
    target = folder.joinpath(*safe_relative_parts(filename))
    # Belt and braces: the checks above already make this impossible; compare without resolving symlinks,
    # since a user may have linked a repo's folder to another disk on purpose.
    if not os.path.normpath(target).startswith(os.path.normpath(folder) + os.sep):
        raise InputError(f"Refusing to download '{filename}': it would be saved outside the models folder.")
    return target


@dataclass(frozen=True)
class _PartialFiles:
    part: Path
    record: Path
    lock: Path

    @classmethod
    def of(cls, repo_id: str, filename: str) -> _PartialFiles:
        safe_relative_parts(filename)
        readable = f"{repo_id.replace('/', '__')}__{filename.replace('/', '__')}"[:120]
        digest = hashlib.sha256(f"{repo_id}\0{filename}".encode()).hexdigest()[:12]
        base = paths.partial_downloads_dir() / f"{readable}.{digest}"
        return cls(base.with_name(base.name + ".part"), base.with_name(base.name + ".json"),
                   base.with_name(base.name + ".lock"))


@dataclass
class PartialRecord:
    """What a partial file should become; saved as JSON beside it."""

    repo_id: str
    filename: str
    revision: str
    commit: str
    size: int
    etag: str
    sha256: str | None
    git_sha1: str | None
    url: str
    target: str
    durable_bytes: int = 0  # bytes known to be flushed to disk (a checkpoint)
    tail_retried: bool = False  # the bytes after the checkpoint were already fetched again once
    version: int = RECORD_VERSION
    updated: float = field(default_factory=time.time)

    @property
    def algorithm(self) -> str:
        return "sha256" if self.sha256 else "git-sha1"

    @property
    def expected_digest(self) -> str:
        return self.sha256 or self.git_sha1 or ""

    def new_hasher(self) -> _Hash:
        if self.sha256:
            return hashlib.sha256()
        hasher = hashlib.sha1()  # git's blob id: sha1 over a "blob <size>\0" header and the bytes
        hasher.update(b"blob %d\0" % self.size)
        return hasher

    @classmethod
    def load(cls, path: Path) -> PartialRecord | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != RECORD_VERSION:
                return None
            return cls(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            log.warning("unreadable download record %s", path)
            return None

    def save(self, path: Path) -> None:
        self.updated = time.time()
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)


@dataclass(frozen=True)
class PartialDownload:
    """An unfinished download on disk, for offering a resume."""

    repo_id: str
    filename: str
    revision: str
    done_bytes: int
    total_bytes: int
    partial_path: Path


def list_partial_downloads() -> list[PartialDownload]:
    """Unfinished downloads in the partial-downloads folder, most recent first."""
    found: list[tuple[float, PartialDownload]] = []
    for record_path in paths.partial_downloads_dir().glob("*.json"):
        record = PartialRecord.load(record_path)
        if record is None:
            continue
        part = record_path.with_suffix(".part")
        done = part.stat().st_size if part.is_file() else 0
        found.append((record.updated, PartialDownload(record.repo_id, record.filename, record.revision, done,
                                                      record.size, part)))
    return [item for _, item in sorted(found, key=lambda pair: -pair[0])]


def cancel_download(repo_id: str, filename: str) -> bool:
    """Delete a partial download and its record; False when there was none."""
    repo_id = hub.check_repo_id(repo_id)
    files = _PartialFiles.of(repo_id, filename)
    lock = LockFile(files.lock)
    if not lock.acquire():
        raise DownloadError(
            f"{filename} is being downloaded right now by another LongWriter window or command. "
            "Stop it there first."
        )
    try:
        existed = files.part.exists() or files.record.exists()
        _remove(files.part, files.record)
        return existed
    finally:
        lock.release()


def download(repo_id: str, filename: str, revision: str | None = None, *,
             control: DownloadControl | None = None,
             options: DownloadOptions | None = None) -> Iterator[DownloadEvent]:
    """Download one file of a Hub repo into the models folder, resuming what earlier runs left."""
    job: _Job | None = None
    error: LongWriterError
    try:
        job = _Job(repo_id, filename, revision, control or DownloadControl(), options or DownloadOptions())
        yield from job.run()
        return
    except LongWriterError as exc:
        error = exc
    except OSError as exc:  # the models folder itself: unwritable, full, on a removed drive
        log.exception("download of %s failed on disk", filename)
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
        error = DownloadError(
            ("The disk is full" if full else f"The models folder could not be used ({exc.strerror or exc})")
            + f", so {filename} could not be downloaded. Anything downloaded so far is kept; fix this and "
            "run the download again."
        )
    log.warning("download of %s from %s failed: %s", filename, repo_id, error)
    try:
        kept = job is not None and job.files.part.is_file() and job.files.part.stat().st_size > 0
    except OSError:
        kept = False
    yield DownloadFailed(str(error), kept, error)


# ----- the job -----


class _Retry(Exception):
    """A failure worth another attempt (dropped connection, stall, 5xx)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class _Stop(Exception):
    """The user paused or cancelled."""


class _Job:
    def __init__(self, repo_id: str, filename: str, revision: str | None, control: DownloadControl,
                 options: DownloadOptions) -> None:
        self.repo_id = hub.check_repo_id(repo_id)
        self.filename = filename
        self.target = target_path(self.repo_id, filename)
        self.files = _PartialFiles.of(self.repo_id, filename)
        self.revision = revision
        self.control = control
        self.opts = options
        self.handle: BinaryIO | None = None
        self.hasher: _Hash = hashlib.sha256()
        self.done = 0
        self.fetched = 0
        self.began = time.monotonic()
        self.last_sync = time.monotonic()
        self.record: PartialRecord | None = None

    def run(self) -> Iterator[DownloadEvent]:
        lock = LockFile(self.files.lock)
        if not lock.acquire():
            raise DownloadError(
                f"{self.filename} is already being downloaded by another LongWriter window or command. "
                "Let that one finish, or stop it first."
            )
        try:
            yield from self._run_locked()
        except _Stop:
            yield from self._stopped()
        except DownloadError:
            self._sync_quietly()
            raise
        finally:
            self._close(quiet=True)
            lock.release()

    def _run_locked(self) -> Iterator[DownloadEvent]:
        remote = hub.remote_file(self.repo_id, self.filename, self.revision)
        record, resume_from, restart_reason = self._plan(remote)
        if record is None and self.target.is_file() and self.target.stat().st_size == remote.size:
            yield DownloadDone(self.target, remote.size, remote.sha256 or remote.git_sha1 or "",
                               "sha256" if remote.sha256 else "git-sha1", self.repo_id, self.filename,
                               remote.commit, 0, 0.0, already_present=True)
            return
        self._check_free_space(remote.size - resume_from)
        if record is None:
            record = PartialRecord(self.repo_id, self.filename, remote.revision, remote.commit, remote.size,
                                   remote.etag, remote.sha256, remote.git_sha1, remote.url, str(self.target))
        self.record = record
        # The branch may have moved on without touching this file: pin the newest commit from now on.
        record.revision, record.commit, record.url = remote.revision, remote.commit, remote.url
        record.target = str(self.target)
        record.durable_bytes = min(record.durable_bytes, resume_from)
        self._guard_disk(lambda: record.save(self.files.record))
        self._open_partial(resume_from)
        self.hasher = record.new_hasher()
        yield from self._rehash(resume_from)
        tail_from = record.durable_bytes if resume_from > record.durable_bytes else None
        self.began = time.monotonic()  # DownloadDone.seconds: the transfer and its check, not the lookups
        yield DownloadStarted(self.repo_id, self.filename, record.commit, record.size, resume_from,
                              self.target, restart_reason)
        while True:
            yield from self._transfer(record)
            yield DownloadVerifying(record.algorithm, record.size)
            digest = self.hasher.hexdigest()
            if digest == record.expected_digest:
                break
            if tail_from is not None and not record.tail_retried:
                # The bytes written after the last checkpoint may not have reached the disk before a
                # crash or power cut: fetch them again once before giving up on the whole file.
                record.tail_retried = True
                self._open_partial(tail_from)
                self._guard_disk(lambda: record.save(self.files.record))
                self.hasher = record.new_hasher()
                yield DownloadRetrying(1, 1, "the file did not match its checksum; fetching again the part "
                                       "written just before the last interruption", 0.0, tail_from)
                yield from self._rehash(tail_from)
                tail_from = None
                continue
            self._close()
            _remove(self.files.part, self.files.record)
            raise DownloadError(
                f"The downloaded {self.filename} did not match the checksum published on the Hub "
                f"({record.algorithm} expected {record.expected_digest[:16]}…, got {digest[:16]}…), so it "
                "was deleted. Run the download again to fetch it afresh; if this keeps happening, something "
                "on your network may be altering downloads."
            )
        self._close()
        self._move_into_place(record)
        _remove(self.files.record)
        yield DownloadDone(self.target, record.size, digest, record.algorithm, self.repo_id, self.filename,
                           record.commit, self.fetched, time.monotonic() - self.began)

    # ----- planning -----

    def _plan(self, remote: hub.RemoteFile) -> tuple[PartialRecord | None, int, str | None]:
        """The record to continue, the byte to resume from, and why earlier bytes were discarded."""
        record = PartialRecord.load(self.files.record)
        part_size = self.files.part.stat().st_size if self.files.part.is_file() else None
        reason: str | None = None
        if record is None:
            if part_size:
                reason = "an earlier partial file had no readable record of what it was, so it was discarded"
        elif (record.repo_id, record.filename) != (self.repo_id, self.filename):
            reason = "an earlier partial file belonged to another download, so it was discarded"
        elif (record.size, record.etag, record.sha256) != (remote.size, remote.etag, remote.sha256):
            reason = (f"{self.filename} changed on the Hub since this download began (commit "
                      f"{record.commit[:8]} → {remote.commit[:8]}), so it starts again from the beginning")
        elif part_size is None:
            return record, 0, None
        elif part_size > remote.size:
            reason = "the partial file was larger than the file on the Hub, so it was discarded"
        else:
            return record, part_size, None
        if reason:
            log.info("restarting %s: %s", self.filename, reason)
        _remove(self.files.part, self.files.record)
        return None, 0, reason

    def _check_free_space(self, remaining: int) -> None:
        if remaining <= 0:
            return
        folder = self.files.part.parent
        free = shutil.disk_usage(folder).free
        needed = remaining + self.opts.free_space_margin_bytes
        if free < needed:
            raise DownloadError(
                f"Not enough free disk space for {self.filename}: it needs {format_bytes(remaining)} more, plus "
                f"{format_bytes(self.opts.free_space_margin_bytes)} to spare, but only {format_bytes(free)} is free "
                f"on the disk that holds {paths.models_dir()}. Free some space and run the download again."
                + (" What was downloaded so far is kept." if self.files.part.is_file() else "")
            )

    # ----- disk -----

    def _open_partial(self, offset: int) -> None:
        """Open the partial file for writing at ``offset``, dropping anything after it."""
        self._close()

        def open_and_truncate() -> None:
            if not self.files.part.exists():
                self.files.part.touch()
            self.handle = self.opts.open_file(self.files.part, "r+b")
            self.handle.truncate(offset)
            self.handle.seek(offset)

        self._guard_disk(open_and_truncate)
        self.done = offset

    def _rehash(self, upto: int) -> Iterator[DownloadEvent]:
        if upto <= 0:
            return
        checked = 0
        last = time.monotonic()
        with self.files.part.open("rb") as fh:
            while checked < upto:
                if self.control.stop_requested:
                    raise _Stop
                block = fh.read(min(_REHASH_BLOCK, upto - checked))
                if not block:
                    raise DownloadError(f"The partial file {self.files.part} shrank while it was being read.")
                self.hasher.update(block)
                checked += len(block)
                if time.monotonic() - last >= self.opts.progress_interval:
                    last = time.monotonic()
                    yield DownloadChecking(checked, upto)
        yield DownloadChecking(upto, upto)

    def _write(self, handle: BinaryIO, block: bytes) -> None:
        try:
            handle.write(block)
        except OSError as exc:
            raise self._disk_error(exc) from exc

    def _checkpoint(self, record: PartialRecord) -> None:
        handle = self.handle
        if handle is None:
            return

        def sync() -> None:
            handle.flush()
            os.fsync(handle.fileno())
            record.durable_bytes = self.done
            record.save(self.files.record)

        self._guard_disk(sync)
        self.last_sync = time.monotonic()

    def _guard_disk(self, action: Callable[[], None]) -> None:
        """Run a disk operation; a full or failing disk becomes a plain DownloadError."""
        try:
            action()
        except OSError as exc:
            raise self._disk_error(exc) from exc

    def _disk_error(self, exc: OSError) -> DownloadError:
        self._close(quiet=True)
        kept = f"{format_bytes(self.done)} of the file is kept" if self.done else "Nothing was kept"
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return DownloadError(
                f"The disk is full, so {self.filename} could not be saved. {kept} in "
                f"{self.files.part.parent}: free some space, then run the download again to resume."
            )
        return DownloadError(
            f"Could not write {self.filename} to {self.files.part.parent}: {exc.strerror or exc}. {kept}; "
            "run the download again to resume."
        )

    def _close(self, quiet: bool = False) -> None:
        handle, self.handle = self.handle, None
        if handle is None:
            return
        try:
            handle.close()
        except OSError:
            if not quiet:
                raise

    def _move_into_place(self, record: PartialRecord) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                self.files.part.replace(self.target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # The repo's folder was linked to another disk: copy there, then rename atomically.
                incoming = self.target.with_name(self.target.name + ".incoming")
                shutil.copyfile(self.files.part, incoming)
                incoming.replace(self.target)
                self.files.part.unlink()
        except OSError as exc:
            raise DownloadError(
                f"{self.filename} was downloaded and verified but could not be moved to {self.target}: "
                f"{exc.strerror or exc}. If the model is open, close it and run the download again (nothing "
                "will be fetched again)."
            ) from exc
        _fsync_folder(self.target.parent)

    # ----- stopping -----

    def _stopped(self) -> Iterator[DownloadEvent]:
        if self.control.cancel_requested:
            self._close(quiet=True)
            _remove(self.files.part, self.files.record)
            yield DownloadCancelled(self.repo_id, self.filename)
            return
        record = self.record
        if record is not None and self.handle is not None:
            self._checkpoint(record)
        self._close()
        yield DownloadPaused(self.done, record.size if record is not None else 0, self.files.part)

    def _sync_quietly(self) -> None:
        """After a failure, make the bytes so far durable if the disk still lets us."""
        if self.record is not None and self.handle is not None:
            try:
                self._checkpoint(self.record)
            except DownloadError:
                pass

    # ----- network -----

    def _transfer(self, record: PartialRecord) -> Iterator[DownloadEvent]:
        failures = 0
        meter = _SpeedMeter(self.opts.speed_window_seconds)
        meter.add(self.done)
        while self.done < record.size:
            before = self.done
            try:
                if self.control.stop_requested:
                    raise _Stop
                yield from self._fetch(record, meter)
                if self.done < record.size:
                    raise _Retry("the connection closed before the end of the file")
            except _Retry as retry:
                if self.control.stop_requested:
                    raise _Stop from None
                failures = 1 if self.done > before else failures + 1
                log.info("download of %s: %s (attempt %d)", self.filename, retry.reason, failures)
                if failures > self.opts.max_attempts:
                    self._checkpoint(record)
                    raise DownloadError(
                        f"The download of {self.filename} failed {failures} times in a row ({retry.reason}). "
                        f"{format_bytes(self.done)} of {format_bytes(record.size)} is kept: run the download again to "
                        "resume."
                    ) from None
                delay = net.backoff(failures, self.opts.backoff_seconds, self.opts.backoff_max_seconds, retry.delay)
                yield DownloadRetrying(failures, self.opts.max_attempts, retry.reason, delay, self.done)
                if self.control.wait(delay):
                    raise _Stop from None
        self._checkpoint(record)
        rate = meter.rate()
        yield DownloadProgress(self.done, record.size, rate, 0.0)

    def _fetch(self, record: PartialRecord, meter: _SpeedMeter) -> Iterator[DownloadEvent]:
        """One request from ``self.done`` to the end; returns when the server stops sending."""
        conn, response = self._open(record.url, self.done)
        try:
            restarted = self._accept(response, record)
            if restarted:
                yield DownloadStarted(self.repo_id, self.filename, record.commit, record.size, 0, self.target,
                                      "the server would not resume, so the file starts again")
            handle = self.handle
            assert handle is not None
            last_event = time.monotonic()
            while True:
                try:
                    block = response.read1(CHUNK_SIZE)
                except TimeoutError:
                    raise _Retry(f"no data arrived for {self.opts.stall_seconds:g} s") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retry(f"the connection dropped ({net.describe(exc)})") from None
                if not block:
                    return
                if self.done + len(block) > record.size:
                    raise DownloadError(f"The server sent more bytes than {self.filename} has; try later.")
                self._write(handle, block)
                self.hasher.update(block)
                self.done += len(block)
                self.fetched += len(block)
                now = time.monotonic()
                if (self.done - record.durable_bytes >= self.opts.sync_every_bytes
                        or now - self.last_sync >= self.opts.sync_every_seconds):
                    self._checkpoint(record)
                if now - last_event >= self.opts.progress_interval:
                    last_event = now
                    meter.add(self.done)
                    rate = meter.rate()
                    eta = (record.size - self.done) / rate if rate > 0 else None
                    yield DownloadProgress(self.done, record.size, rate, eta)
        finally:
            self.control._attach(None)
            conn.close()

    def _accept(self, response: http.client.HTTPResponse, record: PartialRecord) -> bool:
        """Check the answer to a ranged GET; True if the server ignored the range and we restart at 0."""
        status = response.status
        if status == 206:
            start, total = _content_range(response.getheader("Content-Range"))
            if start != self.done or total != record.size:
                raise DownloadError(
                    f"The server sent the wrong part of {self.filename} (asked for byte {self.done} of "
                    f"{record.size}, got {start} of {total}). What was downloaded is kept; try again later."
                )
            return False
        if status == 200:
            length = response.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) != record.size:
                raise DownloadError(
                    f"The server sent {self.filename} with a different size ({length} bytes instead of "
                    f"{record.size}). Try again later."
                )
            if self.done == 0:
                return False
            self._open_partial(0)
            self.hasher = record.new_hasher()
            record.durable_bytes = 0
            return True
        body = _read_small(response)
        if status in _RETRY_STATUSES or 500 <= status < 600:
            retry_after = net.retry_after(response.getheader("Retry-After"))
            raise _Retry(f"the server answered HTTP {status}", retry_after)
        page = f"{hub.hub_endpoint()}/{self.repo_id}"
        if status in (401, 403):
            raise DownloadError(
                f"The Hub refused the download of {self.filename} (HTTP {status}). If the model is gated, "
                f"accept its licence at {page} and set HF_TOKEN to an access token; then run the download "
                "again to resume."
            )
        if status == 404:
            raise DownloadError(f"{self.filename} is no longer available from {page} (HTTP 404).")
        if status == 416:
            raise DownloadError(
                f"The server refused to resume {self.filename} at byte {self.done} (HTTP 416). Cancel the "
                f"partial download with: longwriter models download --cancel {self.repo_id} {self.filename}"
            )
        raise DownloadError(f"Unexpected answer from the server for {self.filename}: HTTP {status} "
                            f"{body[:200]!r}")

    def _open(self, url: str, offset: int) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Connect and send a ranged GET, following redirects; the token goes only to the Hub's origin."""
        token = hub.hub_token()
        token_origin = net.origin(urlsplit(url))
        headers = {"User-Agent": net.USER_AGENT, "Accept-Encoding": "identity", "Range": f"bytes={offset}-"}
        for _ in range(_MAX_REDIRECTS):
            split = urlsplit(url)
            send = dict(headers)
            if token and net.origin(split) == token_origin:
                send["Authorization"] = f"Bearer {token}"
            conn, request_target, proxy_headers = self._connect(split)
            try:
                conn.request("GET", request_target, headers=send | proxy_headers)
                response = conn.getresponse()
            except TimeoutError:
                conn.close()
                raise _Retry(f"the server did not answer within {self.opts.stall_seconds:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise _Retry(f"the connection failed ({net.describe(exc)})") from None
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                _read_small(response)
                conn.close()
                url = urljoin(url, location)
                continue
            return conn, response
        raise DownloadError(f"Too many redirects while downloading {self.filename}.")

    def _connect(self, split: SplitResult) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        host = split.hostname or ""
        timeout = self.opts.connect_seconds
        try:
            opened = net.connect(split, connect_timeout=timeout, read_timeout=self.opts.stall_seconds)
        except ValueError:
            raise DownloadError(f"Cannot download from '{split.geturl()}': only http and https work.") from None
        except ssl.SSLCertVerificationError as exc:
            raise DownloadError(
                f"The secure connection to {host} could not be verified ({exc.verify_message}). If a proxy "
                "or antivirus program inspects HTTPS traffic, its certificate must be trusted by the system."
            ) from None
        except TimeoutError:
            raise _Retry(f"could not connect to {host} within {timeout:g} s") from None
        except OSError as exc:
            raise _Retry(f"could not connect to {host} ({net.describe(exc)})") from None
        # A read that waits stall_seconds is a stall.
        self.control._attach(opened.conn.sock)
        return opened.conn, opened.target, opened.headers


# ----- helpers -----


class _SpeedMeter:
    """Bytes per second over a sliding window, so the ETA follows the connection's current pace."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, done: int) -> None:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0


def _remove(*files: Path) -> None:
    for path in files:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # e.g. held open by a virus scanner on Windows; the next run tries again
            log.warning("could not delete %s: %s", path, exc)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); Windows has no directory handles to sync."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _content_range(header: str | None) -> tuple[int, int]:
    """(first byte, total size) from ``bytes first-last/total``; (-1, -1) when unreadable."""
    try:
        unit, _, spec = (header or "").partition(" ")
        span, _, total = spec.partition("/")
        return int(span.split("-")[0]), int(total)
    except ValueError:
        return -1, -1


def _read_small(response: http.client.HTTPResponse) -> bytes:
    try:
        return response.read(4096)
    except (OSError, http.client.HTTPException):
        return b""
