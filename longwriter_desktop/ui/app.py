"""The desktop app's entry point: `longwriter-desktop` and `python -m longwriter_desktop`."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from .. import APP_NAME, __version__
from ..errors import LongWriterError
from ..logs import setup_logging
from ..selftest import SELF_TEST_FLAG

# Qt is imported inside the functions below: `--self-test` must run where Qt cannot start.
if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

# The id of the .desktop file and the AppStream metainfo (resources/ at the top of the repository).
DESKTOP_ID = "io.github.longwriter.LongWriterDesktop"
# The icon files inside the package: found beside the code from source and in a bundle alike.
ICON_DIR = Path(__file__).resolve().parent.parent / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


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

    from PySide6.QtWidgets import QApplication, QMessageBox

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        if QApplication.instance() is not None:
            QMessageBox.warning(QApplication.activeWindow(), APP_NAME, plain_message(exc))

    sys.excepthook = hook


def app_icon() -> QIcon:
    """The app's icon at every size shipped in the package (empty when the files are missing)."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for size in ICON_SIZES:
        png = ICON_DIR / f"longwriter-desktop-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the app's name and version, in the Fusion style with the system's colours."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QStyleFactory

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("LongWriter Desktop")
    # Wayland and the docks match the window to the installed .desktop file by this name.
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(app_icon())
    # Fusion follows the palette Qt reads from the system, light or dark, the same on every platform.
    if "Fusion" in QStyleFactory.keys():  # noqa: SIM118 - a Qt list, not a dict
        app.setStyle("Fusion")
    app.styleHints().setColorScheme(Qt.ColorScheme.Unknown)
    return app


STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


def install_stop_signals(app: QApplication) -> None:
    """SIGTERM (a desktop session ending, `kill`), SIGHUP (its terminal closed) and SIGINT (Ctrl+C) close the
    windows as their close button does: a run stops, every word and edit is saved, the model is let go. A
    second signal while closing ends the process at once.

    Python runs its signal handlers only between bytecodes, and Qt's event loop runs none while idle, so the
    C handler's wake-up byte goes to a socket that a QSocketNotifier watches.
    """
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    try:
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread: nothing to install
        reader.close()
        writer.close()
        return
    numbers = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    for number in numbers:
        signal.signal(number, lambda *_: None)  # the work is done below, in the event loop
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)
    closing = [False]

    def received() -> None:
        try:
            data = reader.recv(64)
        except BlockingIOError:
            return
        for number in data:
            if number not in numbers:
                continue
            if closing[0]:
                log.warning("second %s while closing: ending now", signal.Signals(number).name)
                signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)
                return
            closing[0] = True
            log.info("%s received: closing the window as its close button does", signal.Signals(number).name)
            app.closeAllWindows()
            app.quit()

    notifier.activated.connect(received)
    app._stop_signals = (reader, writer, notifier)  # type: ignore[attr-defined]  # kept alive with the app


def self_test() -> int:
    """Run the bundle self-test; a windowed Windows program has no stdout, so it then writes a file."""
    from ..selftest import run_self_test

    if sys.stdout is not None:
        return run_self_test()
    import tempfile

    report = Path(tempfile.gettempdir()) / "longwriter-desktop-self-test.txt"
    with report.open("w", encoding="utf-8") as out:
        return run_self_test(out)


def main(argv: list[str] | None = None) -> int:
    """Open the main window and run until it is closed (or run the self-test with --self-test)."""
    args = sys.argv[1:] if argv is None else argv[1:]
    if SELF_TEST_FLAG in args:
        return self_test()
    setup_logging()
    app = make_application(argv)
    install_excepthook()
    install_stop_signals(app)
    from .main_window import MainWindow  # after the QApplication exists; Qt alone, the engine comes later

    # On screen before the engine, the projects and the panes are imported (about 0.2 s); they are built
    # as soon as this first frame is painted, and llama.cpp is imported off the GUI thread after that.
    window = MainWindow(first_frame=True)
    window.show()
    log.info("%s %s started", APP_NAME, __version__)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
