"""LongWriter Desktop: offline long-form writing with local language models."""

from __future__ import annotations

APP_NAME = "LongWriter Desktop"
DIST_NAME = "longwriter-desktop"
# The release, as in pyproject.toml (tests/test_desktop_files.py keeps the two equal). A literal, not
# importlib.metadata: that import and its lookup cost the window's start about 35 ms.
__version__ = "0.1.0"
