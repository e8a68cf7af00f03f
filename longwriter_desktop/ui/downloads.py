"""Model downloads for the GUI: each download runs the library's generator on its own thread.

Downloads never touch the model worker: a download and a writing run go on side by side. Events wait in a
queue that a GUI-thread timer drains a few times a second, keeping only the newest progress per file.
Unfinished downloads on disk (from a pause, a crash or an earlier session) are listed as paused at start and
resume where they stopped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..library import download as dl

log = logging.getLogger(__name__)

DRAIN_MS = 200

# What a download is doing, as the model manager shows it.
QUEUED, CHECKING, DOWNLOADING = "starting", "checking", "downloading"
RETRYING, VERIFYING = "retrying", "verifying"
PAUSED, DONE, CANCELLED, FAILED = "paused", "done", "cancelled", "failed"
ACTIVE = (QUEUED, CHECKING, DOWNLOADING, RETRYING, VERIFYING)


@dataclass(frozen=True)
class DownloadState:
    """One download as the GUI sees it."""

    repo_id: str
    filename: str
    status: str
    done_bytes: int = 0
    total_bytes: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""
    path: Path | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.repo_id, self.filename)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


class DownloadManager(QObject):
    """Start, pause, resume and cancel downloads; ``changed`` carries each new :class:`DownloadState`."""

    changed = Signal(object)  # DownloadState
    completed = Signal(object)  # DownloadState of a finished file (status DONE, path set)

    def __init__(self, parent: QObject | None = None, options: dl.DownloadOptions | None = None) -> None:
        super().__init__(parent)
        self.options = options or dl.DownloadOptions()
        self.states: dict[tuple[str, str], DownloadState] = {}
        self._controls: dict[tuple[str, str], dl.DownloadControl] = {}
        self._threads: dict[tuple[str, str], threading.Thread] = {}
        self._queue: deque[tuple[tuple[str, str], dl.DownloadEvent]] = deque()
        self._lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        self._stopped = False
        self.find_partial_downloads()

    def find_partial_downloads(self) -> list[DownloadState]:
        """List unfinished downloads left on disk as paused (a resume continues them)."""
        found = []
        for partial in dl.list_partial_downloads():
            key = (partial.repo_id, partial.filename)
            if key in self._threads:
                continue
            state = DownloadState(partial.repo_id, partial.filename, PAUSED, partial.done_bytes,
                                  partial.total_bytes, message="Left from an earlier run: resume to go on.")
            self._set(state)
            found.append(state)
        return found

    # -- the GUI side ------------------------------------------------------------------------------

    def start(self, repo_id: str, filename: str) -> None:
        """Start (or resume) downloading one file of a Hub repo."""
        key = (repo_id, filename)
        if self._stopped or key in self._threads:
            return
        old = self.states.get(key)
        control = dl.DownloadControl()
        self._controls[key] = control
        self._set(DownloadState(repo_id, filename, QUEUED, old.done_bytes if old else 0,
                                old.total_bytes if old else 0, message="Connecting…"))
        thread = threading.Thread(target=self._run, args=(key, control), daemon=True,
                                  name=f"longwriter-download-{filename[:40]}")
        self._threads[key] = thread
        thread.start()

    def pause(self, repo_id: str, filename: str) -> None:
        """Stop a download and keep what is on disk for a resume."""
        control = self._controls.get((repo_id, filename))
        if control is not None:
            control.pause()

    def cancel(self, repo_id: str, filename: str) -> None:
        """Stop a download and delete its partial file (also for a paused one)."""
        key = (repo_id, filename)
        control = self._controls.get(key)
        if control is not None and key in self._threads:
            control.cancel()
            return
        try:
            dl.cancel_download(repo_id, filename)
        except Exception as exc:  # a LongWriterError or a disk error: say it, keep the entry
            state = self.states.get(key)
            if state is not None:
                self._set(replace(state, message=str(exc)))
            return
        state = self.states.get(key)
        if state is not None:
            self._set(replace(state, status=CANCELLED, done_bytes=0, message="The partial file was deleted."))

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Pause every running download (its partial file stays for the next start) and end the threads."""
        if self._stopped:
            return True
        self._stopped = True
        for key in list(self._threads):
            self._controls[key].pause()
        ended = True
        for thread in list(self._threads.values()):
            thread.join(timeout_s)
            ended = ended and not thread.is_alive()
        self.drain()
        self._timer.stop()
        if not ended:
            log.error("a download thread did not stop within %.0f s", timeout_s)
        return ended

    # -- the download threads ----------------------------------------------------------------------

    def _run(self, key: tuple[str, str], control: dl.DownloadControl) -> None:
        try:
            for event in dl.download(key[0], key[1], control=control, options=self.options):
                with self._lock:
                    self._queue.append((key, event))
        finally:
            with self._lock:
                self._queue.append((key, _ThreadEnded()))  # type: ignore[arg-type]

    def drain(self) -> None:
        """Apply every event the download threads produced since the last drain."""
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        for key, event in items:
            if isinstance(event, _ThreadEnded):
                self._threads.pop(key, None)
                self._controls.pop(key, None)
                state = self.states.get(key)
                # No final event would be a library bug: never leave such a download showing as running.
                if state is not None and state.active:
                    self._set(replace(state, status=FAILED, message="The download stopped unexpectedly."))
                continue
            state = self.states.get(key) or DownloadState(key[0], key[1], QUEUED)
            new = _apply(state, event)
            self._set(new)
            if new.status == DONE:
                self.completed.emit(new)

    def _set(self, state: DownloadState) -> None:
        self.states[state.key] = state
        self.changed.emit(state)


