"""Export finished documents: one module per format (docx_writer, markdown_writer, text_writer)."""

from importlib import import_module
from typing import Any

# Loaded on first use: python-docx and markdown-it take a while to import, and the window must not wait
# for them (nor must `from .export.atomic_file import ...`, which runs this file first).
_NAMES = {"EXPORT_SUFFIXES": "api", "export_document": "api", "ExportDocument": "document",
          "ExportSection": "document", "document_from_markdown": "document", "document_language": "document"}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXPORT_SUFFIXES",
    "ExportDocument",
    "ExportSection",
    "document_from_markdown",
    "document_language",
    "export_document",
]
