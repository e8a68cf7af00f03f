"""Model-written Markdown as blocks the exporters lay out, parsed with markdown-it-py's token stream.

A section's prose may use ``#`` to ``######`` headings for its own subsections and often opens by
repeating the section title. The exporters share these rules:

- a first block that repeats the section title (a heading, or a paragraph that is only bold text)
  is dropped, because the exporter writes the section title itself;
- the section's headings keep their relative order: the shallowest heading level used in the
  section is depth 1, the next level used is depth 2, and so on (gaps are closed), so ``###`` used
  alone and ``#`` used alone both become the first level below the section title;
- single line breaks inside a paragraph are joined: with a space, or with nothing between two
  CJK characters, where a space would be wrong.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "js-default": CommonMark plus tables and strikethrough, raw HTML shown as text.
    return MarkdownIt("js-default")


def parse_markdown(text: str) -> list[Token]:
    """The markdown-it-py block token stream of ``text``."""
    return _parser().parse(text)


def split_lines(text: str) -> list[str]:
    """Lines numbered the way markdown-it-py's token ``map`` counts them."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass(frozen=True)
class Span:
    """A stretch of text with one set of inline formats."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    link: str = ""


@dataclass(frozen=True)
class Heading:
    """A subsection heading; depth 1 is the first level below the section title."""

    depth: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of prose; ``quote`` when it sits in a block quote."""

    spans: tuple[Span, ...]
    quote: bool = False


@dataclass(frozen=True)
class ListItem:
    """The first paragraph of a list item; later paragraphs of the item are ``continuation``s.

    ``list_id`` tells lists apart so numbering restarts in each; ``number`` is the item's number.
    """

    spans: tuple[Span, ...]
    ordered: bool
    nesting: int
    list_id: int
    number: int
    continuation: bool = False


@dataclass(frozen=True)
class CodeBlock:
    """Preformatted lines, kept as written."""

    text: str


@dataclass(frozen=True)
class Rule:
    """A thematic break (``---``), written as a scene break."""


@dataclass(frozen=True)
class Table:
    """Rows of cells; the first row is the header when ``header`` is set."""

    rows: tuple[tuple[tuple[Span, ...], ...], ...]
    header: bool


Block = Heading | Paragraph | ListItem | CodeBlock | Rule | Table


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _comparable(text: str) -> str:
    """Letters and digits only, case-folded: what decides that two titles say the same."""
    return "".join(char for char in text.casefold() if char.isalnum())


def titles_match(heading: str, title: str) -> bool:
    """True when a heading repeats a section title, allowing a prefix like "Chapter 1:" on either."""
    a, b = _comparable(heading), _comparable(title)
    if not a or not b:
        return False
    if a == b:
        return True
    shorter = min(len(a), len(b))
    return shorter >= 2 and (a.endswith(b) or b.endswith(a))


def inline_spans(inline: Token) -> tuple[Span, ...]:
    """The formatted spans of an inline token, line breaks joined."""
    spans: list[Span] = []
    breaks: list[int] = []
    bold = italic = strike = 0
    links: list[str] = []

    def add(text: str, code: bool = False) -> None:
        spans.append(
            Span(
                text,
                bold=bold > 0,
                italic=italic > 0,
                code=code,
                strike=strike > 0,
                link=links[-1] if links else "",
            )
        )

    def walk(children: Sequence[Token]) -> None:
        nonlocal bold, italic, strike
        for child in children:
            kind = child.type
            if kind == "text":
                add(child.content)
            elif kind == "code_inline":
                add(child.content, code=True)
            elif kind in ("softbreak", "hardbreak"):
                # Trailing double spaces in model output are accidents, and Word paragraphs with
                # manual line breaks reflow badly: every break inside a paragraph is joined.
                breaks.append(len(spans))
                add(" ")
            elif kind == "strong_open":
                bold += 1
            elif kind == "strong_close":
                bold -= 1
            elif kind == "em_open":
                italic += 1
            elif kind == "em_close":
                italic -= 1
            elif kind == "s_open":
                strike += 1
            elif kind == "s_close":
                strike -= 1
            elif kind == "link_open":
                links.append(str(child.attrs.get("href", "")))
            elif kind == "link_close":
                if links:
                    links.pop()
            elif kind == "image":
                walk(child.children or [])
            elif child.children:
                walk(child.children)
            elif child.content:
                add(child.content)

    walk(inline.children or [])
    for index in breaks:
        before = next((s.text for s in reversed(spans[:index]) if s.text), "")
        after = next((s.text for s in spans[index + 1 :] if s.text), "")
        if before and after and _is_wide(before[-1]) and _is_wide(after[0]):
            spans[index] = replace(spans[index], text="")
    return _merge(spans)


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    """Adjacent spans with the same formats as one; empty spans dropped."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and _same_format(merged[-1], span):
            last = merged[-1]
            merged[-1] = replace(last, text=last.text + span.text)
        else:
            merged.append(span)
    return tuple(merged)


def _same_format(a: Span, b: Span) -> bool:
    return (a.bold, a.italic, a.code, a.strike, a.link) == (b.bold, b.italic, b.code, b.strike, b.link)


def spans_text(spans: Sequence[Span]) -> str:
    """The plain text of spans."""
    return "".join(span.text for span in spans)


def heading_plain_text(inline: Token) -> str:
    """The plain text of a heading's inline token, without Markdown markup."""
    return spans_text(inline_spans(inline)).strip()


