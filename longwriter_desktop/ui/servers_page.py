"""The Servers page of the model manager: OpenAI-compatible servers a project can write through.

Each server has a name, an address, a model and where its API key comes from (an environment variable, or
the OS keyring where this system has one). "Test connection" asks the server, off the GUI thread, and
answers in one sentence. The list is saved by :mod:`longwriter_desktop.app.servers`; projects choose a
server in the New project form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..app import keys
from ..app.servers import SavedServer, check_connection, load_servers, save_servers
from ..errors import LongWriterError
from .background import BackgroundCall

log = logging.getLogger(__name__)

KEY_SOURCES = (("none", "No key"), ("env", "Environment variable"), ("keyring", "OS keyring"))


class ServersPage(QWidget):
    """Add, edit, test and remove servers; ``serversChanged`` follows every save or removal."""

    serversChanged = Signal()

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self._calls: list[BackgroundCall] = []
        self.servers: list[SavedServer] = load_servers()
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._selected)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Office GPU")
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.model = QLineEdit()
        self.model.setPlaceholderText("empty: the first model the server lists")
        self.ctx = QSpinBox()
        self.ctx.setRange(0, 1_048_576)
        self.ctx.setSingleStep(1024)
        self.ctx.setSpecialValueText("As the server reports it (4,096 when it doesn't)")
        self.ctx.setSuffix(" tokens")
        self.ctx.setGroupSeparatorShown(True)
        self.key_source = QComboBox()
        for key, label in KEY_SOURCES:
            self.key_source.addItem(label, key)
        self.key_name = QLineEdit()
        self.key_value = QLineEdit()
        self.key_value.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_value.setPlaceholderText("the key, kept in the OS keyring (never in the app's files)")
        self.keyring_note = QLabel(keys.keyring_status() or "")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setStyleSheet("color: palette(placeholder-text);")
        self.keyring_note.setVisible(bool(self.keyring_note.text()))
        if keys.keyring_status():
            self.key_source.model().item(2).setEnabled(False)  # type: ignore[attr-defined]
        self.key_source.currentIndexChanged.connect(self._key_source_changed)
        self.answer = QLabel("")
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.clear_form)
        self.save_button = QPushButton("Save server")
        self.save_button.clicked.connect(self.save_server)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_server)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)

        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Address:", self.url)
        form.addRow("Model:", self.model)
        form.addRow("Context size:", self.ctx)
        form.addRow("API key:", self.key_source)
        form.addRow("Variable / entry:", self.key_name)
        form.addRow("Key:", self.key_value)
        form.addRow("", self.keyring_note)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.test_button, self.save_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(buttons)
        right.addWidget(self.answer)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        heading = QLabel("Servers (llama.cpp's server, vLLM, Ollama: any OpenAI-compatible API)")
        heading.setWordWrap(True)
        left.addWidget(heading)
        left.addWidget(self.list, 1)
        layout.addLayout(left, 1)
        layout.addLayout(right, 2)
        self._fill_list()
        self._key_source_changed()

    # -- the form --------------------------------------------------------------------------------------

    def _fill_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for server in self.servers:
            self.list.addItem(f"{server.name} — {server.base_url}")
        self.list.blockSignals(False)
        self.remove_button.setEnabled(self.list.currentRow() >= 0)

    def _selected(self, row: int) -> None:
        self.remove_button.setEnabled(row >= 0)
        if not 0 <= row < len(self.servers):
            return
        server = self.servers[row]
        self.name.setText(server.name)
        self.url.setText(server.base_url)
        self.model.setText(server.model)
        self.ctx.setValue(server.n_ctx or 0)
        self.key_source.setCurrentIndex(max(0, self.key_source.findData(server.key_source)))
        self.key_name.setText(server.key_name)
        self.key_value.clear()
        self.answer.clear()

    def clear_form(self) -> None:
        self.list.setCurrentRow(-1)
        for edit in (self.name, self.url, self.model, self.key_name, self.key_value):
            edit.clear()
        self.ctx.setValue(0)
        self.key_source.setCurrentIndex(0)
        self.answer.clear()

    def _key_source_changed(self) -> None:
        source = str(self.key_source.currentData())
        self.key_name.setEnabled(source != "none")
        self.key_value.setEnabled(source == "keyring")
        self.key_name.setPlaceholderText(
            {"env": "the environment variable, e.g. OPENAI_API_KEY",
             "keyring": "a name for the key in the keyring, e.g. office-gpu"}.get(source, "")
        )

    def server_from_form(self) -> SavedServer:
        """The form as a checked entry (InputError when something is missing)."""
        return SavedServer(
            self.name.text(), self.url.text(), self.model.text(), str(self.key_source.currentData()),
            self.key_name.text(), self.ctx.value() or None,
        ).validated()

    # -- actions ---------------------------------------------------------------------------------------

    def save_server(self) -> bool:
        """Save the form's server (replacing the one of the same name) and, for the keyring, its key."""
        try:
            server = self.server_from_form()
            if server.key_source == "keyring" and self.key_value.text():
                keys.save_key(server.key_name, self.key_value.text())
            servers = [s for s in self.servers if s.name != server.name]
            row = next((i for i, s in enumerate(self.servers) if s.name == server.name), len(servers))
            servers.insert(row, server)
            save_servers(servers)
        except LongWriterError as exc:
            self._on_error(str(exc))
            return False
        self.key_value.clear()
        self.servers = servers
        self._fill_list()
        self.list.setCurrentRow(row)
        self.answer.setText(f"Saved \u201c{server.name}\u201d. Choose it for a project in New project.")
        self.serversChanged.emit()
        return True

    def remove_server(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.servers):
            return
        servers = self.servers[:row] + self.servers[row + 1:]
        try:
            save_servers(servers)
        except LongWriterError as exc:
            self._on_error(str(exc))
            return
        self.servers = servers
        self._fill_list()
        self.clear_form()
        self.serversChanged.emit()

    def test_connection(self) -> None:
        """Ask the server for its model and context, off the GUI thread; the answer shows below."""
        try:
            choice = self.server_from_form().choice()
        except LongWriterError as exc:
            self.answer.setText(str(exc))
            return
        self.test_button.setEnabled(False)
        self.answer.setText(f"Asking {choice.base_url} …")
        call = BackgroundCall(lambda: check_connection(choice), self, name="longwriter-server-test")
        call.succeeded.connect(self._tested)
        call.failed.connect(self._tested)
        self._calls.append(call)
        call.start()

    def _tested(self, answer: str) -> None:
        self.test_button.setEnabled(True)
        self.answer.setText(answer)

    @property
    def testing(self) -> bool:
        return not self.test_button.isEnabled()
