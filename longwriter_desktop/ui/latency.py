"""Event-loop latency under a streaming worker, and the toolkit's versions: the GUI half of the benchmarks.

Lives in ui/ because only ui/ may import Qt; the benchmark command (longwriter_desktop.bench) calls it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# A stream: given a function that takes each piece of text, produce text at full speed; return the tokens.
Stream = Callable[[Callable[[str], None]], int]


def drops_singleton_references() -> bool:
    """True when this PySide6 loses a reference to the True it returns from Signal.emit.

    PySide6 6.12.0 does on Python 3.10/3.11 (from 3.12 on, None/True/False are immortal and nothing
    happens): every emit, and other calls returning None or a bool, counts them down until the interpreter
    aborts with "deallocating True or False" after a few hundred calls.
    """
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    before = sys.getrefcount(True)
    for _ in range(10):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def pad_singleton_references(count: int = 1_000_000) -> None:
    """Hold ``count`` extra references to None, True and False for the rest of the process.

    The measurement's own workaround for :func:`drops_singleton_references`, so a long stream survives;
    the padding list is never freed, so the interpreter's teardown does not trip over it either.
    """
    import ctypes

    padding = [None, True, False] * count
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(padding))


def toolkit_versions() -> dict[str, str]:
    """The Qt binding's version and the Qt it runs on."""
    import PySide6
    from PySide6 import QtCore

    return {"PySide6": str(PySide6.__version__), "Qt": str(QtCore.qVersion())}


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def _summary(lateness_ms: list[float]) -> dict[str, float]:
    return {"ticks": len(lateness_ms), "p50_ms": _percentile(lateness_ms, 0.5),
            "p99_ms": _percentile(lateness_ms, 0.99), "max_ms": max(lateness_ms, default=0.0)}


def measure_event_loop(stream: Stream, *, idle_seconds: float = 2.0) -> dict[str, Any]:
    """Lateness of a 5 ms precise QTimer in the GUI thread: idle, then while a worker thread runs ``stream``.

    Each piece the worker produces crosses to the GUI thread through a queued signal and is appended to a
    QPlainTextEdit, the way the app's worker feeds its output pane.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, Qt, QTimer, Signal
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    leaks = drops_singleton_references()
    if leaks:
        pad_singleton_references()

    class Pipe(QObject):
        text = Signal(str)

    view = QPlainTextEdit()
    view.resize(800, 600)
    view.show()
    pipe = Pipe()

    def append(piece: str) -> None:
        cursor = view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(piece)

    pipe.text.connect(append, Qt.ConnectionType.QueuedConnection)

    def ticks(duration_s: float | None, worker: threading.Thread | None) -> list[float]:
        lateness: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(5)
        last = [time.perf_counter()]
        deadline = time.perf_counter() + (duration_s or 0.0)

        def tick() -> None:
            now = time.perf_counter()
            lateness.append(max(0.0, now - last[0] - 0.005) * 1000)
            last[0] = now
            ended = worker is not None and not worker.is_alive()
            if ended or (duration_s is not None and now >= deadline):
                timer.stop()
                app.quit()

        timer.timeout.connect(tick)
        last[0] = time.perf_counter()
        timer.start()
        app.exec()
        return lateness

    idle = ticks(idle_seconds, None)
    produced = [0]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produced[0] = stream(pipe.text.emit)
        except BaseException as exc:  # reported to the caller after the loop ends
            failure.append(exc)

    worker = threading.Thread(target=run, name="latency-stream")
    started = time.perf_counter()
    worker.start()
    busy = ticks(None, worker)
    worker.join()
    elapsed = time.perf_counter() - started
    app.processEvents()
    view.close()
    if failure:
        raise failure[0]
    streaming: dict[str, Any] = dict(_summary(busy))
    streaming["tokens"] = produced[0]
    streaming["tokens_per_second"] = produced[0] / elapsed if elapsed else 0.0
    return {"idle": _summary(idle), "streaming": streaming, "singleton_refcount_bug": leaks,
            "receiver": "QPlainTextEdit fed by a queued signal (not the main window's own output pane)"}
