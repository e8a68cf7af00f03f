"""Secret values such as API keys: masked wherever they could be printed, written only to private files.

A key lives in a :class:`Secret`, whose ``str`` and ``repr`` show a mask, so an f-string in a log line or
an exception message cannot leak it; only :meth:`Secret.reveal` gives the clear text, at the one place
that needs it (the Authorization header). Project files should name the environment variable that holds
a key, never the key; a settings file that must hold one is written with :func:`write_private_file`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def mask_secret(value: str) -> str:
    """A masked form that shows at most the last 4 characters, and only of a long value."""
    if not value:
        return ""
    return f"****{value[-4:]}" if len(value) >= 16 else "****"


class Secret:
    """A string that never prints itself: ``str``, ``repr`` and ``format`` give the mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The clear text, for the one place that must send it."""
        return self._value

    def redact(self, text: str) -> str:
        """Text with every occurrence of the secret replaced by its mask (for server messages we show)."""
        return text.replace(self._value, mask_secret(self._value)) if self._value else text

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __str__(self) -> str:
        return mask_secret(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask_secret(self._value)!r})"

    def __format__(self, format_spec: str) -> str:
        return format(str(self), format_spec)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would carry the clear text into whatever file or pipe receives it.
        raise TypeError("A Secret cannot be pickled.")


def write_private_file(path: Path, text: str) -> None:
    """Write text so that only the owner can read it (mode 0600), replacing the file atomically.

    The temporary file is created with 0600 from the start, so the secret is never readable by others,
    not even for an instant; an older file with wider permissions is replaced, not rewritten in place.
    On Windows the mode bits only control the read-only flag; files in the user's profile are private
    through the profile's access rules.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp already creates the file with 0600; fchmod makes it exact whatever the umask did.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        raise
