"""Takes and "write more": regenerate one section, choose a take, continue a document (Qt-free).

The projects database keeps every take of every section; these functions turn a project in the store into
the engine's resume state for one focused run, so the window and the CLI start the same run the same way:

- regenerate section k: every other section counts as finished with its chosen take, section k starts
  empty (a new take; the earlier ones stay), optionally with an edited main point and always a new seed;
- write more after section k: N more words of that section (a new take that starts with its chosen text,
  so a crash mid-way resumes like any other run), or a new section inserted after it.

The run itself goes through the writer and the recorder like any other (autosave, length control).
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..engine.backend import Sampling
from ..engine.plan import Plan, Section
from ..engine.words import count_words
from ..engine.writer import ResumeState, WriteRequest
from ..errors import InputError
from ..lazyre import lazy_compile
from ..projects.store import ProjectStore, SectionRecord, Take

MAX_MORE_WORDS = 20_000


@dataclass(frozen=True)
class SectionRun:
    """One focused run on a project: what the writer needs, and which section it writes."""

    project_id: int
    index: int  # the plan index of the section the run writes
    kind: str  # "regenerate", "more" (words after a section's text) or "section" (a new section)
    request: WriteRequest
    resume: ResumeState


def _mode(stored: str) -> str:
    return stored if stored in ("direct", "plan") else "plan"


def _section_index(sections: Sequence[SectionRecord], index: int) -> int:
    if not sections:
        raise InputError("The project has no plan yet: plan it (or write it) first.")
    if not 0 <= index < len(sections):
        raise InputError(f"There is no section {index + 1}: the plan has {len(sections)} sections.")
    return index


def _texts(store: ProjectStore, project_id: int) -> tuple[list[SectionRecord], list[str]]:
    pairs = store.document_sections(project_id)
    return [record for record, _ in pairs], [text for _, text in pairs]


def _plan(sections: Sequence[SectionRecord]) -> Plan:
    return Plan([Section(s.title, s.main_point, s.target_words, s.locked) for s in sections])


def _request(store: ProjectStore, project_id: int, sampling: Sampling, total_words: int) -> WriteRequest:
    project = store.get_project(project_id)
    # A new seed unless the caller fixed one: a regenerated take should differ from the last.
    seed = sampling.seed if sampling.seed is not None else random.randrange(1 << 30)
    return WriteRequest(project.instruction, max(1, total_words), _mode(project.mode), project.notes,
                        sampling=replace(sampling, seed=seed), title=project.title)


def prepare_regenerate(
    store: ProjectStore, project_id: int, index: int, *, main_point: str | None = None,
    sampling: Sampling | None = None,
) -> SectionRun:
    """A run that writes section ``index`` afresh (a new take) while the rest of the document stays."""
    sections, texts = _texts(store, project_id)
    _section_index(sections, index)
    if main_point is not None and main_point.strip() != sections[index].main_point:
        store.edit_section(sections[index].id, main_point=main_point.strip())
        sections, texts = _texts(store, project_id)
    texts[index] = ""
    finished = [i != index for i in range(len(sections))]
    resume = ResumeState(_plan(sections), texts, finished, mode=_mode(store.get_project(project_id).mode))
    total = sum(count_words(t) for t in texts) + sections[index].target_words
    return SectionRun(project_id, index, "regenerate", _request(store, project_id, sampling or Sampling(), total),
                      resume)


def prepare_more(
    store: ProjectStore, project_id: int, words: int, *, after: int | None = None,
    sampling: Sampling | None = None,
) -> SectionRun:
    """A run that adds about ``words`` words after the text of section ``after`` (default: the last)."""
    if not 1 <= words <= MAX_MORE_WORDS:
        raise InputError(f"Ask for between 1 and {MAX_MORE_WORDS:,} more words.")
    sections, texts = _texts(store, project_id)
    index = _section_index(sections, len(sections) - 1 if after is None else after)
    section = sections[index]
    if section.status != "done" or not texts[index].strip():
        raise InputError(f"Section {index + 1} is not finished: write it (or resume the project) first.")
    # The new take starts as a copy of the chosen text: an interrupted run resumes from it like any other.
    base = texts[index].rstrip()
    take = store.start_take(section.id, model="continued")
    store.append_text(take.id, base + "\n\n")
    store.mark_interrupted(project_id)
    have = count_words(base)
    store.edit_section(section.id, target_words=have + words)
    sections, _ = _texts(store, project_id)
    texts[index] = base + "\n\n"
    finished = [i != index for i in range(len(sections))]
    resume = ResumeState(_plan(sections), texts, finished, mode=_mode(store.get_project(project_id).mode),
                         extend={index: words})
    total = sum(count_words(t) for t in texts) + words
    return SectionRun(project_id, index, "more", _request(store, project_id, sampling or Sampling(), total), resume)


def prepare_new_section(
    store: ProjectStore, project_id: int, title: str, main_point: str, words: int, *, after: int | None = None,
    sampling: Sampling | None = None,
) -> SectionRun:
    """A run that writes a new section of about ``words`` words after section ``after`` (default: the end)."""
    if not title.strip():
        raise InputError("The new section needs a title.")
    if not 1 <= words <= MAX_MORE_WORDS:
        raise InputError(f"Ask for between 1 and {MAX_MORE_WORDS:,} words.")
    sections, _ = _texts(store, project_id)
    if store.get_project(project_id).mode == "direct":
        raise InputError("A one-pass document has no sections: ask for more words instead.")
    if any(" ".join(s.title.split()).casefold() == " ".join(title.split()).casefold() for s in sections):
        raise InputError(f'The plan already has a section called "{title.strip()}": choose another title.')
    at = len(sections) if after is None else _section_index(sections, after) + 1
    plan = _plan(sections).sections
    plan.insert(at, Section(title.strip(), main_point.strip(), words))
    store.update_plan(project_id, plan)
    sections, texts = _texts(store, project_id)
    finished = [i != at for i in range(len(sections))]
    resume = ResumeState(_plan(sections), texts, finished, mode="plan")
    total = sum(count_words(t) for t in texts) + words
    return SectionRun(project_id, at, "section", _request(store, project_id, sampling or Sampling(), total),
                      resume)


def section_takes(store: ProjectStore, project_id: int, index: int) -> list[Take]:
    """Every take of the section at plan index ``index``, oldest first."""
    sections = store.sections(project_id)
    return store.takes(sections[_section_index(sections, index)].id)


def choose_take(store: ProjectStore, project_id: int, index: int, number: int) -> Take:
    """Make take ``number`` (1 = the oldest) the one the document uses for section ``index``."""
    takes = section_takes(store, project_id, index)
    if not 1 <= number <= len(takes):
        raise InputError(f"Section {index + 1} has {len(takes)} takes: choose one from 1 to {len(takes)}.")
    take = takes[number - 1]
    if take.finished is None:
        raise InputError(f"Take {number} was never finished: choose a finished take, or resume the project.")
    store.choose_take(take.id)
    return store.get_take(take.id)


# -- comparing two takes -----------------------------------------------------------------------------

SAME, REMOVED, ADDED = "same", "removed", "added"
_TOKEN = lazy_compile(r"^\s+|\S+\s*")  # each word with the space after it


def _opcodes(old: str, new: str) -> tuple[list[str], list[str], list[tuple[Any, int, int, int, int]]]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    # Compare the words only (spacing differences are not differences a writer cares about).
    matcher = difflib.SequenceMatcher(None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False)
    return a, b, matcher.get_opcodes()


def _add(runs: list[tuple[str, str]], kind: str, text: str) -> None:
    if not text:
        return
    if runs and runs[-1][0] == kind:
        runs[-1] = (kind, runs[-1][1] + text)
    else:
        runs.append((kind, text))


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The change from ``old`` to ``new`` as runs of (SAME | REMOVED | ADDED, text), word by word."""
    a, b, opcodes = _opcodes(old, new)
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            _add(runs, SAME, "".join(b[j1:j2]))
        else:
            _add(runs, REMOVED, "".join(a[i1:i2]))
            _add(runs, ADDED, "".join(b[j1:j2]))
    return runs


def diff_sides(old: str, new: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Both texts whole, for a side-by-side view: (old as SAME/REMOVED runs, new as SAME/ADDED runs)."""
    a, b, opcodes = _opcodes(old, new)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            _add(left, SAME, "".join(a[i1:i2]))
            _add(right, SAME, "".join(b[j1:j2]))
        else:
            _add(left, REMOVED, "".join(a[i1:i2]))
            _add(right, ADDED, "".join(b[j1:j2]))
    return left, right
