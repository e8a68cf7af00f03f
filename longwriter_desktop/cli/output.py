"""Small helpers for the command line's output."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TextIO

from ..units import format_bytes, format_duration

__all__ = ["PrintableStream", "format_bytes", "format_duration", "printable", "print_table"]

# Characters that would act on the terminal instead of showing (escape sequences, OSC title codes, a bell,
# carriage returns and line breaks inside a name) or that reorder the text around them (the Unicode
# direction overrides and isolates): shown escaped, as \x1b or \u202e. A Hub file name is anyone's text.
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({code: f"\\u{code:04x}" for code in (*_BIDI, 0x2028, 0x2029)})
_LAYOUT = {ord("\n"), ord("\t"), ord("\r")}
_STREAM_ESCAPES = {code: text for code, text in _ESCAPES.items() if code not in _LAYOUT}


def printable(text: str) -> str:
    """``text`` with control, line-break and direction characters escaped: safe to print as one item."""
    return text.translate(_ESCAPES)


class PrintableStream(io.TextIOBase):
    """Wraps stdout or stderr: every control or direction character is escaped except line breaks, tabs and
    the carriage return of a progress line."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(text.translate(_STREAM_ESCAPES))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")

    @property
    def buffer(self) -> object:
        return getattr(self.stream, "buffer", None)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    rows = [[printable(str(cell)) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