def repeated_title_end(tokens: Sequence[Token], title: str) -> int:
    """Index of the first token after an opening block that repeats ``title``; 0 when there is none."""
    if len(tokens) < 3 or not title.strip():
        return 0
    first, inline, close = tokens[0], tokens[1], tokens[2]
    if first.type == "heading_open":
        return 3 if titles_match(heading_plain_text(inline), title) else 0
    if first.type == "paragraph_open" and close.type == "paragraph_close":
        spans = inline_spans(inline)
        only_bold = bool(spans) and all(span.bold or not span.text.strip() for span in spans)
        if only_bold and titles_match(spans_text(spans), title):
            return 3
    return 0


def heading_depths(tokens: Sequence[Token]) -> dict[str, int]:
    """Depth (1 = first level below the section title) for each top-level heading tag used."""
    tags = sorted({token.tag for token in tokens if token.type == "heading_open" and token.level == 0})
    return {tag: depth for depth, tag in enumerate(tags, start=1)}


def section_blocks(text: str, section_title: str) -> list[Block]:
    """The blocks of one section's prose, without an opening repeat of its title."""
    tokens = parse_markdown(text)
    tokens = tokens[repeated_title_end(tokens, section_title) :]
    depths = heading_depths(tokens)
    blocks: list[Block] = []
    # One entry per open list: [ordered, list_id, next item number, paragraphs seen in current item].
    lists: list[list[int]] = []
    list_count = 0
    quote_level = 0
    table_rows: list[tuple[tuple[Span, ...], ...]] = []
    table_row: list[tuple[Span, ...]] = []
    table_header = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            spans = inline_spans(tokens[index + 1])
            if token.level == 0:
                blocks.append(Heading(depths.get(token.tag, 1), spans))
            else:  # a heading inside a list or quote reads as a bold paragraph there
                bold_spans = tuple(replace(span, bold=True) for span in spans)
                blocks.append(_paragraph_in_context(bold_spans, lists, quote_level))
            index += 3
            continue
        if kind == "paragraph_open":
            blocks.append(_paragraph_in_context(inline_spans(tokens[index + 1]), lists, quote_level))
            index += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_count += 1
            start = int(token.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else 1
            lists.append([int(kind == "ordered_list_open"), list_count, start, 0])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            lists[-1][3] = 0
        elif kind == "list_item_close":
            if lists[-1][3] == 0:  # an empty item still takes its place and number
                blocks.append(_paragraph_in_context((), lists, quote_level))
            lists[-1][2] += 1
        elif kind == "blockquote_open":
            quote_level += 1
        elif kind == "blockquote_close":
            quote_level -= 1
        elif kind in ("fence", "code_block"):
            blocks.append(CodeBlock(token.content.rstrip("\n")))
        elif kind == "hr":
            blocks.append(Rule())
        elif kind == "table_open":
            table_rows, table_header = [], False
        elif kind == "thead_open":
            table_header = True
        elif kind == "tr_open":
            table_row = []
        elif kind == "inline" and token.level > 0 and tokens[index - 1].type in ("th_open", "td_open"):
            table_row.append(inline_spans(token))
        elif kind == "tr_close":
            table_rows.append(tuple(table_row))
        elif kind == "table_close":
            blocks.append(Table(tuple(table_rows), table_header))
        index += 1
    return blocks


def _paragraph_in_context(spans: tuple[Span, ...], lists: list[list[int]], quote_level: int) -> Block:
    if not lists:
        return Paragraph(spans, quote=quote_level > 0)
    ordered, list_id, number, seen = lists[-1]
    lists[-1][3] = seen + 1
    return ListItem(
        spans,
        ordered=bool(ordered),
        nesting=len(lists) - 1,
        list_id=list_id,
        number=number,
        continuation=seen > 0,
    )
