"""Run slow library calls (Hub listings, GPU detection, fit checks) off the GUI thread.

Each call gets a plain Python thread; its result waits in a slot that a GUI-thread timer polls, so no Qt
object is touched from the other thread (the same queue-and-timer pattern as the model worker).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..errors import LongWriterError

log = logging.getLogger(__name__)

POLL_MS = 40


class BackgroundCall(QObject):
    """Call ``function`` on its own thread; ``succeeded(result)`` or ``failed(message)`` follows, once."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[[], Any], parent: QObject | None = None, *, name: str = "") -> None:
        super().__init__(parent)
        self._function = function
        self._outcome: tuple[bool, Any] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name or "longwriter-background", daemon=True)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.finished = False

    def start(self) -> BackgroundCall:
        self._thread.start()
        self._timer.start()
        return self

    def wait(self, timeout_s: float) -> bool:
        """Block until the thread ends (for shutdown); True when it did (or never started)."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            outcome: tuple[bool, Any] = (True, self._function())
        except LongWriterError as exc:
            outcome = (False, str(exc))
        except Exception as exc:  # the GUI must get a message, never a silent dead thread
            log.exception("background call failed")
            outcome = (False, f"Something went wrong: {exc}. The log file has the details.")
        with self._lock:
            self._outcome = outcome

    def _poll(self) -> None:
        with self._lock:
            outcome = self._outcome
        if outcome is None:
            return
        self._timer.stop()
        self.finished = True
        ok, value = outcome
        if ok:
            self.succeeded.emit(value)
        else:
            self.failed.emit(value)
