"""The app's icon: shipped in the package at every size and set on the application."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

from longwriter_desktop.ui.app import DESKTOP_ID, ICON_SIZES, app_icon, make_application


def test_the_application_carries_the_icon_at_every_size() -> None:
    make_application([])
    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert sizes == {(n, n) for n in ICON_SIZES}
    window_icon = QApplication.windowIcon()
    assert not window_icon.isNull()
    assert not window_icon.pixmap(QSize(48, 48)).isNull()
    assert QApplication.desktopFileName() == DESKTOP_ID
