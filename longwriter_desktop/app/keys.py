"""API keys in the OS keyring (macOS Keychain, Windows Credential Locker, the Secret Service on Linux).

The ``keyring`` package is optional: where it is missing, or where it finds no keyring backend (a bare
Linux without a Secret Service), :func:`keyring_status` says so in one sentence and keys come from an
environment variable instead.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import InputError

log = logging.getLogger(__name__)

SERVICE = "LongWriter Desktop"


def _backend() -> Any:
    """keyring's chosen backend, or None (with the reason logged) when there is no usable one."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        chosen = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration must not stop the app
        log.warning("no keyring: %s", exc)
        return None
    if isinstance(chosen, fail.Keyring) or getattr(chosen, "priority", 1) <= 0:
        return None
    return chosen


def keyring_status() -> str | None:
    """None when keys can be kept in the OS keyring; else one sentence saying why not and what to do."""
    try:
        import keyring  # noqa: F401
    except ImportError:
        return ("The OS keyring is not available (the keyring package is not installed): "
                "give the key in an environment variable instead.")
    if _backend() is None:
        return ("This system has no keyring service (on Linux: the Secret Service, e.g. GNOME Keyring): "
                "give the key in an environment variable instead.")
    return None


def save_key(name: str, key: str) -> None:
    """Keep a key in the OS keyring under ``name``; InputError when there is no keyring."""
    backend = _backend()
    problem = keyring_status()
    if backend is None or problem:
        raise InputError(problem or "The OS keyring is not available.")
    try:
        backend.set_password(SERVICE, name, key)
    except Exception as exc:
        log.warning("keyring refused to save %s: %s", name, exc)
        raise InputError("The OS keyring refused to save the key: unlock it, or use an environment "
                         "variable instead.") from None


def read_key(name: str) -> str:
    """The key kept under ``name``; InputError in one sentence when there is none."""
    backend = _backend()
    problem = keyring_status()
    if backend is None or problem:
        raise InputError(problem or "The OS keyring is not available.")
    try:
        value = backend.get_password(SERVICE, name)
    except Exception as exc:
        log.warning("keyring refused to read %s: %s", name, exc)
        value = None
    if not value:
        raise InputError(f"The OS keyring holds no API key named '{name}': save it on the Servers page "
                         "of the model manager.")
    return str(value)