class _ThreadEnded:
    """Queue item: a download thread has returned."""


def _apply(state: DownloadState, event: dl.DownloadEvent) -> DownloadState:
    """The state after one download event."""
    if isinstance(event, dl.DownloadChecking):
        return replace(state, status=CHECKING, done_bytes=event.checked_bytes,
                       message=f"Checking the {event.partial_bytes:,} bytes already downloaded…")
    if isinstance(event, dl.DownloadStarted):
        note = f"Started again: {event.restart_reason}" if event.restart_reason else ""
        return replace(state, status=DOWNLOADING, done_bytes=event.resumed_bytes,
                       total_bytes=event.total_bytes, message=note)
    if isinstance(event, dl.DownloadProgress):
        return replace(state, status=DOWNLOADING, done_bytes=event.done_bytes, total_bytes=event.total_bytes,
                       bytes_per_second=event.bytes_per_second, eta_seconds=event.eta_seconds, message="")
    if isinstance(event, dl.DownloadRetrying):
        retry = (f"{event.reason}; trying again in {event.delay_seconds:.0f} s "
                 f"(attempt {event.attempt} of {event.max_attempts}).")
        return replace(state, status=RETRYING, done_bytes=event.done_bytes, bytes_per_second=0.0,
                       eta_seconds=None, message=retry)
    if isinstance(event, dl.DownloadPaused):
        return replace(state, status=PAUSED, done_bytes=event.done_bytes, total_bytes=event.total_bytes,
                       bytes_per_second=0.0, eta_seconds=None, message="Resume to continue where it stopped.")
    if isinstance(event, dl.DownloadVerifying):
        return replace(state, status=VERIFYING, done_bytes=event.total_bytes, total_bytes=event.total_bytes,
                       eta_seconds=None, message=f"Checking the file's {event.algorithm}…")
    if isinstance(event, dl.DownloadDone):
        note = ("Already downloaded." if event.already_present
                else "Checked against the Hub's hash; it is in Installed models.")
        return replace(state, status=DONE, done_bytes=event.size_bytes, total_bytes=event.size_bytes,
                       bytes_per_second=0.0, eta_seconds=None, message=note, path=event.path)
    if isinstance(event, dl.DownloadCancelled):
        return replace(state, status=CANCELLED, done_bytes=0, bytes_per_second=0.0, eta_seconds=None,
                       message="The partial file was deleted.")
    if isinstance(event, dl.DownloadFailed):
        kept = " What was downloaded is kept: resume later." if event.partial_kept else ""
        return replace(state, status=FAILED, bytes_per_second=0.0,
                       eta_seconds=None, message=event.message + kept)
    return state
