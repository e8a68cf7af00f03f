"""Export finished documents: one module per format (docx_writer, markdown_writer, text_writer)."""

from .api import EXPORT_SUFFIXES, export_document
from .document import ExportDocument, ExportSection, document_from_markdown, document_language

__all__ = [
    "EXPORT_SUFFIXES",
    "ExportDocument",
    "ExportSection",
    "document_from_markdown",
    "document_language",
    "export_document",
]
