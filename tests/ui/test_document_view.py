"""The document view without a model: headings as headings, streaming into any section, edits read back."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.plan import Section
from longwriter_desktop.ui.document_view import SECTION_LEVEL, DocumentView, apply_view
from longwriter_desktop.ui.draft import DONE, Draft, SectionRow


def two_sections() -> Draft:
    draft = Draft("Write about bees.", 200, title="Bees")
    draft.rows = [SectionRow(Section("Hives", "Where.", 100), "Hive text.\n\nSecond paragraph.", DONE),
                  SectionRow(Section("Honey", "When.", 100), "Honey text.", DONE)]
    return draft


def view_of(qtbot: QtBot, draft: Draft) -> DocumentView:
    view = DocumentView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    view.show_draft(draft)
    return view


def block_with(view: DocumentView, text: str) -> QTextCursor:
    block = view.editor.document().begin()
    while block.isValid() and block.text() != text:
        block = block.next()
    assert block.isValid(), text
    return QTextCursor(block)


def test_headings_are_headings_and_texts_read_back_exactly(qtbot: QtBot) -> None:
    draft = two_sections()
    view = view_of(qtbot, draft)
    assert view.editor.toPlainText() == "Bees\nHives\nHive text.\n\nSecond paragraph.\nHoney\nHoney text."
    assert block_with(view, "Honey").blockFormat().headingLevel() == SECTION_LEVEL
    assert [s.text for s in view.content().sections] == [r.text for r in draft.rows]
    assert view.words() == 6
    assert not apply_view(draft, view.content()), "reading an untouched view changes nothing"


def test_typing_a_heading_renames_its_section_and_enter_starts_text(qtbot: QtBot) -> None:
    draft = two_sections()
    view = view_of(qtbot, draft)
    cursor = block_with(view, "Honey")
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    view.editor.setTextCursor(cursor)
    qtbot.keyClicks(view.editor, "Harvest")
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(view.editor, "A new first line.")
    assert view.edited_by_user
    assert apply_view(draft, view.content())
    assert draft.rows[1].section.title == "Harvest"
    assert draft.rows[1].text == "A new first line.\nHoney text." and draft.rows[1].edited
    assert draft.rows[0].text == "Hive text.\n\nSecond paragraph." and not draft.rows[0].edited


def test_a_deleted_heading_merges_its_text_into_the_section_before(qtbot: QtBot) -> None:
    draft = two_sections()
    view = view_of(qtbot, draft)
    cursor = block_with(view, "Honey")
    view.editor.setTextCursor(cursor)
    qtbot.keyClick(view.editor, Qt.Key.Key_Backspace)  # joins the heading line to the text before it
    content = view.content()
    assert [s.title for s in content.sections] == ["Hives"]
    apply_view(draft, content)
    assert draft.rows[0].text == "Hive text.\n\nSecond paragraph.Honey\nHoney text."
    assert draft.rows[1].text == ""
    exported = draft.export_document()
    assert [s.title for s in exported.sections] == ["Hives"], "the export shows what the view shows"


def test_pasted_lines_stay_text_even_in_a_heading(qtbot: QtBot) -> None:
    draft = two_sections()
    view = view_of(qtbot, draft)
    cursor = block_with(view, "Honey")
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    view.editor.setTextCursor(cursor)
    data = QMimeData()
    data.setText(" and wax\nfirst pasted line\nsecond pasted line")
    view.editor.insertFromMimeData(data)
    apply_view(draft, view.content())
    assert draft.rows[1].section.title == "Honey and wax"
    assert draft.rows[1].text == "first pasted line\nsecond pasted line\nHoney text."


def test_streaming_into_a_middle_section_and_cutting_back(qtbot: QtBot) -> None:
    draft = two_sections()
    draft.rows.append(SectionRow(Section("Wax", "How.", 100), "Wax text.", DONE))
    view = view_of(qtbot, draft)
    view.clear_section(1)
    view.append(1, "New honey")
    view.append(1, " text.\n\nMore.")
    view.retract(1, len("\n\nMore."))
    assert [s.text for s in view.content().sections] == ["Hive text.\n\nSecond paragraph.", "New honey text.",
                                                         "Wax text."]
    assert not view.edited_by_user, "the model's text is not an edit"
    assert view.section_text(1) == "New honey text."


def test_a_one_pass_document_has_no_section_heading(qtbot: QtBot) -> None:
    draft = Draft("Write a note.", 50, mode="direct", title="A note")
    draft.rows = [SectionRow(Section("", "Write a note.", 50), "Line one.\nLine two.", DONE)]
    view = view_of(qtbot, draft)
    assert view.editor.toPlainText() == "A note\nLine one.\nLine two."
    view.append(0, " More.")
    assert view.content().lead == "Line one.\nLine two. More."
    cursor = block_with(view, "A note")
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    view.editor.setTextCursor(cursor)
    qtbot.keyClicks(view.editor, ", edited")
    apply_view(draft, view.content())
    assert draft.title == "A note, edited" and draft.rows[0].text == "Line one.\nLine two. More."


def test_jump_to_a_section_puts_the_cursor_on_its_heading(qtbot: QtBot) -> None:
    draft = two_sections()
    draft.rows[0].text = "\n".join(f"Line {i}." for i in range(200))
    view = view_of(qtbot, draft)
    seen: list[int] = []
    view.sectionVisible.connect(seen.append)
    view.jump_to(1)
    assert view.editor.textCursor().block().text() == "Honey"
    assert view.editor.verticalScrollBar().value() > 0
    assert view.section_at_cursor() == 1
