"""Plain-text export: no Markdown markup, one line per paragraph, blank lines between blocks.

The title is underlined with ``=`` and section titles with ``-`` (as wide as the text looks, CJK
characters counting double); subsection headings are lines of their own; list items keep a
``-`` or their number; quotes and code are indented by four spaces; a link keeps its address.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .atomic_file import write_atomically
from .document import ExportDocument
from .markdown_text import (
    Block,
    CodeBlock,
    Heading,
    ListItem,
    Paragraph,
    Rule,
    Span,
    section_blocks,
)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def _underlined(text: str, mark: str) -> str:
    return f"{text}\n{mark * max(3, display_width(text))}"


def plain_spans(spans: Sequence[Span]) -> str:
    """The text of spans, with a link's address after its words when they differ."""
    parts: list[str] = []
    for index, span in enumerate(spans):
        parts.append(span.text)
        link_ends = span.link and (index + 1 == len(spans) or spans[index + 1].link != span.link)
        if link_ends and span.link.strip() != span.text.strip():
            parts.append(f" ({span.link})")
    return "".join(parts).strip()


def _block_text(block: Block) -> str:
    if isinstance(block, Heading):
        return plain_spans(block.spans)
    if isinstance(block, Paragraph):
        text = plain_spans(block.spans)
        return f"    {text}" if block.quote else text
    if isinstance(block, ListItem):
        indent = "   " * block.nesting
        marker = f"{block.number}." if block.ordered else "-"
        if block.continuation:
            return f"{indent}{' ' * (len(marker) + 1)}{plain_spans(block.spans)}"
        return f"{indent}{marker} {plain_spans(block.spans)}"
    if isinstance(block, CodeBlock):
        return "\n".join(f"    {line}" if line else "" for line in block.text.split("\n"))
    if isinstance(block, Rule):
        return "* * *"
    return "\n".join(" | ".join(plain_spans(cell) for cell in row) for row in block.rows)


def _join_blocks(blocks: Sequence[Block]) -> str:
    """Blocks separated by blank lines, except between items of the same list."""
    out: list[str] = []
    previous: Block | None = None
    outer_list = 0  # list_id of the current top-level list
    for block in blocks:
        text = _block_text(block)
        same_list = isinstance(block, ListItem) and (block.nesting > 0 or block.list_id == outer_list)
        if out:
            out.append("\n" if same_list and isinstance(previous, ListItem) else "\n\n")
        out.append(text)
        if isinstance(block, ListItem) and block.nesting == 0:
            outer_list = block.list_id
        previous = block
    return "".join(out)


def render_text(doc: ExportDocument) -> str:
    """The whole document as plain text."""
    parts: list[str] = []
    if doc.title.strip():
        parts.append(_underlined(" ".join(doc.title.split()), "="))
    for section in doc.sections:
        if section.title.strip():
            parts.append(_underlined(" ".join(section.title.split()), "-"))
        body = _join_blocks(section_blocks(section.text, section.title))
        if body.strip():
            parts.append(body)
    return "\n\n".join(parts) + "\n"


def write_text(doc: ExportDocument, path: Path) -> None:
    """Save the document as a UTF-8 text file, replacing ``path`` in one step."""
    data = render_text(doc).encode("utf-8", errors="replace")

    def write(stream: BinaryIO) -> None:
        stream.write(data)

    write_atomically(path, write)
