"""How long one autosave commit takes: ProjectStore.append_text with synchronous=FULL against NORMAL.

    python benchmarks/autosave_commit.py [--commits 200]

Runs in a temporary LONGWRITER_HOME. An autosave is what ProjectRecorder does about once a second while
text streams in: append ~1 s of text (~80 characters) to the section's take, count its words, commit.
The cost grows with the take's length because SQLite rewrites the row; sizes cover a short and a long
section. Timings on a shared machine are noisy: compare medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longwriter_desktop.projects.store import ProjectStore

PIECE = "The storm rolled in over the harbour and the boats pulled hard at their lines. "  # ~80 chars


@dataclass(frozen=True)
class _Section:
    title: str
    main_point: str = ""
    target_words: int = 2000
    locked: bool = False


def measure(store: ProjectStore, sync: str, start_chars: int, commits: int) -> list[float]:
    store._conn.execute(f"PRAGMA synchronous = {sync}")  # benchmark only: the store always uses FULL
    project = store.create_project(f"{sync} {start_chars}", "bench", target_words=2000)
    (section,) = store.update_plan(project.id, [_Section("Only")])
    take = store.start_take(section.id)
    store.append_text(take.id, (PIECE * (start_chars // len(PIECE) + 1))[:start_chars])
    store.lock_project(project.id)  # as during a run: the recorder holds the project
    times = []
    for _ in range(commits):
        started = time.perf_counter()
        store.append_text(take.id, PIECE)
        times.append((time.perf_counter() - started) * 1000)
    store.unlock_project(project.id)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["LONGWRITER_HOME"] = home
        with ProjectStore(daily_backup=False) as store:
            print(f"database: {store.path}")
            print(f"{'take size':>10}  {'sync':>6}  {'median ms':>9}  {'p90 ms':>7}  {'max ms':>7}")
            for start_chars in (1_000, 30_000, 100_000):
                for sync in ("NORMAL", "FULL"):
                    times = sorted(measure(store, sync, start_chars, args.commits))
                    print(f"{start_chars:>10,}  {sync:>6}  {statistics.median(times):>9.3f}  "
                          f"{times[int(len(times) * 0.9)]:>7.3f}  {times[-1]:>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
