"""The document at the centre: the text with its headings shown as headings, streamed into and edited.

The view holds one block per line of text. The document's title is a level-1 heading block, each section's
title a level-2 heading block, and each section's text the plain blocks after its heading, so
``"\\n".join(body blocks)`` is exactly the section's text. Nothing here shows Markdown marks; reading the
view back (:func:`read_view`) gives every edited title and text, in order, exactly as the user left them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QKeyEvent,
    QPalette,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextEdit, QVBoxLayout, QWidget

from ..engine.counting import LengthRule
from .draft import Draft

TITLE_LEVEL, SECTION_LEVEL = 1, 2
READING_CHARS = 100  # the text column's width on a wide screen, in characters
FOCUS_CHARS = 76


@dataclass
class ViewSection:
    """One section as read back from the view: its heading (None when it has none) and its text."""

    title: str | None
    text: str


@dataclass
class ViewContent:
    title: str | None
    sections: list[ViewSection] = field(default_factory=list)
    lead: str = ""  # text before the first heading (a one-pass document's whole text)


def _block_text(block: QTextBlock) -> str:
    # Qt keeps U+2029/U+2028 inside blocks for some pasted text; a line break is what the user sees.
    return block.text().replace("\u2029", "\n").replace("\u2028", "\n")


def read_document(document: QTextDocument) -> ViewContent:
    """The title, each headed section and any text before the first heading."""
    content = ViewContent(title=None)
    lead: list[str] = []
    lines: list[list[str]] = []
    block = document.begin()
    first = True
    while block.isValid():
        level = block.blockFormat().headingLevel()
        text = _block_text(block)
        if first and level == TITLE_LEVEL:
            content.title = text
        elif level >= SECTION_LEVEL and text.strip():
            content.sections.append(ViewSection(text, ""))
            lines.append([])
        elif level >= SECTION_LEVEL:
            pass  # a heading whose text was deleted: its section's text now continues the one before
        elif not lines:
            lead.append(text)
        else:
            lines[-1].append(text)
        first = False
        block = block.next()
    for section, section_lines in zip(content.sections, lines):
        section.text = "\n".join(section_lines)
    content.lead = "\n".join(lead)
    return content


def _norm(title: str) -> str:
    return " ".join(title.split()).casefold()


def apply_view(draft: Draft, content: ViewContent) -> bool:
    """Take the view's titles and texts into the draft's sections; True when anything changed.

    Headings are matched to sections in order. A heading that was deleted merges its text into the
    section before it (that section gets the text as shown, the other one none), an edited heading renames
    its section, so the export always shows what the view showed.
    """
    shown = draft.shown_sections()
    before = ([(r.section.title, r.text) for r in draft.rows], draft.title)
    if content.title is not None and content.title.strip():
        draft.title = content.title.strip()
    if shown == 0:
        return before[1] != draft.title
    texts: list[str | None] = [None] * shown
    titles = [draft.rows[i].section.title for i in range(shown)]
    if not draft.headings:
        # One untitled section: everything after the title is its text (and any heading-looking lines too).
        parts = [content.lead] + [f"{s.title}\n{s.text}" for s in content.sections]
        texts[0] = "\n".join(p for p in parts if p)
    else:
        j = 0
        last = -1
        if content.lead.strip():
            texts[0] = content.lead
            last, j = 0, 1
        for section in content.sections:
            match = next((m for m in range(j, shown) if _norm(titles[m]) == _norm(section.title or "")), None)
            if match is None and j < shown:
                match = j
                titles[match] = (section.title or "").strip()
            if match is None:  # more headings than sections: the extra heading is text of the last one
                if last >= 0:
                    texts[last] = f"{texts[last] or ''}\n{section.title}\n{section.text}"
                continue
            texts[match] = section.text
            last, j = match, match + 1
    for i in range(shown):
        row = draft.rows[i]
        new_text = (texts[i] or "").strip("\n")
        if titles[i] and titles[i] != row.section.title:
            row.section.title = titles[i]
        if new_text != row.text.strip("\n"):
            row.text = new_text
            if row.status == "done":
                row.edited = True
    return before != ([(r.section.title, r.text) for r in draft.rows], draft.title)


class DocumentEditor(QTextEdit):
    """A QTextEdit that keeps headings one line each and takes pasted text as plain lines."""

    def __init__(self, view: DocumentView) -> None:
        super().__init__()
        self._view = view
        self.line_chars = READING_CHARS  # the text column's width, in average characters

    def column_width(self) -> int:
        """Lines of a readable length: this many pixels, the document's margins and the scroll bar included."""
        margins = 2 * int(self.document().documentMargin()) + 2 * self.frameWidth()
        return self.fontMetrics().averageCharWidth() * self.line_chars + margins + \
            self.verticalScrollBar().sizeHint().width()

    def set_line_chars(self, chars: int) -> None:
        self.line_chars = chars
        self.setMaximumWidth(self.column_width())
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        # The layout centres the editor and gives it this width where the window has room for it.
        return QSize(self.column_width(), super().sizeHint().height())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.isReadOnly() \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            cursor = self.textCursor()
            if cursor.blockFormat().headingLevel():
                # Enter in a heading starts a line of text, never a second heading.
                cursor.beginEditBlock()
                cursor.removeSelectedText()
                cursor.insertBlock(self._view.body_block, self._view.body_char)
                cursor.endEditBlock()
                self.setTextCursor(cursor)
                return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Paste as plain lines: the first joins the current line, the others become lines of text."""
        if not source.hasText():
            return
        lines = source.text().replace("\r\n", "\n").replace("\r", "\n").split("\n")
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.insertText(lines[0])
        for line in lines[1:]:
            cursor.insertBlock(self._view.body_block, self._view.body_char)
            cursor.insertText(line, self._view.body_char)
        cursor.endEditBlock()
        self.setTextCursor(cursor)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasText()


class DocumentView(QFrame):
    """The text of the open document: streamed into while writing, editable when not."""

    edited = Signal()  # the user changed the text
    sectionVisible = Signal(int)  # the section the cursor is in, when it moves to another one

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = DocumentEditor(self)
        self.editor.setAcceptRichText(False)
        self.editor.setPlaceholderText("The document appears here as the model writes it.")
        self.editor.setFrameShape(QFrame.Shape.NoFrame)
        font = QFont(self.editor.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.0) + 1.5)
        self.editor.setFont(font)
        self.editor.document().setDocumentMargin(18)
        self.body_block = QTextBlockFormat()
        self.body_block.setHeadingLevel(0)
        self.body_block.setTopMargin(0)
        self.body_block.setBottomMargin(0)
        self.body_char = QTextCharFormat()
        self.body_char.setFontWeight(QFont.Weight.Normal)
        self.body_char.setFontPointSize(font.pointSizeF())
        self.section_block = QTextBlockFormat()
        self.section_block.setHeadingLevel(SECTION_LEVEL)
        self.section_block.setTopMargin(16)
        self.section_block.setBottomMargin(6)
        self.section_char = QTextCharFormat()
        self.section_char.setFontWeight(QFont.Weight.Bold)
        self.section_char.setFontPointSize(font.pointSizeF() * 1.3)
        self.title_block = QTextBlockFormat()
        self.title_block.setHeadingLevel(TITLE_LEVEL)
        self.title_block.setBottomMargin(10)
        self.title_char = QTextCharFormat()
        self.title_char.setFontWeight(QFont.Weight.Bold)
        self.title_char.setFontPointSize(font.pointSizeF() * 1.7)
        self.follow = True
        self.view_updates = 0  # cursor inserts while writing, for the batching figures
        self.edited_by_user = False
        self._programmatic = False
        self._headings = False
        self._shown = 0
        self._last_section = -1
        self.editor.textChanged.connect(self._text_changed)
        self.editor.cursorPositionChanged.connect(self._cursor_moved)
        # On a wide screen the text is a centred column on the page colour, not lines across the whole width.
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.editor.set_line_chars(READING_CHARS)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.editor, 1, Qt.AlignmentFlag.AlignHCenter)

    # -- showing -------------------------------------------------------------------------------------

    def _programmatic_edit(self) -> QTextCursor:
        self._programmatic = True
        return QTextCursor(self.editor.document())

    def show_draft(self, draft: Draft | None) -> None:
        """Show a project's title and every shown section (on opening a project or starting a run)."""
        self.rule = draft.rule if draft else LengthRule()  # words, or characters for Chinese and Japanese
        document = self.editor.document()
        self._programmatic = True
        document.setUndoRedoEnabled(False)
        document.clear()
        self._headings = bool(draft and draft.headings)
        self._shown = 0
        if draft is not None and (draft.shown_sections() or draft.rows):
            cursor = QTextCursor(document)
            cursor.setBlockFormat(self.title_block)
            cursor.setBlockCharFormat(self.title_char)
            cursor.insertText(draft.title, self.title_char)
            for index in range(draft.shown_sections()):
                self._add_section(cursor, draft, index)
        document.setUndoRedoEnabled(True)
        self._programmatic = False
        self.edited_by_user = False
        self.editor.moveCursor(QTextCursor.MoveOperation.Start)

    def _add_section(self, cursor: QTextCursor, draft: Draft, index: int) -> None:
        cursor.movePosition(QTextCursor.MoveOperation.End)
        title = draft.rows[index].section.title
        if self._headings and title:
            cursor.insertBlock(self.section_block, self.section_char)
            cursor.insertText(title, self.section_char)
        cursor.insertBlock(self.body_block, self.body_char)
        text = draft.rows[index].text
        if text:
            cursor.insertText(text, self.body_char)
        self._shown = index + 1

    def ensure_section(self, draft: Draft, index: int) -> None:
        """Show the sections up to ``index`` (a run reached it)."""
        if self._shown == 0 and self.editor.document().isEmpty():
            self.show_draft(draft)
        cursor = self._programmatic_edit()
        self.editor.document().setUndoRedoEnabled(False)
        while self._shown <= index:
            self._add_section(cursor, draft, self._shown)
        self.editor.document().setUndoRedoEnabled(True)
        self._programmatic = False

    # -- where the sections are ------------------------------------------------------------------------

    def _heading_blocks(self) -> list[QTextBlock]:
        blocks = []
        block = self.editor.document().begin().next()
        while block.isValid():
            if block.blockFormat().headingLevel() >= SECTION_LEVEL:
                blocks.append(block)
            block = block.next()
        return blocks

    def _section_span(self, index: int) -> tuple[int, int]:
        """Document positions of the start and the end of section ``index``'s text."""
        document = self.editor.document()
        end_of_document = document.characterCount() - 1
        if not self._headings:
            first_body = document.begin().next()
            return (first_body.position() if first_body.isValid() else end_of_document), end_of_document
        headings = self._heading_blocks()
        if index >= len(headings):
            return end_of_document, end_of_document
        start = headings[index].next().position()
        end = headings[index + 1].position() - 1 if index + 1 < len(headings) else end_of_document
        return start, max(start, end)

    def section_at_cursor(self) -> int:
        """The section the text cursor is in (0 before the first heading)."""
        if not self._headings:
            return 0
        position = self.editor.textCursor().position()
        index = 0
        for i, block in enumerate(self._heading_blocks()):
            if block.position() <= position:
                index = i
        return index

    def jump_to(self, index: int) -> None:
        """Scroll to a section's heading and put the cursor at the start of its text."""
        if self._headings:
            headings = self._heading_blocks()
            if not 0 <= index < len(headings):
                return
            position = headings[index].position()
        else:
            position = self._section_span(0)[0]
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(position)
        self.editor.setTextCursor(cursor)
        bar = self.editor.verticalScrollBar()
        bar.setValue(bar.value() + self.editor.cursorRect(cursor).top() - 12)

    # -- streaming -------------------------------------------------------------------------------------

    def clear_section(self, index: int) -> None:
        """Empty a section's text (it is being written again)."""
        start, end = self._section_span(index)
        cursor = self._programmatic_edit()
        self.editor.document().setUndoRedoEnabled(False)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self.editor.document().setUndoRedoEnabled(True)
        self._programmatic = False

    def append(self, index: int, text: str) -> None:
        """Add text at the end of section ``index``; keep it in view while following."""
        _, end = self._section_span(index)
        cursor = self._programmatic_edit()
        self.editor.document().setUndoRedoEnabled(False)
        cursor.setPosition(end)
        cursor.insertText(text, self.body_char)
        self.editor.document().setUndoRedoEnabled(True)
        self._programmatic = False
        self.view_updates += 1
        if self.follow:
            self.editor.setTextCursor(cursor)
            self.editor.ensureCursorVisible()

    def retract(self, index: int, chars: int) -> None:
        """Remove the last ``chars`` characters of section ``index`` (the engine cut a loop)."""
        start, end = self._section_span(index)
        cursor = self._programmatic_edit()
        self.editor.document().setUndoRedoEnabled(False)
        cursor.setPosition(max(start, end - chars))
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self.editor.document().setUndoRedoEnabled(True)
        self._programmatic = False

    # -- reading back ----------------------------------------------------------------------------------

    def content(self) -> ViewContent:
        return read_document(self.editor.document())

    def section_text(self, index: int) -> str:
        """What the view shows of one section's text."""
        start, end = self._section_span(index)
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selectedText().replace("\u2029", "\n")

    def words(self) -> int:
        """Words of the sections' text (the title and the headings not counted), as readers count them."""
        content = self.content()
        return getattr(self, "rule", LengthRule()).count("\n".join([content.lead] + [s.text for s in content.sections]))

    def set_focus_mode(self, on: bool) -> None:
        """A narrower, calmer column of text for focus mode, or the usual reading width."""
        self.editor.set_line_chars(FOCUS_CHARS if on else READING_CHARS)

    def set_writing(self, writing: bool) -> None:
        self.editor.setReadOnly(writing)

    def _text_changed(self) -> None:
        if not self._programmatic:
            self.edited_by_user = True
            self.edited.emit()

    def _cursor_moved(self) -> None:
        if self._programmatic:
            return
        index = self.section_at_cursor()
        if index != self._last_section:
            self._last_section = index
            self.sectionVisible.emit(index)
