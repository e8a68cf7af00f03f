"""Reordering the outline by dragging a section's row number (the Up/Down buttons stay too)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from longwriter_desktop.engine.plan import Section
from longwriter_desktop.ui.draft import Draft, SectionRow
from longwriter_desktop.ui.outline import OutlinePane


def plan_pane(qtbot: QtBot) -> tuple[OutlinePane, Draft]:
    draft = Draft("Write about bees.", 900)
    draft.rows = [SectionRow(Section(title, f"About {title.lower()}.", 300)) for title in ("Hives", "Bees",
                                                                                          "Honey")]
    pane = OutlinePane()
    qtbot.addWidget(pane)
    pane.resize(700, 400)
    pane.show()
    pane.show_draft(draft)
    pane.set_editable(True)
    return pane, draft


def titles(pane: OutlinePane) -> list[str]:
    return [pane.table.item(row, 0).text() for row in range(pane.table.rowCount())]


def test_dragging_a_row_number_moves_the_section(qtbot: QtBot) -> None:
    pane, draft = plan_pane(qtbot)
    edits: list[None] = []
    pane.planEdited.connect(lambda: edits.append(None))
    header = pane.table.verticalHeader()
    assert header.sectionsMovable()

    def centre(row: int) -> QPoint:
        return QPoint(header.width() // 2, header.sectionViewportPosition(row) + header.sectionSize(row) // 2)

    # A real mouse drag on the row numbers: "Hives" (first) to below "Honey" (last).
    QTest.mousePress(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre(0))
    for step in range(1, 11):
        start, end = centre(0), centre(2) + QPoint(0, header.sectionSize(2) // 3)
        QTest.mouseMove(header.viewport(), start + (end - start) * step / 10)
    QTest.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       centre(2) + QPoint(0, header.sectionSize(2) // 3))
    assert [r.section.title for r in draft.rows] == ["Bees", "Honey", "Hives"]
    assert titles(pane) == ["Bees", "Honey", "Hives"], "the table shows the draft's order"
    # The header's own reordering was undone: visual row i is logical row i again.
    assert [header.logicalIndex(i) for i in range(3)] == [0, 1, 2]
    assert pane.table.currentRow() == 2 and edits == [None]

    # The buttons still work beside it.
    pane.up_button.click()
    assert titles(pane) == ["Bees", "Hives", "Honey"]


def test_rows_cannot_be_dragged_while_writing(qtbot: QtBot) -> None:
    pane, draft = plan_pane(qtbot)
    pane.set_editable(False)
    assert not pane.table.verticalHeader().sectionsMovable()
    pane.move_section_to(0, 2)
    assert [r.section.title for r in draft.rows] == ["Hives", "Bees", "Honey"]
