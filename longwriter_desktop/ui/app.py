"""The desktop app's entry point: `longwriter-desktop` and `python -m longwriter_desktop`."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QStyleFactory

from .. import APP_NAME, __version__
from ..errors import LongWriterError
from ..logs import setup_logging

log = logging.getLogger(__name__)


def plain_message(exc: BaseException) -> str:
    """What the user reads about an unexpected error: our own messages as they are, else a short summary."""
    if isinstance(exc, LongWriterError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory. Choose a smaller model or a smaller context size."
    detail = str(exc) or type(exc).__name__
    return f"Something went wrong: {detail}. The app goes on; the log file has the details."


def install_excepthook() -> None:
    """Log uncaught exceptions and show them in plain words instead of a traceback on a terminal."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        app = QApplication.instance()
        if app is not None:
            QMessageBox.warning(app.activeWindow(), APP_NAME, plain_message(exc))

    sys.excepthook = hook


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the app's name and version, in the Fusion style with the system's colours."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("LongWriter Desktop")
    # Fusion follows the palette Qt reads from the system, light or dark, the same on every platform.
    if "Fusion" in QStyleFactory.keys():  # noqa: SIM118 - a Qt list, not a dict
        app.setStyle("Fusion")
    app.styleHints().setColorScheme(Qt.ColorScheme.Unknown)
    return app


def main(argv: list[str] | None = None) -> int:
    """Open the main window and run until it is closed."""
    setup_logging()
    app = make_application(argv)
    install_excepthook()
    from .main_window import MainWindow  # after the QApplication exists; llama.cpp stays unimported

    window = MainWindow()
    window.show()
    log.info("%s %s started", APP_NAME, __version__)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
