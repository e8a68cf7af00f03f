"""Small helpers for the command line's output."""

from __future__ import annotations

from collections.abc import Sequence

from ..units import format_bytes, format_duration

__all__ = ["format_bytes", "format_duration", "print_table"]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
