"""The plain document model every exporter takes, and a splitter for one Markdown text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..engine.language import detect_language
from .markdown_text import heading_plain_text, parse_markdown, split_lines


@dataclass(frozen=True)
class ExportSection:
    """One chapter: a plain title and Markdown-ish prose written by the model."""

    title: str
    text: str


@dataclass(frozen=True)
class ExportDocument:
    """A finished document: the title, who wrote it, when, and its sections in order.

    ``language`` is a hint such as "en", "zh", "zh-TW" or "ja"; empty means "look at the text".
    """

    title: str
    author: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    sections: Sequence[ExportSection] = ()
    language: str = ""


# How much text language detection looks at: enough to decide, cheap on 100,000-word documents.
_DETECTION_SAMPLE = 20_000


def _script_counts(text: str) -> tuple[int, int, int, int]:
    """Han characters, Japanese kana, Hangul syllables and Latin letters in ``text``."""
    han = kana = hangul = latin = 0
    for char in text:
        code = ord(char)
        if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
            han += 1
        elif 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0xAC00 <= code <= 0xD7AF:
            hangul += 1
        elif char.isascii() and char.isalpha():
            latin += 1
    return han, kana, hangul, latin


def document_language(doc: ExportDocument) -> str:
    """The document's language tag: the hint when given, else "zh", "ja", "ko" or "" from the text."""
    if doc.language.strip():
        return doc.language.strip()
    parts = [doc.title]
    size = len(doc.title)
    for section in doc.sections:
        if size >= _DETECTION_SAMPLE:
            break
        parts.append(section.title)
        parts.append(section.text[: _DETECTION_SAMPLE - size])
        size += len(section.title) + len(parts[-1])
    han, kana, hangul, latin = _script_counts("".join(parts))
    # One Han character carries about as much as a short English word, so a Chinese text with
    # many English terms still has far more than a fifth of its letters in Han.
    east_asian = han + kana + hangul
    if east_asian == 0 or east_asian * 5 < east_asian + latin:
        # Other languages get their tag too (Word's spelling and hyphenation follow it); English, and text
        # with a few CJK words in it, stay untagged.
        other = detect_language("".join(parts)) if east_asian == 0 else "en"
        return "" if other == "en" else other
    if hangul >= han + kana:
        return "ko"
    if kana * 20 >= han + kana:
        return "ja"
    return "zh"


def document_from_markdown(
    markdown: str,
    *,
    title: str = "",
    author: str = "",
    created: datetime | None = None,
    language: str = "",
) -> ExportDocument:
    """Split one Markdown text (``# Title`` then ``## Section`` headings) into an ExportDocument.

    One top-level ``#`` heading is the title and ``##`` headings start sections. With several ``#``
    headings there is no title heading: ``#`` starts sections (``title`` names the document) and ``##``
    stays inside them. Text before the first section heading becomes a section without a title.
    """
    lines = split_lines(markdown)
    tokens = parse_markdown(markdown)
    top_headings = [
        (index, token)
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.level == 0
    ]
    h1s = [item for item in top_headings if item[1].tag == "h1"]
    section_tag = "h2" if len(h1s) <= 1 else "h1"
    doc_title = title
    # Each boundary is (first line, line after the heading, section title or None for the title).
    boundaries: list[tuple[int, int, str | None]] = []
    for index, token in top_headings:
        if token.map is None:
            continue
        text = heading_plain_text(tokens[index + 1])
        if len(h1s) == 1 and token.tag == "h1":
            doc_title = text
            boundaries.append((token.map[0], token.map[1], None))
        elif token.tag == section_tag:
            boundaries.append((token.map[0], token.map[1], text))

    sections: list[ExportSection] = []

    def add_chunk(section_title: str | None, start: int, end: int) -> None:
        body = "\n".join(lines[start:end]).strip("\n")
        if section_title is not None:
            sections.append(ExportSection(section_title, body))
        elif body.strip():
            sections.append(ExportSection("", body))

    position = 0
    pending_title: str | None = None
    for start, end, section_title in boundaries:
        add_chunk(pending_title, position, start)
        pending_title = section_title
        position = end
    add_chunk(pending_title, position, len(lines))
    return ExportDocument(
        title=doc_title,
        author=author,
        created=created if created is not None else datetime.now(timezone.utc),
        sections=tuple(sections),
        language=language,
    )
