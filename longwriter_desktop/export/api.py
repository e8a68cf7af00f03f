"""One call that exports a document, choosing the format by the file name's suffix."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .document import ExportDocument
from .docx_writer import write_docx
from .markdown_writer import write_markdown
from .text_writer import write_text

EXPORT_SUFFIXES = (".docx", ".md", ".markdown", ".txt")


def export_document(
    doc: ExportDocument, path: str | Path, *, toc: bool = False, page_breaks: bool = False
) -> Path:
    """Write ``doc`` as Word, Markdown or text by ``path``'s suffix; the options apply to Word files."""
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix == ".docx":
        write_docx(doc, target, toc=toc, page_breaks=page_breaks)
    elif suffix in (".md", ".markdown"):
        write_markdown(doc, target)
    elif suffix == ".txt":
        write_text(doc, target)
    else:
        named = f'"{suffix}" files' if suffix else f'"{target.name}" (it has no suffix)'
        raise InputError(
            f"Cannot export to {named}: choose a file name ending in {', '.join(EXPORT_SUFFIXES)}."
        )
    return target
