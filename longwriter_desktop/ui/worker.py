"""One worker thread owns the loaded model; engine events come back to the GUI thread in batches.

A ``Llama`` is not thread-safe, so a single :class:`_ModelOwner` on its own QThread loads, generates with
and closes it (Anki's rule: one worker owns the shared resource). It runs the engine's generators and puts
every event into a queue; :class:`EngineWorker`, in the GUI thread, drains that queue on a timer about 20
times a second, joins consecutive text deltas of a section into one piece, and emits past-tense signals in
the order the events happened (dangerzone: one small QObject turns engine output into signals).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ..app import service
from ..app.backends import BackendChoice, ServerChoice
from ..engine import events as ev
from ..engine.backend import Sampling
from ..engine.plan import Plan as EnginePlan
from ..engine.plan import PlanResult, generate_plan
from ..engine.writer import ResumeState, WriteRequest, write_document
from ..errors import LongWriterError, ProjectError
from ..projects.store import ProjectStore

log = logging.getLogger(__name__)

FLUSH_INTERVAL_MS = 50  # about 20 view updates a second, however fast the model writes


@dataclass(frozen=True)
class LoadedModel:
    """What the GUI shows about the model in use."""

    model: str
    path: str
    device: str
    gpu_layers: int
    n_ctx: int
    load_seconds: float
    licence: str
    longwriter_trained: bool


@dataclass(frozen=True)
class PlanJob:
    choice: BackendChoice
    instruction: str
    target_words: int
    notes: str = ""
    sampling: Sampling = field(default_factory=Sampling)


@dataclass(frozen=True)
class WriteJob:
    choice: BackendChoice
    request: WriteRequest
    resume: ResumeState | None = None
    project_id: int | None = None  # autosaved into the project store when set


@dataclass(frozen=True)
class _Loaded:
    """Queue item: the model is ready."""

    model: LoadedModel


@dataclass(frozen=True)
class _Failed:
    message: str


@dataclass(frozen=True)
class _Measured:
    """The loaded model's speed on this machine is known (calibrated now, or measured before)."""


@dataclass(frozen=True)
class _JobEnded:
    kind: str


