"""Logging: a rotating file in the logs folder, and stderr when asked; llama.cpp's log is routed here."""

from __future__ import annotations

import logging
import logging.handlers

from . import paths

_configured = False


def setup_logging(verbose: bool = False) -> None:
    global _configured
    root = logging.getLogger("longwriter_desktop")
    if _configured:
        return
    _configured = True
    root.setLevel(logging.DEBUG)
    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
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
