"""`longwriter-desktop --self-test`: prove a bundle works end to end without opening a window.

It loads the built-in model, writes a short two-section document into a temporary LONGWRITER_HOME,
exports it to Word and reads the file back. No Qt here: a bundle whose Qt plugins are broken still
reports whether the engine, the model and the exporter made it into the bundle.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from . import APP_NAME, __version__
from .errors import LongWriterError

SELF_TEST_FLAG = "--self-test"
_TITLE = "Keeping Bees in a Small Garden"
_SECTION_TITLES = ("Choosing a Hive", "The First Season")
_SEED = 7  # the same text on every run of one build, so a failure can be repeated


class SelfTestFailure(Exception):
    """One check found something wrong; the message says what, in plain words."""


def _check(report: Callable[[str], None], name: str, ok: bool, detail: str) -> None:
    report(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        raise SelfTestFailure(f"{name}: {detail}")


def _run_checks(home: Path, report: Callable[[str], None]) -> None:
    from .app.backends import load_local
    from .engine.backend import Sampling
    from .engine.events import Done, ErrorEvent, SectionFinished
    from .engine.llama_backend import LoadSettings
    from .engine.plan import Plan, Section
    from .engine.writer import WriteRequest, write_document
    from .export.api import export_document
    from .export.document import ExportDocument, ExportSection
    from .library.installed import builtin_model_path

    model_path = builtin_model_path()
    _check(report, "built-in model", model_path is not None,
           str(model_path) if model_path else "not found in this installation")
    assert model_path is not None

    started = time.perf_counter()
    backend = load_local(None, LoadSettings(n_ctx=2048))
    try:
        _check(report, "model loads", True,
               f"{backend.info.model} on {backend.info.device} in {time.perf_counter() - started:.1f} s")
        plan = Plan([
            Section(_SECTION_TITLES[0], "What a beginner needs and where to put it.", 60),
            Section(_SECTION_TITLES[1], "What happens in the hive from spring to autumn.", 60),
        ])
        request = WriteRequest(instruction=f"Write a short guide: {_TITLE}.", target_words=120,
                               mode="plan", plan=plan, title=_TITLE,
                               sampling=Sampling(seed=_SEED))
        started = time.perf_counter()
        sections: list[ExportSection] = []
        done: Done | None = None
        for event in write_document(backend, request):
            if isinstance(event, SectionFinished):
                sections.append(ExportSection(event.title, event.text))
            elif isinstance(event, ErrorEvent):
                raise SelfTestFailure(f"writing: {event.message}")
            elif isinstance(event, Done):
                done = event
    finally:
        backend.close()
    words = sum(len(s.text.split()) for s in sections)
    _check(report, "writes a document", done is not None and len(sections) == 2 and words >= 40,
           f"{len(sections)} sections, {words} words in {time.perf_counter() - started:.1f} s")

    out = home / "self-test.docx"
    export_document(ExportDocument(title=_TITLE, sections=sections), out)
    _check(report, "exports Word", out.is_file() and out.stat().st_size > 0,
           f"{out.name}, {out.stat().st_size:,} bytes")

    import docx

    paragraphs = docx.Document(str(out)).paragraphs
    titles = [p.text for p in paragraphs if p.style is not None and p.style.name == "Title"]
    headings = [p.text for p in paragraphs if p.style is not None and p.style.name == "Heading 1"]
    body_words = sum(len(p.text.split()) for p in paragraphs
                     if p.style is not None and not p.style.name.startswith(("Title", "Heading")))
    _check(report, "Word title", titles == [_TITLE], f"Title style holds {titles!r}")
    _check(report, "Word headings", tuple(headings) == _SECTION_TITLES,
           f"Heading 1 style holds {headings!r}")
    _check(report, "Word text", body_words >= 40, f"{body_words} words of body text")


def run_self_test(out: TextIO | None = None) -> int:
    """Run every check, printing one line each; 0 when all pass, 1 (with a plain message) otherwise."""
    stream = out if out is not None else sys.stdout

    def report(line: str) -> None:
        print(line, file=stream, flush=True)

    report(f"{APP_NAME} {__version__} self-test (Python {sys.version.split()[0]}, "
           f"{'bundled' if getattr(sys, 'frozen', False) else 'from source'})")
    started = time.perf_counter()
    saved_home = os.environ.get("LONGWRITER_HOME")
    with tempfile.TemporaryDirectory(prefix="longwriter-selftest-") as tmp:
        os.environ["LONGWRITER_HOME"] = tmp
        try:
            _run_checks(Path(tmp), report)
        except SelfTestFailure as exc:
            report(f"Self-test failed: {exc}")
            return 1
        except (LongWriterError, OSError, ImportError) as exc:
            report(f"Self-test failed: {exc}")
            return 1
        finally:
            if saved_home is None:
                os.environ.pop("LONGWRITER_HOME", None)
            else:
                os.environ["LONGWRITER_HOME"] = saved_home
    report(f"Self-test passed in {time.perf_counter() - started:.1f} s.")
    return 0