class _ModelOwner(QObject):
    """Lives on the worker thread: the only code that touches the ``Llama``."""

    def __init__(self, push: Callable[[object], None], store: Callable[[], ProjectStore | None]) -> None:
        super().__init__()
        self._push = push
        self._backend: Any = None
        self._choice: BackendChoice | None = None
        # The window's own store: one per process (a second connection opened and closed beside it is how
        # the WAL got deleted under a running window; see projects/store.py, "POSIX locks").
        self._store = store
        self._speed_known = False  # the loaded model's speed profile exists (or calibration was tried)
        self.cancel = threading.Event()

    @Slot(object)
    def run_job(self, job: object) -> None:
        kind = "plan" if isinstance(job, PlanJob) else "write"
        try:
            if isinstance(job, (PlanJob, WriteJob)):
                if not self._ensure_model(job.choice):
                    self._push(ev.Cancelled(0))
                    return
                for event in self._events(job):
                    self._push(event)
        except LongWriterError as exc:
            log.warning("%s job failed: %s", kind, exc)
            self._push(_Failed(str(exc)))
        except MemoryError:
            log.exception("%s job ran out of memory", kind)
            self._push(
                _Failed("The computer ran out of memory. Choose a smaller model or a smaller context size.")
            )
        except Exception as exc:  # the GUI must get a message, never a dead worker
            log.exception("%s job failed", kind)
            self._push(_Failed(f"Something went wrong while working: {exc}. The log file has the details."))
        finally:
            self._push(_JobEnded(kind))
            if self._backend is not None and not self._speed_known:
                # After the job, so the first plan is not delayed; a job asked for meanwhile waits a moment.
                self._calibrate(self._backend)

    def _project_store(self) -> ProjectStore:
        store = self._store()
        if store is None:
            raise ProjectError("The projects database is not open, so this run would not be saved. Restart the "
                               "app, or export the document to keep it.")
        return store

    def _events(self, job: PlanJob | WriteJob) -> Iterator[ev.Event]:
        if isinstance(job, PlanJob):
            result = PlanResult(EnginePlan([]))
            yield from generate_plan(
                self._backend,
                job.instruction,
                job.target_words,
                notes=job.notes,
                sampling=job.sampling,
                cancel=self.cancel,
                result=result,
            )
            if self.cancel.is_set():
                yield ev.Cancelled(0)
            return
        if job.project_id is None:
            yield from write_document(self._backend, job.request, self.cancel, job.resume)
            return
        _writer, events = service.write(self._project_store(), job.project_id, self._backend, job.request,
                                        cancel=self.cancel, resume=job.resume, choice=job.choice, keep_going=True)
        yield from events

    def _ensure_model(self, choice: BackendChoice) -> bool:
        if self._backend is not None and self._choice == choice:
            return True
        self.close_model()
        from ..app.backends import open_backend  # imports the engine's llama.cpp side only when needed

        label = choice.base_url if isinstance(choice, ServerChoice) else (choice.model or "the default model")

        def on_progress(fraction: float) -> bool:
            self._push(ev.ModelLoading(label, fraction))
            return not self.cancel.is_set()

        started = time.perf_counter()
        try:
            backend = open_backend(choice, progress=on_progress)
        except LongWriterError:
            if self.cancel.is_set():
                return False
            raise
        self._backend, self._choice = backend, choice
        header = getattr(backend, "header", None)
        metadata = header.metadata if header is not None else {}
        self._push(
            _Loaded(
                LoadedModel(
                    model=backend.info.model,
                    path=str(header.path) if header is not None else "",
                    device=backend.info.device,
                    gpu_layers=backend.info.gpu_layers,
                    n_ctx=backend.info.n_ctx,
                    load_seconds=getattr(backend, "load_seconds", time.perf_counter() - started),
                    licence=str(metadata.get("general.license") or "not stated in the model file"),
                    longwriter_trained=bool(getattr(backend, "longwriter_trained", False)),
                )
            )
        )
        self._speed_known = False
        return True

    def _calibrate(self, backend: Any) -> None:
        """Measure a newly loaded model's speed on this machine, once (a few seconds), for the estimates."""
        from ..engine.estimate import CalibrationError, profile_for_backend

        self._speed_known = True
        try:
            if profile_for_backend(backend, cancel=self.cancel) is not None:
                self._push(_Measured())
        except CalibrationError as exc:  # stopped: try again after the next job
            self._speed_known = False
            log.info("no speed profile yet: %s", exc)
        except Exception:  # an estimate is a nicety: the job goes on without one
            log.exception("measuring the model's speed failed")

    @Slot()
    def close_all(self) -> None:
        """Close the model (on shutdown); the window closes its store after this thread ends."""
        self.close_model()

    @Slot()
    def close_model(self) -> None:
        if self._backend is not None:
            try:
                self._backend.close()
            except Exception:
                log.exception("closing the model failed")
            self._backend, self._choice = None, None


