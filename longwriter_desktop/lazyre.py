"""Regular expressions compiled on first use, not when their module is imported.

The engine's patterns (length phrases in twenty languages, echo filters, plan checks) take tens of
milliseconds to compile; compiled at import they delayed the window's first appearance, which needs
none of them. A :class:`LazyPattern` stands in for the compiled pattern and compiles it the first time
any of its methods or attributes is used.
"""

from __future__ import annotations

import re
import threading
from typing import Any, cast

_COMPILE_LOCK = threading.Lock()


class LazyPattern:
    """A stand-in for ``re.compile(pattern, flags)``: every attribute is the compiled pattern's."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            with _COMPILE_LOCK:  # the GUI thread and the model's thread may reach it at once
                if self._compiled is None:
                    self._compiled = re.compile(self._source, self._flags)
                compiled = self._compiled
        return compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source!r}, {self._flags!r})"


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile`` deferred to the pattern's first use; typed as the pattern it stands for."""
    return cast("re.Pattern[str]", LazyPattern(pattern, flags))
