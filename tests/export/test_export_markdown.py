"""Markdown export, and splitting one Markdown text into a document."""

from __future__ import annotations

from datetime import datetime, timezone

from longwriter_desktop.export import ExportDocument, ExportSection, document_from_markdown
from longwriter_desktop.export.markdown_writer import render_markdown

DOC = ExportDocument(
    title="Notes on *C* & C#",
    author="Ada",
    created=datetime(2024, 1, 1, tzinfo=timezone.utc),
    sections=[
        ExportSection("Intro", "# Intro\n\nFirst *line*\nwraps here.\n\n## Detail\n\n- one\n- two\n"),
        ExportSection(
            "Data",
            "Setext heading\n--------------\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n# not a heading\n```",
        ),
        ExportSection("Empty", ""),
    ],
)

EXPECTED = """# Notes on \\*C\\* & C\\#

## Intro

First *line*
wraps here.

### Detail

- one
- two

## Data

### Setext heading

| a | b |
|---|---|
| 1 | 2 |

```
# not a heading
```

## Empty
"""


def test_markdown_keeps_the_prose_and_moves_headings_below_the_section() -> None:
    assert render_markdown(DOC) == EXPECTED


def test_markdown_round_trips_through_the_splitter() -> None:
    text = render_markdown(DOC)
    again = document_from_markdown(text)
    assert again.title == DOC.title
    assert [section.title for section in again.sections] == ["Intro", "Data", "Empty"]
    assert again.sections[0].text == "First *line*\nwraps here.\n\n### Detail\n\n- one\n- two"
    assert again.sections[2].text == ""
    assert render_markdown(again) == text


def test_splitter_takes_title_sections_and_leading_text() -> None:
    doc = document_from_markdown(
        "Preface before anything.\n\n# My Book\n\nAn opening line.\n\n"
        "## One\n\nText one.\n\n### Sub\n\nMore.\n\n"
        "## Two\n\n```\n## not a section\n```\n",
        author="Ada",
        language="en",
    )
    assert doc.title == "My Book"
    assert (doc.author, doc.language) == ("Ada", "en")
    assert [(s.title, s.text) for s in doc.sections] == [
        ("", "Preface before anything."),
        ("", "An opening line."),
        ("One", "Text one.\n\n### Sub\n\nMore."),
        ("Two", "```\n## not a section\n```"),
    ]


def test_splitter_uses_h1_chapters_when_there_are_several() -> None:
    doc = document_from_markdown("# One\n\nA.\n\n## Inside\n\nB.\n\n# Two\n\nC.\n", title="Fallback")
    assert doc.title == "Fallback"
    assert [(s.title, s.text) for s in doc.sections] == [("One", "A.\n\n## Inside\n\nB."), ("Two", "C.")]


def test_splitter_without_headings_gives_one_untitled_section() -> None:
    doc = document_from_markdown("Just text\r\nacross lines.\r\n", title="Draft")
    assert doc.title == "Draft"
    assert [(s.title, s.text) for s in doc.sections] == [("", "Just text\nacross lines.")]


def test_heading_title_markup_becomes_plain_text() -> None:
    doc = document_from_markdown("# The **Big** `Idea`\n\n## Part *one*\n\nText.\n")
    assert doc.title == "The Big Idea"
    assert doc.sections[0].title == "Part one"
