"""Time estimates in the window: the New project dialog and the catalog, from this machine's speed profile."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from longwriter_desktop.engine import estimate as est
from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.library import catalog
from longwriter_desktop.library.installed import builtin_model
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.new_project import NewProjectDialog
from tests.ui.test_model_manager import open_manager


def measured_builtin(window: MainWindow) -> est.SpeedProfile:
    """A profile for the built-in model as the window's settings load it (figures like this machine's)."""
    model = builtin_model()
    header = read_gguf(model.path)
    key = est.settings_key(model.path, header.file_size, window.settings.load_settings())
    profile = est.SpeedProfile(key=key, model=model.id, weights_bytes=header.file_size,
                               kv_bytes_per_token=header.kv_bytes_per_token(2.0), decode_s=1 / 80, slope=5e-4,
                               prefill_s=1 / 400, runs=1)
    est.SpeedStore().put(profile)
    return profile


def test_new_project_dialog_says_how_long_the_document_takes(window: MainWindow, qtbot: QtBot) -> None:
    dialog = NewProjectDialog(window.refresh_models(), None, window, times=window.model_times)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "not measured yet" in dialog.time_label.text()
    dialog.close()

    measured_builtin(window)
    window.worker.speedMeasured.emit()  # what the worker says after a calibration
    dialog = NewProjectDialog(window.refresh_models(), None, window, times=window.model_times)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.instruction, "Write a 1000-word story about a kite.")
    short = dialog.time_label.text()
    assert short.startswith("About ") and "1,000 words" in short and "tokens/s" in short
    dialog.words.setValue(6000)
    assert "6,000 words" in dialog.time_label.text()
    dialog.close()


def test_catalog_gives_each_model_a_time_for_10000_words(window: MainWindow, qtbot: QtBot) -> None:
    dialog = open_manager(window, qtbot)
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=15_000)
    assert dialog.catalog_table.horizontalHeaderItem(5).text() == "10,000 words"
    assert all(dialog.catalog_table.item(row, 5).text() == "not measured"
               for row in range(len(catalog.CATALOG)))
    dialog.close()

    measured_builtin(window)
    dialog = open_manager(window, qtbot)
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=15_000)
    for row, entry in enumerate(catalog.CATALOG):
        cell = dialog.catalog_table.item(row, 5)
        if entry.builtin:
            assert not cell.text().startswith("~") and "10,000 words" in cell.toolTip()
        else:
            assert cell.text().startswith("~") and "rough" in cell.toolTip(), "scaled from the built-in model"
    dialog.close()
