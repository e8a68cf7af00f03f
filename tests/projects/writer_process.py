"""A writing run without a model, for the durability tests: run in its own process and killed by them.

    python writer_process.py DB PROJECT_ID stream TOKENS DELAY_S PARAGRAPH_EVERY [SECOND_STORE_AT]
        starts section 0 and feeds a ProjectRecorder deterministic TextDelta events; after each one it
        prints "<unix time> <characters handed over>" and flushes stdout. With SECOND_STORE_AT, after that
        many tokens it opens and closes a second ProjectStore on the same file (as the window once did) and
        prints "second-store".
    python writer_process.py DB PROJECT_ID hold
        takes the project, starts section 0, prints "ready <pid>", and holds it until stdin closes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from longwriter_desktop.engine import events
from longwriter_desktop.projects.recorder import ProjectRecorder
from longwriter_desktop.projects.store import ProjectStore

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


def token(i: int, paragraph_every: int) -> str:
    """The i-th piece of text; identical in the test that checks what was saved."""
    if paragraph_every and i % paragraph_every == paragraph_every - 1:
        return ".\n\n"
    return f" {WORDS[i % len(WORDS)]}{i}"


def main(argv: list[str]) -> int:
    db, project_id, mode = Path(argv[0]), int(argv[1]), argv[2]
    store = ProjectStore(db, daily_backup=False)
    recorder = ProjectRecorder(store, project_id)
    recorder.handle(events.SectionStarted(index=0, title="", target_words=0))
    if mode == "hold":
        print(f"ready {os.getpid()}", flush=True)
        sys.stdin.read()
        recorder.close()
        store.close()
        return 0
    tokens, delay, paragraph_every = int(argv[3]), float(argv[4]), int(argv[5])
    second_store_at = int(argv[6]) if len(argv) > 6 else -1
    handed = 0
    for i in range(tokens):
        if i == second_store_at:
            ProjectStore(db, daily_backup=False).close()
            print("second-store", flush=True)
        piece = token(i, paragraph_every)
        recorder.handle(events.TextDelta(index=0, text=piece))
        handed += len(piece)
        print(f"{time.time():.6f} {handed}", flush=True)
        time.sleep(delay)
    recorder.close()
    store.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
