"""`longwriter section regenerate|takes|choose` and `longwriter continue`: takes and "write more"."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..app.backends import opened
from ..app.takes import SectionRun, choose_take, prepare_more, prepare_new_section, prepare_regenerate, section_takes
from ..engine.words import count_words
from ..errors import InputError
from ..projects.store import ProjectStore
from . import codex_cmd
from .output import print_table
from .write_cmd import (
    OUT_SUFFIXES,
    _CancelOnSigint,
    _check_out,
    _ProgressLine,
    _run,
    _sampling,
    backend_choice,
    restore_run_args,
    run_options,
)


def register(sub: argparse._SubParsersAction) -> None:
    section = sub.add_parser("section", help="one section's takes: write it again, list them, choose one")
    actions = section.add_subparsers(dest="section_command", metavar="ACTION")
    actions.required = True
    regenerate = actions.add_parser("regenerate", help="write one section again (a new take; the rest stays)")
    regenerate.add_argument("project", type=int, help="the project id (see: longwriter projects list)")
    regenerate.add_argument("section", type=int, help="the section's number in the plan (1 = the first)")
    regenerate.add_argument("--point", help="a new main point for the section (default: keep it)")
    regenerate.add_argument("--out", type=Path, help="export the document afterwards (.docx, .md or .txt)")
    regenerate.add_argument("--stats-json", type=Path, help="write the run's statistics as JSON to FILE")
    run_options(regenerate)
    regenerate.set_defaults(func=cmd_regenerate)
    takes = actions.add_parser("takes", help="every take of a section, the chosen one marked")
    takes.add_argument("project", type=int)
    takes.add_argument("section", type=int)
    takes.add_argument("--show", type=int, metavar="TAKE", help="print the text of this take")
    takes.set_defaults(func=cmd_takes)
    choose = actions.add_parser("choose", help="choose the take the document uses for a section")
    choose.add_argument("project", type=int)
    choose.add_argument("section", type=int)
    choose.add_argument("take", type=int, help="the take's number (see: longwriter section takes)")
    choose.set_defaults(func=cmd_choose)

    more = sub.add_parser("continue", help="write more: N more words, or a new section, after a finished one")
    more.add_argument("project", type=int)
    more.add_argument("--words", type=int, required=True, help="how many more words to write")
    more.add_argument("--after", type=int, metavar="SECTION",
                      help="go on after this section (its number; default: the end of the document)")
    more.add_argument("--section", metavar="TITLE", help="write a new section with this title instead of "
                      "going on in the same section")
    more.add_argument("--point", default="", help="the new section's main point")
    more.add_argument("--out", type=Path, help="export the document afterwards (.docx, .md or .txt)")
    more.add_argument("--stats-json", type=Path, help="write the run's statistics as JSON to FILE")
    run_options(more)
    more.set_defaults(func=cmd_continue)


def _number(value: int, what: str = "section") -> int:
    if value < 1:
        raise InputError(f"Number {what}s from 1.")
    return value - 1


def _go(run: SectionRun, store: ProjectStore, args: argparse.Namespace, status: _ProgressLine) -> int:
    settings = store.get_project(run.project_id).settings
    request = replace(run.request, codex=codex_cmd.codex_for_resume(store, run.project_id, settings))
    choice = backend_choice(args)
    with _CancelOnSigint() as cancel, opened(choice, status.message) as backend:
        return _run(store, run.project_id, backend, request, resume=run.resume, args=args, status=status,
                    cancel=cancel, choice=choice)


def cmd_regenerate(args: argparse.Namespace) -> int:
    _check_out(args.out, OUT_SUFFIXES)
    index = _number(args.section)
    status = _ProgressLine(sys.stderr, enabled=True)
    with ProjectStore() as store:
        project = store.get_project(args.project)
        seed = args.seed  # a saved seed would write the same take again
        restore_run_args(args, project)
        args.seed = seed
        run = prepare_regenerate(store, project.id, index, main_point=args.point, sampling=_sampling(args))
        status.message(f"Writing section {index + 1} of project {project.id} again (seed "
                       f"{run.request.sampling.seed}); its earlier takes are kept.")
        code = _go(run, store, args, status)
        takes = section_takes(store, project.id, index)
        status.message(f"Section {index + 1} now has {len(takes)} takes; the newest is chosen "
                       f"(change it with: longwriter section choose {project.id} {index + 1} TAKE).")
        return code


def cmd_continue(args: argparse.Namespace) -> int:
    _check_out(args.out, OUT_SUFFIXES)
    after = None if args.after is None else _number(args.after)
    status = _ProgressLine(sys.stderr, enabled=True)
    with ProjectStore() as store:
        project = store.get_project(args.project)
        seed = args.seed
        restore_run_args(args, project)
        args.seed = seed
        before = sum(count_words(text) for _, text in store.document_sections(project.id))
        if args.section:
            run = prepare_new_section(store, project.id, args.section, args.point, args.words, after=after,
                                      sampling=_sampling(args))
        else:
            run = prepare_more(store, project.id, args.words, after=after, sampling=_sampling(args))
        status.message(f"Writing about {args.words:,} more words in section {run.index + 1} of project "
                       f"{project.id} ({before:,} words so far).")
        code = _go(run, store, args, status)
        after_words = sum(count_words(text) for _, text in store.document_sections(project.id))
        status.message(f"The document has {after_words:,} words now ({after_words - before:+,}).")
        return code


def cmd_takes(args: argparse.Namespace) -> int:
    index = _number(args.section)
    with ProjectStore() as store:
        takes = section_takes(store, args.project, index)
    if args.show is not None:
        number = _number(args.show, "take")
        if number >= len(takes):
            raise InputError(f"Section {index + 1} has {len(takes)} takes.")
        print(takes[number].text)
        return 0
    if not takes:
        print(f"Section {index + 1} has no takes yet.")
        return 0
    rows = []
    for n, take in enumerate(takes, 1):
        state = "chosen" if take.chosen else ("" if take.finished else "unfinished")
        opening = " ".join(take.text.split()[:8])
        rows.append((str(n), state, f"{take.words:,}", take.model or "-", "-" if take.seed is None else str(take.seed),
                     take.created.astimezone().strftime("%Y-%m-%d %H:%M"), opening))
    print_table(("take", "", "words", "model", "seed", "written", "opening"), rows)
    return 0


def cmd_choose(args: argparse.Namespace) -> int:
    index = _number(args.section)
    with ProjectStore() as store:
        take = choose_take(store, args.project, index, args.take)
    print(f"Section {index + 1} now uses take {args.take} ({take.words:,} words).", file=sys.stderr)
    return 0
