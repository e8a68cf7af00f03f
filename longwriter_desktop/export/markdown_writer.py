"""Markdown export: ``# Title``, ``## Section``, and each section's prose as the model wrote it.

The prose is copied line for line (tables, links and lists stay exactly as written); only its
headings are rewritten, one level per depth from ``###`` down (see markdown_text), and an opening
heading that repeats the section title is dropped. ``document_from_markdown`` reads the result back
into the same sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from .atomic_file import write_atomically
from .document import ExportDocument
from .markdown_text import heading_depths, parse_markdown, repeated_title_end, split_lines

# Backslash-escaped in titles so a title like "C* *notes*" stays literal text.
_MARKDOWN_PUNCTUATION = frozenset("\\`*_[]<>#~|")


def escape_markdown(text: str) -> str:
    """``text`` with the characters Markdown would read as markup escaped."""
    return "".join(f"\\{char}" if char in _MARKDOWN_PUNCTUATION else char for char in text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def section_markdown(text: str, section_title: str) -> str:
    """A section's prose with its headings moved below the section title and a repeated title dropped."""
    lines = split_lines(text)
    tokens = parse_markdown(text)
    skip = repeated_title_end(tokens, section_title)
    replaced: dict[int, tuple[int, str | None]] = {}  # first line -> (line after, replacement)
    if skip and tokens[0].map is not None:
        replaced[tokens[0].map[0]] = (tokens[0].map[1], None)
    rest = tokens[skip:]
    depths = heading_depths(rest)
    for index, token in enumerate(rest):
        if token.type == "heading_open" and token.level == 0 and token.map is not None:
            marks = "#" * min(6, depths[token.tag] + 2)
            content = _one_line(rest[index + 1].content)
            replaced[token.map[0]] = (token.map[1], f"{marks} {content}")
    out: list[str] = []
    line = 0
    while line < len(lines):
        if line in replaced:
            end, replacement = replaced[line]
            if replacement is not None:
                out.append(replacement)
            line = end
        else:
            out.append(lines[line])
            line += 1
    return "\n".join(out).strip("\n")


def render_markdown(doc: ExportDocument) -> str:
    """The whole document as Markdown text."""
    parts: list[str] = []
    if doc.title.strip():
        parts.append(f"# {escape_markdown(_one_line(doc.title))}")
    for section in doc.sections:
        if section.title.strip():
            parts.append(f"## {escape_markdown(_one_line(section.title))}")
        body = section_markdown(section.text, section.title)
        if body.strip():
            parts.append(body)
    return "\n\n".join(parts) + "\n"


def write_markdown(doc: ExportDocument, path: Path) -> None:
    """Save the document as a UTF-8 Markdown file, replacing ``path`` in one step."""
    data = render_markdown(doc).encode("utf-8", errors="replace")

    def write(stream: BinaryIO) -> None:
        stream.write(data)

    write_atomically(path, write)
