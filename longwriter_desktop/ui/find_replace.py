"""Find and replace across the document: a bar under the text (Ctrl+F, Ctrl+H; Esc closes it)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextEdit, QWidget


class FindBar(QWidget):
    """Finds text in one editor and replaces one match or all of them (each replacement is one undo step)."""

    replaced = Signal(int)  # how many

    def __init__(self, editor: QTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.find_text = QLineEdit()
        self.find_text.setPlaceholderText("Find")
        self.find_text.setClearButtonEnabled(True)
        self.replace_text = QLineEdit()
        self.replace_text.setPlaceholderText("Replace with")
        self.case = QCheckBox("Match case")
        self.whole = QCheckBox("Whole words")
        self.previous_button = QPushButton("Previous")
        self.next_button = QPushButton("Next")
        self.replace_button = QPushButton("Replace")
        self.replace_all_button = QPushButton("Replace all")
        self.close_button = QPushButton("Close")
        self.status = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for widget in (self.find_text, self.previous_button, self.next_button, self.replace_text,
                       self.replace_button, self.replace_all_button, self.case, self.whole, self.status):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.close_button)
        self.find_text.returnPressed.connect(self.find_next)
        self.find_text.textChanged.connect(self._update)
        self.replace_text.returnPressed.connect(self.replace_one)
        self.next_button.clicked.connect(self.find_next)
        self.previous_button.clicked.connect(self.find_previous)
        self.replace_button.clicked.connect(self.replace_one)
        self.replace_all_button.clicked.connect(self.replace_all)
        self.close_button.clicked.connect(self.hide)
        self._update()

    def open(self, replace: bool) -> None:
        """Show the bar with the selection (if any) as the text to find."""
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_text.setText(selected)
        self.show()
        (self.replace_text if replace and self.find_text.text() else self.find_text).setFocus()
        self.find_text.selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            self.editor.setFocus()
            return
        super().keyPressEvent(event)

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if self.whole.isChecked():
            flags |= QTextDocument.FindFlag.FindWholeWords
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def _update(self) -> None:
        has = bool(self.find_text.text())
        writable = not self.editor.isReadOnly()
        for button in (self.previous_button, self.next_button):
            button.setEnabled(has)
        self.replace_button.setEnabled(has and writable)
        self.replace_all_button.setEnabled(has and writable)
        self.status.clear()

    def _find(self, backward: bool) -> bool:
        needle = self.find_text.text()
        if not needle:
            return False
        document = self.editor.document()
        found = document.find(needle, self.editor.textCursor(), self._flags(backward))
        if found.isNull():  # wrap around
            start = QTextCursor(document)
            if backward:
                start.movePosition(QTextCursor.MoveOperation.End)
            found = document.find(needle, start, self._flags(backward))
        if found.isNull():
            self.status.setText("Not found")
            return False
        self.editor.setTextCursor(found)
        self.editor.ensureCursorVisible()
        self.status.clear()
        return True

    def find_next(self) -> bool:
        return self._find(False)

    def find_previous(self) -> bool:
        return self._find(True)

    def _matches_selection(self) -> bool:
        selected = self.editor.textCursor().selectedText()
        needle = self.find_text.text()
        if self.case.isChecked():
            return selected == needle
        return selected.casefold() == needle.casefold()

    def replace_one(self) -> None:
        """Replace the match under the cursor, then find the next one."""
        self._update()
        if self.editor.isReadOnly() or not self.find_text.text():
            return
        if not self._matches_selection() and not self.find_next():
            return
        self.editor.textCursor().insertText(self.replace_text.text())
        self.replaced.emit(1)
        self.find_next()

    def replace_all(self) -> int:
        """Replace every match in the document as one undo step; says how many."""
        self._update()
        needle = self.find_text.text()
        if self.editor.isReadOnly() or not needle:
            return 0
        document = self.editor.document()
        edit = QTextCursor(document)
        edit.beginEditBlock()
        count = 0
        found = document.find(needle, 0, self._flags())
        while not found.isNull():
            found.insertText(self.replace_text.text())
            count += 1
            found = document.find(needle, found, self._flags())
        edit.endEditBlock()
        self.status.setText(f"{count} replaced" if count else "Not found")
        if count:
            self.replaced.emit(count)
        return count
