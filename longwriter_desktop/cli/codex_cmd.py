"""`longwriter codex ...`: a project's story bible, and the `--codex FILE` option of `write`.

    longwriter codex list PROJECT [--format table|md|json] [--sections]
    longwriter codex add PROJECT NAME [--kind K] [--alias A]... [--description D] [--notes N] [--mode M]
                                      [--change N:TEXT]...
    longwriter codex add PROJECT --file FILE       (entries from a Markdown or JSON codex file)
    longwriter codex edit PROJECT ENTRY [--name N] [--kind K] [--alias A]... [--description D] [--notes N]
                                        [--mode M] [--change N:TEXT]... [--clear-changes]
    longwriter codex remove PROJECT ENTRY
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..engine import events as ev
from ..engine.codex import (
    DEFAULT_BUDGET,
    KIND_LABELS,
    MODE_LABELS,
    Change,
    Codex,
    load_codex,
    make_entry,
    parse_kind,
    parse_mode,
    plan_views,
    to_json,
    to_markdown,
    where_mentioned,
)
from ..engine.prompts import has_cjk
from ..errors import InputError
from ..projects.codex_store import CodexStore
from ..projects.store import ProjectStore
from .output import print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("codex", help="a project's story bible: characters, places and facts the model keeps "
                            "in view")
    codex_sub = parser.add_subparsers(dest="codex_command", metavar="ACTION")
    codex_sub.required = True

    listing = codex_sub.add_parser("list", help="the entries, where each is mentioned, and what each section sees")
    listing.add_argument("project", type=int, help="the project id (see: longwriter projects list)")
    listing.add_argument("--format", choices=("table", "md", "json"), default="table",
                         help="md and json print a codex file that --codex and `codex add --file` read back")
    listing.add_argument("--sections", action="store_true",
                         help="also show which entries each section of the plan sees, within the token budget")
    listing.set_defaults(func=cmd_list)

    add = codex_sub.add_parser("add", help="add an entry (or every entry of a codex file)")
    add.add_argument("project", type=int)
    add.add_argument("name", nargs="?", help="the entry's name")
    add.add_argument("--file", type=Path, help="a Markdown or JSON codex file: add its entries (same names replace)")
    _fields(add)
    add.set_defaults(func=cmd_add)

    edit = codex_sub.add_parser("edit", help="change an entry (only the fields given)")
    edit.add_argument("project", type=int)
    edit.add_argument("entry", help="the entry's name, an alias, or its id")
    edit.add_argument("--name", help="a new name")
    _fields(edit)
    edit.add_argument("--clear-changes", action="store_true", help="remove the entry's changes first")
    edit.set_defaults(func=cmd_edit)

    remove = codex_sub.add_parser("remove", help="remove an entry")
    remove.add_argument("project", type=int)
    remove.add_argument("entry", help="the entry's name, an alias, or its id")
    remove.set_defaults(func=cmd_remove)


def _fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", help="character, place, object, term, fact or style")
    parser.add_argument("--alias", action="append", help="another name it goes by (repeat for more; on edit, the "
                        "aliases given replace the old ones)")
    parser.add_argument("--description", help="what the model is shown")
    parser.add_argument("--notes", help="private notes: never shown to the model")
    parser.add_argument("--mode", help="always, mentioned (the default: when its name comes up) or never")
    parser.add_argument("--change", action="append", metavar="N:TEXT",
                        help="a change from section N on, e.g. '7: has a scar on her left hand' (repeatable)")


def _changes(values: list[str] | None) -> tuple[Change, ...]:
    changes = []
    for value in values or ():
        match = re.match(r"^\s*(?:from\s+section\s+)?(\d+)\s*:\s*(.+)$", value, re.IGNORECASE | re.DOTALL)
        if not match or int(match.group(1)) < 1:
            raise InputError(f"--change takes a section number and the text, like '7: has a scar' (got '{value}').")
        changes.append(Change(int(match.group(1)), match.group(2).strip()))
    return tuple(changes)


def cmd_add(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        codex = CodexStore(store)
        if args.file:
            if args.name:
                raise InputError("Give either a NAME or --file, not both.")
            entries = codex.add_all(args.project, load_codex(args.file))
            print(f"Project {args.project}'s codex has {len(entries)} entries.", file=sys.stderr)
            return 0
        if not args.name:
            raise InputError("Give the entry's name (or --file FILE).")
        data: dict[str, Any] = {"name": args.name, "kind": args.kind or "character", "aliases": args.alias or [],
                                "description": args.description or "", "notes": args.notes or "",
                                "mode": args.mode or "mentioned"}
        entry = replace(make_entry(data), changes=_changes(args.change))
        added = codex.add(args.project, entry)
    print(f"Added {KIND_LABELS[added.kind].lower()} '{added.name}' (id {added.id}).", file=sys.stderr)
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        codex = CodexStore(store)
        entry = codex.get(args.project, args.entry)
        if args.name is not None and not args.name.strip():
            raise InputError("An entry needs a name.")
        changes = () if args.clear_changes else entry.changes
        entry = replace(
            entry,
            name=" ".join(args.name.split()) if args.name else entry.name,
            kind=parse_kind(args.kind) if args.kind else entry.kind,
            aliases=tuple(a.strip() for a in args.alias if a.strip()) if args.alias is not None else entry.aliases,
            description=entry.description if args.description is None else args.description.strip(),
            notes=entry.notes if args.notes is None else args.notes.strip(),
            mode=parse_mode(args.mode) if args.mode else entry.mode,
            changes=tuple(sorted(changes + _changes(args.change), key=lambda c: c.from_section)),
        )
        saved = codex.update(args.project, entry)
    print(f"Saved '{saved.name}'.", file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        codex = CodexStore(store)
        entry = codex.get(args.project, args.entry)
        codex.remove(args.project, entry.id or 0)
    print(f"Removed '{entry.name}'.", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        project = store.get_project(args.project)
        entries = CodexStore(store).entries(project.id)
        sections = store.document_sections(project.id)
    if args.format == "md":
        sys.stdout.write(to_markdown(entries))
        return 0
    if args.format == "json":
        sys.stdout.write(to_json(entries))
        return 0
    if not entries:
        print(f"Project {project.id} has no codex entries. Add one with: longwriter codex add {project.id} NAME")
        return 0
    texts = [text for _, text in sections]
    where = where_mentioned(entries, texts)
    rows = []
    for entry, found in zip(entries, where):
        mentioned = ", ".join(f"{n} ({count}x)" if count > 1 else str(n) for n, count in found) or "-"
        changes = "; ".join(f"from {c.from_section}: {c.text}" for c in entry.changes)
        rows.append((str(entry.id), entry.name, KIND_LABELS[entry.kind], MODE_LABELS[entry.mode],
                     ", ".join(entry.aliases) or "-", mentioned, changes or "-"))
    print_table(("id", "name", "kind", "in prompts", "aliases", "mentioned in sections", "changes"), rows)
    if args.sections and sections:
        budget = int(project.settings.get("codex_budget") or DEFAULT_BUDGET)
        views = plan_views(entries, [record for record, _ in sections], texts, project.instruction,
                           budget=budget, cjk=has_cjk(project.instruction))
        print()
        print_table(("#", "section", "sees"),
                    [(str(i + 1), record.title, view.summary()) for i, ((record, _), view)
                     in enumerate(zip(sections, views))])
    return 0


# -- `longwriter write --codex FILE` ------------------------------------------------------------------------


def add_write_options(parser: argparse.ArgumentParser) -> None:
    """The codex options of `longwriter write`."""
    parser.add_argument("--codex", type=Path, metavar="FILE",
                        help="a story bible (Markdown or JSON entries, see README): each section's prompt holds "
                        "the entries that matter to it")
    parser.add_argument("--codex-budget", type=int, default=DEFAULT_BUDGET, metavar="TOKENS",
                        help=f"the most tokens of codex entries per section (default {DEFAULT_BUDGET})")
    parser.add_argument("--consistency", action="store_true",
                        help="after each section, check names against the codex and warn about misspellings and "
                        "mixed-up names")


def codex_for_write(args: argparse.Namespace) -> Codex | None:
    """The run's codex from --codex FILE (None without one and without --consistency)."""
    if not 50 <= args.codex_budget <= 20_000:
        raise InputError("--codex-budget must be between 50 and 20,000 tokens.")
    entries = load_codex(args.codex) if args.codex else []
    if not entries and args.consistency:
        raise InputError("--consistency checks the text against a codex: give one with --codex FILE.")
    return Codex(entries, args.codex_budget, args.consistency) if entries else None


def codex_settings(codex: Codex | None) -> dict[str, Any]:
    """What the project's settings keep of the codex options (the entries go into the codex table)."""
    return {"codex_budget": codex.budget, "consistency": codex.consistency} if codex else {}


def save_for_project(store: ProjectStore, project_id: int, codex: Codex | None) -> None:
    if codex is not None:
        CodexStore(store).add_all(project_id, codex.entries)


def codex_for_resume(store: ProjectStore, project_id: int, settings: dict[str, Any]) -> Codex | None:
    """The codex a resumed run uses: the project's entries as they are now."""
    entries = CodexStore(store).entries(project_id)
    if not entries:
        return None
    return Codex(entries, int(settings.get("codex_budget") or DEFAULT_BUDGET), bool(settings.get("consistency")))


def describe_view(event: ev.CodexInView) -> str:
    """The line `write` prints when a section starts: which entries it sees, and the budget."""
    names = ", ".join(event.names) or "none"
    line = f"longwriter: section {event.index + 1} sees codex entries: {names} ({event.tokens} of {event.budget} " \
           "tokens)"
    if event.left_out:
        line += "; left out, over budget: " + ", ".join(event.left_out)
    return line
