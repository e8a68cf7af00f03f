"""Fixtures for the project store tests: a real store in the test's own LONGWRITER_HOME."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from longwriter_desktop.projects.store import ProjectStore


@pytest.fixture
def store() -> Iterator[ProjectStore]:
    with ProjectStore() as opened:
        yield opened
