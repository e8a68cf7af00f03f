"""Shared pieces of the project store tests: plan entries and the writer process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRITER_PROCESS = Path(__file__).with_name("writer_process.py")


@dataclass(frozen=True)
class PlanEntry:
    """A plan section as the pipeline hands it over (title, main point, target, locked)."""

    title: str
    main_point: str = ""
    target_words: int = 300
    locked: bool = False


@dataclass(frozen=True)
class PlanOf:
    """A plan as PlanReady carries it: an object with ``sections``."""

    sections: tuple[PlanEntry, ...]


def start_writer(db: Path, project_id: int, *args: str) -> subprocess.Popen[str]:
    """Start writer_process.py in its own Python process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(WRITER_PROCESS), str(db), str(project_id), *args],
        cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
