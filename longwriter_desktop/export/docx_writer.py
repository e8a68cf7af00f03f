"""Word (.docx) export with python-docx: real styles, so Word's navigation pane and TOC work.

Style mapping:

- the document title: ``Title``;
- each section (chapter) title: ``Heading 1``;
- headings inside a section's prose: ``Heading 2`` for the shallowest level the section uses,
  ``Heading 3`` for the next, and so on (see markdown_text); an opening heading that repeats the
  section title is dropped;
- prose: ``Normal``, one Word paragraph per Markdown paragraph, line breaks joined;
- ``**bold**``, ``*italic*``, ``~~strike~~`` as run formats; ``code`` in Courier New;
- bullet and numbered lists: ``List Bullet`` / ``List Number`` (``... 2`` and ``... 3`` when
  nested), numbering restarting in every list; further paragraphs of an item: ``List Continue``;
- block quotes: ``Quote``; code blocks: ``macro`` (Word's "Macro Text"); tables: ``Table Grid``;
  ``---``: a centred "* * *";
- the table of contents (``toc=True``): a ``TOC Heading`` and a real TOC field over Heading 1-2
  that Word fills in with page numbers; until then it lists the headings without numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph

from .atomic_file import write_atomically
from .document import ExportDocument, ExportSection, document_language
from .markdown_text import (
    Block,
    CodeBlock,
    Heading,
    ListItem,
    Paragraph,
    Rule,
    Span,
    Table,
    section_blocks,
    spans_text,
)

CODE_FONT = "Courier New"
LINK_COLOR = RGBColor(0x05, 0x63, 0xC1)
TOC_LEVELS = 2
TABLE_GAP = Pt(10)
_LINK_SCHEMES = ("http", "https", "mailto", "ftp")


@dataclass(frozen=True)
class EastAsianFonts:
    """Fonts Word uses for CJK characters, and the language tag written when the text is CJK."""

    body: str
    headings: str
    lang: str = ""


# Fonts that ship with Windows and Office. Where they are missing (Linux, macOS without Office),
# Word and LibreOffice pick an installed font for the language in w:lang, such as Noto Sans CJK.
_SIMPLIFIED_CHINESE = EastAsianFonts("SimSun", "Microsoft YaHei", "zh-CN")
_EAST_ASIAN_FONTS = {
    "zh": _SIMPLIFIED_CHINESE,
    "zh-cn": _SIMPLIFIED_CHINESE,
    "zh-sg": _SIMPLIFIED_CHINESE,
    "zh-hans": _SIMPLIFIED_CHINESE,
    "zh-tw": EastAsianFonts("PMingLiU", "Microsoft JhengHei", "zh-TW"),
    "zh-hk": EastAsianFonts("PMingLiU", "Microsoft JhengHei", "zh-HK"),
    "zh-hant": EastAsianFonts("PMingLiU", "Microsoft JhengHei", "zh-TW"),
    "ja": EastAsianFonts("MS Mincho", "Yu Gothic", "ja-JP"),
    "ko": EastAsianFonts("Batang", "Malgun Gothic", "ko-KR"),
}
_CONTENTS_HEADING = {"zh": "目录", "ja": "目次", "ko": "목차"}


def east_asian_fonts(language: str) -> EastAsianFonts:
    """The CJK fonts for a language tag; other languages get the Chinese fonts without a language tag."""
    tag = language.strip().lower().replace("_", "-")
    while tag:
        if tag in _EAST_ASIAN_FONTS:
            return _EAST_ASIAN_FONTS[tag]
        tag = tag.rpartition("-")[0]
    return EastAsianFonts(_SIMPLIFIED_CHINESE.body, _SIMPLIFIED_CHINESE.headings, "")


# XML 1.0 has no place for most control characters; lxml refuses them, so they go (tabs stay).
_NOT_IN_XML: dict[int, None] = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]
)


def xml_safe(text: str) -> str:
    """``text`` without the characters a Word file cannot hold."""
    return text.translate(_NOT_IN_XML)


def _one_line(text: str) -> str:
    return xml_safe(" ".join(text.split()))


def _apply_east_asian_fonts(document: DocxDocument, fonts: EastAsianFonts) -> None:
    """Name the CJK fonts wherever the styles pointed CJK text at a theme font.

    python-docx's template sends CJK text to the theme's fonts under a Japanese theme language,
    so Chinese would render in Japanese glyph forms or a fallback font. The theme's "major" fonts
    (titles and headings) become ``fonts.headings`` and the "minor" fonts (body text) ``fonts.body``.
    """
    styles = document.styles.element
    for rfonts in styles.iter(qn("w:rFonts")):
        # An eastAsiaTheme attribute wins over w:eastAsia, so it has to go.
        theme = rfonts.attrib.pop(qn("w:eastAsiaTheme"), None)
        if theme is not None:
            rfonts.set(qn("w:eastAsia"), fonts.headings if theme.startswith("major") else fonts.body)
    default_rpr = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if default_rpr is None:
        return
    if default_rpr.find(qn("w:rFonts")) is None:
        rfonts = OxmlElement("w:rFonts")
        rfonts.set(qn("w:eastAsia"), fonts.body)
        default_rpr.insert(0, rfonts)  # rFonts comes first in w:rPr
    if fonts.lang:
        lang = default_rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            default_rpr.append(lang)
        lang.set(qn("w:eastAsia"), fonts.lang)
        theme_lang = document.settings.element.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:eastAsia"), fonts.lang)


def _utc_naive(moment: datetime) -> datetime:
    """python-docx writes the clock time with a "Z", so the time it gets must already be UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# Elements that may follow w:updateFields in w:settings, in schema order (ECMA-376 CT_Settings).