class EngineWorker(QObject):
    """The GUI's handle on the worker thread: start jobs, stop them, and receive their events as signals."""

    modelLoading = Signal(float)
    modelLoaded = Signal(object)  # LoadedModel
    planningStarted = Signal(int, int)  # target words, sections
    planningProgressed = Signal(int, int)  # plan lines written so far, sections asked for
    planReady = Signal(object, object)  # Plan, notes (tuple of str)
    sectionStarted = Signal(int, str, int, int)  # index, title, target words, words already there
    textArrived = Signal(int, str)  # index, text: every delta since the last flush, joined
    textRetracted = Signal(int, int)  # index, characters removed from the end
    sectionFinished = Signal(int, int, int)  # index, words, target words
    sectionSummarized = Signal(int, str)  # index, the section's short summary
    progressChanged = Signal(object)  # events.Progress
    warned = Signal(str)
    failed = Signal(str)
    cancelled = Signal(int)  # words written
    finished = Signal(object)  # events.Done
    jobEnded = Signal(str)  # "plan" or "write", after any of the above
    speedMeasured = Signal()  # the loaded model's speed profile exists (estimates can be shown)
    _jobRequested = Signal(object)
    _closeRequested = Signal()
    _shutdownRequested = Signal()

    def __init__(
        self, parent: QObject | None = None, store: Callable[[], ProjectStore | None] | None = None
    ) -> None:
        super().__init__(parent)
        self._queue: deque[object] = deque()
        self._lock = threading.Lock()
        self._thread = QThread()
        self._thread.setObjectName("longwriter-model")
        self._owner = _ModelOwner(self._push, store or (lambda: None))
        self._owner.moveToThread(self._thread)
        self._jobRequested.connect(self._owner.run_job)
        self._closeRequested.connect(self._owner.close_model)
        self._shutdownRequested.connect(self._owner.close_all)
        self._thread.start()
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._busy = False
        self._stopped = False
        self.deltas_received = 0  # engine text deltas, for the batching figures
        self.text_signals = 0  # textArrived emissions

    # -- the worker side ---------------------------------------------------------------------------

    def _push(self, item: object) -> None:
        with self._lock:
            self._queue.append(item)

    # -- the GUI side ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True from a job's start until its jobEnded signal."""
        return self._busy

    def start_plan(self, job: PlanJob) -> None:
        """Ask the model for a plan; ends with planReady (or failed/cancelled), then jobEnded."""
        self._start(job)

    def start_write(self, job: WriteJob) -> None:
        """Write (or resume) a document; ends with finished (or failed/cancelled), then jobEnded."""
        self._start(job)

    def _start(self, job: object) -> None:
        if self._stopped:
            raise RuntimeError("the worker was shut down")
        if self._busy:
            raise RuntimeError("a job is already running")
        self._busy = True
        self._owner.cancel.clear()
        self._jobRequested.emit(job)

    def stop(self) -> None:
        """Ask the running job to stop; the text so far is kept and cancelled follows."""
        self._owner.cancel.set()

    def unload(self) -> None:
        """Close the loaded model (on the worker thread) so the next job loads it afresh."""
        if not self._stopped:
            self._closeRequested.emit()

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Stop any job, close the model and end the thread; True when it ended within the timeout."""
        if self._stopped:
            return True
        self._stopped = True
        self._owner.cancel.set()
        self._shutdownRequested.emit()
        self._thread.quit()
        ended = self._thread.wait(int(timeout_s * 1000))
        self._timer.stop()
        if ended:
            self.flush()
        else:
            log.error("the model thread did not stop within %.0f s", timeout_s)
        return bool(ended)

    @Slot()
    def flush(self) -> None:
        """Emit everything the worker produced since the last flush, deltas joined per section."""
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        if not items:
            return
        pending_index = -1
        pending: list[str] = []
        latest_progress: ev.Progress | None = None

        def emit_text() -> None:
            nonlocal pending_index
            if pending:
                self.text_signals += 1
                self.textArrived.emit(pending_index, "".join(pending))
                pending.clear()
            pending_index = -1

        def emit_progress() -> None:
            nonlocal latest_progress
            if latest_progress is not None:
                self.progressChanged.emit(latest_progress)
                latest_progress = None

        started = time.perf_counter()
        for item in items:
            if isinstance(item, ev.TextDelta):
                self.deltas_received += 1
                if item.index != pending_index:
                    emit_text()
                    pending_index = item.index
                pending.append(item.text)
                continue
            if isinstance(item, ev.Progress):
                latest_progress = item  # only the newest matters to the view
                continue
            emit_text()
            emit_progress()
            self._dispatch(item)
        emit_text()
        emit_progress()
        log.debug("flushed %d worker events in %.1f ms", len(items), (time.perf_counter() - started) * 1000)

    def _dispatch(self, item: object) -> None:
        if isinstance(item, ev.ModelLoading):
            self.modelLoading.emit(item.fraction)
        elif isinstance(item, _Loaded):
            self.modelLoaded.emit(item.model)
        elif isinstance(item, _Measured):
            self.speedMeasured.emit()
        elif isinstance(item, ev.PlanningStarted):
            self.planningStarted.emit(item.target_words, item.sections)
        elif isinstance(item, ev.PlanningProgress):
            self.planningProgressed.emit(item.sections_done, item.sections)
        elif isinstance(item, ev.PlanReady):
            self.planReady.emit(item.plan, tuple(item.notes))
        elif isinstance(item, ev.SectionStarted):
            self.sectionStarted.emit(item.index, item.title, item.target_words, item.resumed_words)
        elif isinstance(item, ev.TextRetracted):
            self.textRetracted.emit(item.index, item.chars)
        elif isinstance(item, ev.SectionFinished):
            self.sectionFinished.emit(item.index, item.words, item.target_words)
            if item.summary:
                self.sectionSummarized.emit(item.index, item.summary)
        elif isinstance(item, ev.Warning):
            self.warned.emit(item.message)
        elif isinstance(item, (ev.ErrorEvent, _Failed)):
            self.failed.emit(item.message)
        elif isinstance(item, ev.Cancelled):
            self.cancelled.emit(item.words)
        elif isinstance(item, ev.Done):
            self.finished.emit(item)
        elif isinstance(item, _JobEnded):
            self._busy = False
            self.jobEnded.emit(item.kind)
