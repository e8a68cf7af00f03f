"""GUI test harness: offscreen Qt (tests/conftest.py), Qt warnings fail tests, workers drained in teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from longwriter_desktop.settings import Settings
from longwriter_desktop.ui.app import make_application
from longwriter_desktop.ui.main_window import MainWindow

# The offscreen platform says this about every top-level window; it is not a fault of the app.
OFFSCREEN_NOISE = r"This plugin does not support"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/ui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))
            item.add_marker(pytest.mark.timeout(180))


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A main window on the built-in model with a small context (fast to load), closed and drained after."""
    make_application([])
    win = MainWindow(Settings(n_ctx=2048, temperature=0.7))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert win.worker.shutdown(10), "the model thread did not stop"
