"""Logging: a rotating file in the logs folder, and stderr when asked; llama.cpp's log is routed here."""

from __future__ import annotations

import logging
import logging.handlers
import time

from . import paths

_configured = False
RETRY_AFTER_S = 60.0


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; on a full or read-only disk it goes quiet for a while instead of complaining.

    logging's own handleError prints a traceback to sys.stderr, and while a model loads sys.stderr is a
    stream that logs (llama_backend._LogWriter): on a full disk each failure logged another, until Python
    gave up with "maximum recursion depth exceeded" and the load failed with that text.
    """

    _quiet_until = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if time.monotonic() < self._quiet_until:
            return
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self._quiet_until = time.monotonic() + RETRY_AFTER_S


def setup_logging(verbose: bool = False) -> None:
    global _configured
    root = logging.getLogger("longwriter_desktop")
    if _configured:
        return
    _configured = True
    root.setLevel(logging.DEBUG)
    try:
        handler: logging.Handler = _LogFile(
            paths.logs_dir() / "longwriter.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG)
        root.addHandler(handler)
    except OSError:
        pass  # a read-only or full disk must not stop the app; logs are a convenience
    if verbose:
        console = logging.StreamHandler()
        console.setLevel(logging.DEBUG)
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
