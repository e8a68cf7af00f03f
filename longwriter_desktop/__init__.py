"""LongWriter Desktop: offline long-form writing with local language models."""

from __future__ import annotations

from importlib import metadata

APP_NAME = "LongWriter Desktop"
DIST_NAME = "longwriter-desktop"

try:
    __version__ = metadata.version(DIST_NAME)
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
