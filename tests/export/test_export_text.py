"""Plain-text export: structure kept, Markdown markup gone."""

from __future__ import annotations

from longwriter_desktop.export import ExportDocument, ExportSection
from longwriter_desktop.export.text_writer import display_width, render_text

DOC = ExportDocument(
    title="Garden",
    sections=[
        ExportSection(
            "Spring",
            "## Spring\n\nThe **soil** is *warm*\nand `damp`.\n\n### Tasks\n\n- dig\n  - deep\n- sow\n\n"
            "3. water\n4. wait\n\n> Be patient.\n\nRead [the guide](https://example.org).",
        ),
        ExportSection("夏天", "夏天的花园\n充满生机。"),
    ],
)

EXPECTED = """Garden
======

Spring
------

The soil is warm and damp.

Tasks

- dig
   - deep
- sow

3. water
4. wait

    Be patient.

Read the guide (https://example.org).

夏天
----

夏天的花园充满生机。
"""


def test_text_has_structure_without_markup() -> None:
    assert render_text(DOC) == EXPECTED


def test_wide_characters_count_double_for_underlines() -> None:
    assert display_width("夏天 ok") == 7
