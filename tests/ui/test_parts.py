"""Smaller GUI checks: delta batching, the model manager's settings, the first-run note, the Qt boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from longwriter_desktop.engine import events as ev
from longwriter_desktop.settings import Settings, load_settings
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.model_manager import ModelManagerDialog
from longwriter_desktop.ui.worker import EngineWorker

ROOT = Path(__file__).resolve().parents[2]


def test_deltas_are_joined_into_one_view_update_per_flush(qtbot: QtBot) -> None:
    worker = EngineWorker()
    try:
        received: list[tuple[int, str]] = []
        worker.textArrived.connect(lambda index, text: received.append((index, text)))
        started: list[int] = []
        worker.sectionStarted.connect(lambda index, *_: started.append(index))
        for i in range(200):  # what a model streams between two timer ticks
            worker._push(ev.TextDelta(0, f"w{i} "))
        worker._push(ev.SectionStarted(1, "Next", 100))
        worker._push(ev.TextDelta(1, "second"))
        worker.flush()
        assert received == [(0, "".join(f"w{i} " for i in range(200))), (1, "second")]
        assert started == [1]
        assert worker.deltas_received == 201 and worker.text_signals == 2
    finally:
        assert worker.shutdown(5)


def test_model_manager_saves_settings(window: MainWindow, qtbot: QtBot) -> None:
    dialog = ModelManagerDialog(window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() >= 1 and "built-in" in dialog.table.item(0, 0).text()
    dialog.ctx.setValue(4096)
    dialog.temperature.setValue(0.9)
    dialog.kv.setCurrentIndex(1)
    assert dialog.save_settings_from_form(), dialog.last_error
    saved = load_settings()
    assert (saved.n_ctx, saved.temperature, saved.kv_type) == (4096, 0.9, "q8_0")
    dialog.gpu.setCurrentText("lots")
    assert not dialog.save_settings_from_form()
    assert dialog.last_error is not None and "GPU layers" in dialog.last_error
    dialog.table.setCurrentCell(0, 0)
    dialog.use_selected()
    assert load_settings().model == "smollm2-135m"


def test_about_names_versions_and_the_model_licence(window: MainWindow) -> None:
    text = window.about_text()
    assert "llama-cpp-python 0." in text and "Qt 6." in text and "smollm2-135m" in text
    assert "licence" in text.lower()


def test_bad_settings_file_falls_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"temperature": 99}', encoding="utf-8")
    assert load_settings(path) == Settings()
    path.write_text("not json", encoding="utf-8")
    assert load_settings(path) == Settings()


def test_only_the_ui_package_imports_qt() -> None:
    offenders = []
    for path in (ROOT / "longwriter_desktop").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "longwriter_desktop").parts[:1]:
            continue
        if "PySide6" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_window_module_does_not_load_llama_cpp() -> None:
    code = (
        "import sys; import longwriter_desktop.ui.main_window, longwriter_desktop.ui.app; "
        "print('llama_cpp' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