_AFTER_UPDATE_FIELDS = (
    "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids",
    "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
    "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions",
    "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary", "w:shapeDefaults",
    "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator",
)  # fmt: skip


def _ask_word_to_update_fields(document: DocxDocument) -> None:
    """Word then offers to fill the TOC field (page numbers) when the file is opened."""
    settings = document.settings.element
    if settings.find(qn("w:updateFields")) is not None:
        return
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    for tag in _AFTER_UPDATE_FIELDS:
        successor = settings.find(qn(tag))
        if successor is not None:
            successor.addprevious(update)
            return
    settings.append(update)


def _drop_template_thumbnail(document: DocxDocument) -> None:
    """python-docx's template carries its own preview image, which file browsers would show."""
    rels = document.part.package.rels
    for rel_id, rel in list(rels.items()):
        if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            del rels[rel_id]


class _DocxBuilder:
    """Lays out one ExportDocument into a python-docx Document."""

    def __init__(self, doc: ExportDocument, *, toc: bool, page_breaks: bool) -> None:
        self.doc = doc
        self.toc = toc
        self.page_breaks = page_breaks
        self.language = document_language(doc)
        self.document = docx.Document()
        self.break_before_next = False
        self.list_numbering: dict[int, str] = {}  # list_id -> numId of its own numbering
        self.outer_list_id = 0  # list_id of the top-level list being written
        self.after_table = False

    def build(self) -> DocxDocument:
        _drop_template_thumbnail(self.document)
        _apply_east_asian_fonts(self.document, east_asian_fonts(self.language))
        self._set_properties()
        if self.doc.title.strip():
            self.document.add_paragraph(_one_line(self.doc.title), style="Title")
        sections = [(section, section_blocks(section.text, section.title)) for section in self.doc.sections]
        if self.toc:
            self._add_table_of_contents(sections)
        for number, (section, blocks) in enumerate(sections):
            # A table of contents always ends its page; page_breaks starts every later chapter on one.
            self.break_before_next = (self.toc and number == 0) or (self.page_breaks and number > 0)
            if section.title.strip():
                self._paragraph("Heading 1").add_run(_one_line(section.title))
            for index, block in enumerate(blocks):
                self._add_block(block, blocks[index + 1] if index + 1 < len(blocks) else None)
        return self.document

    def _set_properties(self) -> None:
        props = self.document.core_properties
        props.title = _one_line(self.doc.title)
        props.author = _one_line(self.doc.author)
        props.last_modified_by = _one_line(self.doc.author)
        props.created = _utc_naive(self.doc.created)
        props.modified = _utc_naive(datetime.now(timezone.utc))
        props.revision = 1
        props.comments = ""
        props.subject = ""
        props.keywords = ""
        props.category = ""
        props.language = east_asian_fonts(self.language).lang or self.language

    def _paragraph(self, style: str) -> DocxParagraph:
        paragraph = self.document.add_paragraph(style=style)
        if self.break_before_next:
            paragraph.paragraph_format.page_break_before = True
            self.break_before_next = False
        if self.after_table:
            # Word puts no space below a table; without this the next line touches its border.
            paragraph.paragraph_format.space_before = TABLE_GAP
            self.after_table = False
        return paragraph

    def _add_block(self, block: Block, following: Block | None) -> None:
        if isinstance(block, Heading):
            self._add_spans(self._paragraph(f"Heading {min(block.depth + 1, 9)}"), block.spans)
        elif isinstance(block, Paragraph):
            if block.spans:
                self._add_spans(self._paragraph("Quote" if block.quote else "Normal"), block.spans)
        elif isinstance(block, ListItem):
            paragraph = self._add_list_item(block)
            if (
                isinstance(following, ListItem)
                and following.nesting != block.nesting
                and (following.nesting > 0 or following.list_id == self.outer_list_id)
            ):
                # Word only closes the gap between paragraphs of one style (contextualSpacing),
                # and a nested item has a style of its own.
                paragraph.paragraph_format.space_after = Pt(0)
        elif isinstance(block, CodeBlock):
            lines = block.text.split("\n")
            for index, line in enumerate(lines):
                paragraph = self._paragraph("macro")
                paragraph.add_run(xml_safe(line))
                if index + 1 < len(lines):
                    paragraph.paragraph_format.space_after = Pt(0)
        elif isinstance(block, Rule):
            paragraph = self._paragraph("Normal")
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.add_run("* * *")
        elif isinstance(block, Table):
            self._add_table(block)

    def _add_list_item(self, item: ListItem) -> DocxParagraph:
        if item.nesting == 0:
            self.outer_list_id = item.list_id
        level = min(item.nesting, 2)
        suffix = f" {level + 1}" if level else ""
        if item.continuation:
            paragraph = self._paragraph(f"List Continue{suffix}")
            self._add_spans(paragraph, item.spans)
            return paragraph
        style = f"{'List Number' if item.ordered else 'List Bullet'}{suffix}"
        paragraph = self._paragraph(style)
        if item.ordered:
            num_id = self._numbering_for(item, style)
            num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = int(num_id)
        self._add_spans(paragraph, item.spans)
        return paragraph

    def _numbering_for(self, item: ListItem, style: str) -> str:
        """A numbering instance of its own for each numbered list, so every list starts at its number.

        All "List Number" paragraphs share one Word list otherwise, and a list in chapter 3 would
        go on counting from the list in chapter 1.
        """
        if item.list_id in self.list_numbering:
            return self.list_numbering[item.list_id]
        style_num_id = self.document.styles[style].element.pPr.numPr.numId.val
        numbering = self.document.part.numbering_part.element
        abstract_id = numbering.num_having_numId(style_num_id).abstractNumId.val
        num = numbering.add_num(abstract_id)
        num.add_lvlOverride(ilvl=0).add_startOverride(item.number)
        self.list_numbering[item.list_id] = str(num.numId)
        return self.list_numbering[item.list_id]

    def _add_table(self, block: Table) -> None:
        if not block.rows:
            return
        if self.break_before_next:
            self._paragraph("Normal")
        columns = max(len(row) for row in block.rows)
        table = self.document.add_table(rows=len(block.rows), cols=max(columns, 1))
        table.style = self.document.styles["Table Grid"]
        for row_index, row in enumerate(block.rows):
            for column, cell_spans in enumerate(row):
                spans = cell_spans
                if block.header and row_index == 0:
                    spans = tuple(replace(span, bold=True) for span in cell_spans)
                self._add_spans(table.cell(row_index, column).paragraphs[0], spans)
        self.after_table = True

    def _add_spans(self, paragraph: DocxParagraph, spans: Sequence[Span]) -> None:
        for span in spans:
            run = paragraph.add_run(xml_safe(span.text))
            if span.bold:
                run.bold = True
            if span.italic:
                run.italic = True
            if span.strike:
                run.font.strike = True
            if span.code:
                run.font.name = CODE_FONT
            if span.link and urlparse(span.link).scheme in _LINK_SCHEMES:
                self._wrap_in_hyperlink(paragraph, run, span.link)

    def _wrap_in_hyperlink(self, paragraph: DocxParagraph, run: object, url: str) -> None:
        rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        hyperlink = OxmlElement("w:hyperlink")
        hyperlink.set(qn("r:id"), rel_id)
        run.font.color.rgb = LINK_COLOR  # type: ignore[attr-defined]
        run.font.underline = True  # type: ignore[attr-defined]
        run_element = run._r  # type: ignore[attr-defined]
        run_element.addprevious(hyperlink)
        hyperlink.append(run_element)

    def _add_table_of_contents(self, sections: Sequence[tuple[ExportSection, list[Block]]]) -> None:
        """A TOC field whose current result already lists the headings, for viewers that never update it."""
        language = self.language.lower().split("-")[0]
        self.document.add_paragraph(_CONTENTS_HEADING.get(language, "Contents"), style="TOC Heading")
        entries: list[tuple[int, str]] = []
        for section, blocks in sections:
            title = _one_line(section.title)
            if title:
                entries.append((1, title))
            entries.extend(
                (2, _one_line(spans_text(block.spans)))
                for block in blocks
                if isinstance(block, Heading) and block.depth + 1 <= TOC_LEVELS
            )
        self._ensure_toc_styles()
        if not entries:
            entries = [(1, "")]
        paragraphs = [self.document.add_paragraph(style=f"toc {level}") for level, _ in entries]
        first, last = paragraphs[0], paragraphs[-1]
        first._p.append(_field_char("begin"))
        first._p.append(_instruction(f' TOC \\o "1-{TOC_LEVELS}" \\h \\z \\u '))
        first._p.append(_field_char("separate"))
        for paragraph, (_, text) in zip(paragraphs, entries, strict=True):
            if text:
                paragraph.add_run(text)
        last._p.append(_field_char("end"))
        _ask_word_to_update_fields(self.document)

    def _ensure_toc_styles(self) -> None:
        names = {style.name for style in self.document.styles}
        for level in range(1, TOC_LEVELS + 1):
            name = f"toc {level}"
            if name in names:
                continue
            style = self.document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = self.document.styles["Normal"]
            style.paragraph_format.left_indent = Pt(11 * (level - 1))
            style.paragraph_format.space_after = Pt(4)


def _field_char(kind: str) -> object:
    run = OxmlElement("w:r")
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run.append(char)
    return run


def _instruction(code: str) -> object:
    run = OxmlElement("w:r")
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = code
    run.append(text)
    return run


def build_docx(doc: ExportDocument, *, toc: bool = False, page_breaks: bool = False) -> DocxDocument:
    """The document laid out as a python-docx Document, not yet saved."""
    return _DocxBuilder(doc, toc=toc, page_breaks=page_breaks).build()


def write_docx(doc: ExportDocument, path: Path, *, toc: bool = False, page_breaks: bool = False) -> None:
    """Save the document as a Word file, replacing ``path`` in one step."""
    document = build_docx(doc, toc=toc, page_breaks=page_breaks)

    def write(stream: BinaryIO) -> None:
        document.save(stream)

    write_atomically(path, write)
