"""The model manager against a real local Hub server: list a repo, download, pause, resume, cancel; the
catalog's fit badges; and the question before loading a model that won't fit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from longwriter_desktop import paths
from longwriter_desktop.library import catalog, installed
from longwriter_desktop.library import download as dl
from longwriter_desktop.library.fit import Machine, Verdict
from longwriter_desktop.library.installed import model_id_for
from longwriter_desktop.settings import Settings
from longwriter_desktop.testing.hubserver import FakeHub
from longwriter_desktop.ui import main_window, model_manager
from longwriter_desktop.ui.downloads import CANCELLED, DONE, DOWNLOADING, PAUSED, DownloadManager
from longwriter_desktop.ui.draft import Draft
from longwriter_desktop.ui.main_window import MainWindow
from longwriter_desktop.ui.model_manager import DOWNLOADS_TAB, ModelManagerDialog

REPO = "longwriter-test/Made-Up-GGUF"
FILE = "Made-Up-135M-Q4_1.gguf"
MB = 1_000_000


def open_manager(window: MainWindow, qtbot: QtBot) -> ModelManagerDialog:
    dialog = ModelManagerDialog(window.settings, window, window.downloads)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def serve_builtin(hub: FakeHub, builtin_gguf: Path, seconds: float) -> int:
    """Serve the built-in model under a made-up repo, throttled to take about ``seconds`` in all."""
    hub.add_file(REPO, FILE, builtin_gguf)
    hub.add_file(REPO, "README.md", b"# not a model\n", lfs=False)
    size = builtin_gguf.stat().st_size
    hub.throttle_bytes_per_second = size / seconds
    return size


def list_repo(dialog: ModelManagerDialog, qtbot: QtBot, repo_id: str) -> None:
    dialog.repo_edit.setText(repo_id)
    dialog.list_button.click()
    assert not dialog.list_button.isEnabled(), "listing runs in the background"
    qtbot.waitUntil(dialog.list_button.isEnabled, timeout=15_000)


def test_list_download_pause_resume_install(window: MainWindow, qtbot: QtBot, fake_hub: FakeHub,
                                            builtin_gguf: Path) -> None:
    size = serve_builtin(fake_hub, builtin_gguf, seconds=5)
    dialog = open_manager(window, qtbot)
    list_repo(dialog, qtbot, f"https://huggingface.co/{REPO}")
    assert [f.filename for f in dialog.repo_files] == [FILE], "only .gguf files are listed"
    assert dialog.repo_table.item(0, 0).text() == FILE
    assert dialog.repo_table.item(0, 1).text() == f"{size / MB:.2f} MB"
    assert dialog.repo_status.text() == f"{REPO}: 1 GGUF file."

    dialog.repo_download_button.click()
    assert dialog.tabs.currentIndex() == DOWNLOADS_TAB
    key = (REPO, FILE)

    qtbot.waitUntil(lambda: window.downloads.states[key].status == DOWNLOADING
                    and window.downloads.states[key].done_bytes > size // 10, timeout=15_000)
    assert window.worker.busy is False, "downloads never use the model worker"
    row = dialog.download_keys.index(key)
    assert " MB of " in dialog.download_table.item(row, 2).text()
    assert dialog.download_table.item(row, 3).text().endswith("MB/s")
    assert ":" in dialog.download_table.item(row, 4).text(), "time left, as m:ss"
    dialog.download_table.setCurrentCell(row, 0)
    assert dialog.pause_button.isEnabled() and not dialog.resume_button.isEnabled()
    dialog.pause_button.click()
    qtbot.waitUntil(lambda: window.downloads.states[key].status == PAUSED, timeout=10_000)
    assert dialog.resume_button.isEnabled() and not dialog.pause_button.isEnabled()

    # The partial file stays on disk, and a fresh start (the next session) lists it as paused.
    partials = dl.list_partial_downloads()
    assert [(p.repo_id, p.filename) for p in partials] == [key]
    assert 0 < partials[0].done_bytes < size and partials[0].total_bytes == size
    next_session = DownloadManager()
    try:
        assert next_session.states[key].status == PAUSED
        assert next_session.states[key].done_bytes == partials[0].done_bytes
    finally:
        assert next_session.shutdown(5)

    served_before = fake_hub.bytes_served
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: window.downloads.states[key].status == DONE, timeout=20_000)
    assert fake_hub.bytes_served - served_before < size, "the resume fetched only the rest"
    done = window.downloads.states[key]
    assert done.path is not None and done.path.read_bytes() == builtin_gguf.read_bytes()
    assert dl.list_partial_downloads() == []
    model_id = model_id_for(done.path)
    installed_ids = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert model_id in installed_ids, "the finished model appears in the Installed tab"
    dialog.close()


def test_cancel_deletes_the_partial_file(window: MainWindow, qtbot: QtBot, fake_hub: FakeHub,
                                         builtin_gguf: Path) -> None:
    size = serve_builtin(fake_hub, builtin_gguf, seconds=6)
    dialog = open_manager(window, qtbot)
    key = (REPO, FILE)
    dialog.start_download(*key)
    qtbot.waitUntil(lambda: window.downloads.states[key].done_bytes > size // 20, timeout=15_000)
    dialog.download_table.setCurrentCell(dialog.download_keys.index(key), 0)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: window.downloads.states[key].status == CANCELLED, timeout=10_000)
    assert dl.list_partial_downloads() == []
    assert not [p for p in paths.partial_downloads_dir().iterdir() if p.suffix in (".part", ".json")]
    assert not dl.target_path(*key).exists()

    # A paused download found at start is cancelled from disk too.
    dialog.start_download(*key)
    qtbot.waitUntil(lambda: window.downloads.states[key].done_bytes > size // 20, timeout=15_000)
    window.downloads.pause(*key)
    qtbot.waitUntil(lambda: window.downloads.states[key].status == PAUSED, timeout=10_000)
    assert dl.list_partial_downloads()
    dialog.cancel_button.click()
    assert window.downloads.states[key].status == CANCELLED
    assert dl.list_partial_downloads() == []
    dialog.close()


def test_repo_box_says_what_is_wrong(window: MainWindow, qtbot: QtBot, fake_hub: FakeHub) -> None:
    dialog = open_manager(window, qtbot)
    dialog.repo_edit.setText("not a repo")
    dialog.list_button.click()
    assert "is not a Hugging Face repository id" in dialog.repo_status.text()
    list_repo(dialog, qtbot, "longwriter-test/No-Such-Repo")
    assert dialog.repo_status.text().startswith("No model repository called 'longwriter-test/No-Such-Repo'")
    assert not dialog.repo_download_button.isEnabled() and not dialog.repo_table.isVisible()
    dialog.close()


def test_catalog_shows_fit_badges_and_the_backend(window: MainWindow, qtbot: QtBot) -> None:
    dialog = open_manager(window, qtbot)
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=15_000)
    assert dialog.backend_label.text().startswith("Runs on: ")
    if not dialog.probe.backend.uses_gpu:
        assert "models run on the processor" in dialog.backend_label.text()
    verdicts = {v.value for v in Verdict}
    for row, entry in enumerate(catalog.CATALOG):
        badge = dialog.catalog_table.item(row, 4)
        assert badge.text().split(" (")[0] in verdicts, badge.text()
        assert "needs about" in badge.toolTip()
        glm = "glm-4" in entry.licence.lower()
        assert ("Built with glm-4" in dialog.catalog_table.item(row, 3).text()) == glm
        assert dialog.catalog_buttons[entry.id].isEnabled() == (not entry.builtin)
    dialog.close()


def test_loading_a_model_that_wont_fit_asks_first(window: MainWindow, qtbot: QtBot, builtin_gguf: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The built-in file imported as an ordinary model (the built-in one is exempt from the check), on a
    # machine with 64 MB of RAM: its 98 MB won't fit.
    model = installed.import_model(builtin_gguf, copy=False)
    window.settings = replace(window.settings, model=model.id)
    monkeypatch.setattr(main_window, "current_machine", lambda report: Machine(64 * MB, 48 * MB))
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def answer(parent: object, title: str, text: str, *args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return answers[len(asked) - 1]

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.create_project(Draft("Write a short note about bees.", 300), "plan")
    assert len(asked) == 1 and "won't fit" in asked[0] and "needs about" in asked[0]
    assert not window.worker.busy, "answering No loads nothing"
    assert window.last_fit is not None and window.last_fit.verdict is Verdict.WONT_FIT

    window.regenerate_plan()  # asks again; Yes loads it with force (the engine would refuse it otherwise)
    assert len(asked) == 2 and window.worker.busy
    assert window._choice().force
    window.stop()
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=60_000)
    assert window.confirm_fit() and len(asked) == 2, "asked once per model and session"


def test_closing_the_window_pauses_downloads(qtbot: QtBot, fake_hub: FakeHub, builtin_gguf: Path) -> None:
    size = serve_builtin(fake_hub, builtin_gguf, seconds=6)
    win = MainWindow(Settings(n_ctx=2048))
    qtbot.addWidget(win)
    win.show()
    key = (REPO, FILE)
    win.downloads.start(*key)
    qtbot.waitUntil(lambda: win.downloads.states[key].done_bytes > size // 20, timeout=15_000)
    win.close()
    assert win.downloads.states[key].status == PAUSED, "closing pauses; it never leaves a thread writing"
    partials = dl.list_partial_downloads()
    assert [(p.repo_id, p.filename) for p in partials] == [key] and partials[0].done_bytes > 0


def test_downloading_a_model_that_wont_fit_asks_first(window: MainWindow, qtbot: QtBot,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_manager, "current_machine", lambda report: Machine(2_000 * MB, 1_500 * MB))
    asked: list[str] = []

    def answer(parent: object, title: str, text: str, *args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer)
    dialog = open_manager(window, qtbot)
    qtbot.waitUntil(lambda: dialog.probe is not None, timeout=15_000)
    entry = catalog.default_entry()
    row = catalog.CATALOG.index(entry)
    badge = dialog.catalog_table.item(row, 4)
    assert badge.text() == "won't fit" and "It won't fit" in badge.toolTip()
    dialog.catalog_buttons[entry.id].click()
    assert len(asked) == 1 and asked[0].startswith(f"{entry.family} {entry.quant} won't fit this machine.")
    assert window.downloads.states == {}, "answering No downloads nothing"
    dialog.close()
