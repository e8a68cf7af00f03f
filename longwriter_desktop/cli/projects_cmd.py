"""`longwriter projects ...`: the projects saved in the projects database."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from .. import paths
from ..projects.store import ProjectStore, backup_projects, backups_dir, database_problem, restore_backup
from .output import print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("projects", help="list and show saved projects")
    projects_sub = parser.add_subparsers(dest="projects_command", metavar="ACTION")
    projects_sub.required = True
    list_parser = projects_sub.add_parser("list", help="every project with its status and words written")
    list_parser.set_defaults(func=cmd_list)
    show_parser = projects_sub.add_parser("show", help="one project: its plan, sections and run log")
    show_parser.add_argument("project_id", type=int, metavar="ID", help="its id (see `projects list`)")
    show_parser.add_argument("--text", action="store_true", help="print the document's text instead")
    show_parser.add_argument("--log", type=int, default=10, metavar="N", help="run log lines (default 10)")
    show_parser.set_defaults(func=cmd_show)
    backups_parser = projects_sub.add_parser("backups", help="the backups of the projects database")
    backups_parser.set_defaults(func=cmd_backups)
    restore_parser = projects_sub.add_parser(
        "restore", help="set a damaged projects database aside and restore the newest good backup"
    )
    restore_parser.add_argument("--backup", type=Path, metavar="FILE",
                                help="restore this backup instead of the newest good one (see `projects backups`)")
    restore_parser.add_argument("--new", action="store_true",
                                help="restore nothing: set the database aside and start a new, empty one")
    restore_parser.add_argument("--force", action="store_true",
                                help="replace the database even though it is healthy (it is set aside, not deleted)")
    restore_parser.set_defaults(func=cmd_restore)


def _local(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def cmd_list(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        projects = store.list_projects()
    if not projects:
        print("No projects yet. Start one with: longwriter write")
        return 0
    rows = [
        (str(p.id), p.title, p.status, f"{p.words_written:,} / {p.target_words:,}",
         f"{p.sections_done}/{p.sections_total}", _local(p.updated))
        for p in projects
    ]
    print_table(("id", "title", "status", "words", "sections", "updated"), rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with ProjectStore() as store:
        project = store.get_project(args.project_id)
        if args.text:
            print(store.document_text(project.id))
            return 0
        sections = store.sections(project.id)
        summaries = [str(store.get_take(s.chosen_take_id).stats.get("summary", "")) if s.chosen_take_id else ""
                     for s in sections]
        writer = store.writer_of(project.id)
        log = store.run_log(project.id, limit=args.log) if args.log > 0 else []
    status = project.status
    if writer is not None:
        pid, host, _ = writer
        status += f" (by process {pid} on {host})"
    print(f"Project {project.id}: {project.title}")
    for label, value in (
        ("status", status),
        ("words", f"{project.words_written:,} of {project.target_words:,}"),
        ("model", project.model or "-"),
        ("created", _local(project.created)),
        ("updated", _local(project.updated)),
    ):
        print(f"  {label + ':':<9}{value}")
    print(f"  instruction: {project.instruction}")
    if project.notes:
        print(f"  notes: {project.notes}")
    if sections:
        print()
        rows = [
            (str(i + 1), s.title + (" (locked)" if s.locked else ""), s.status,
             f"{s.words:,} / {s.target_words:,}", str(s.takes))
            for i, s in enumerate(sections)
        ]
        print_table(("#", "section", "status", "words", "takes"), rows)
        if any(summaries):
            print()
            print("  Summaries (what the model keeps in view of sections that left its context):")
            for i, summary in enumerate(summaries):
                if summary:
                    print(f"  {i + 1}. {summary}")
    if log:
        print()
        for entry in log:
            print(f"  {_local(entry.at)}  {entry.kind}: {entry.message}".rstrip())
    return 0


def cmd_backups(args: argparse.Namespace) -> int:
    folder = backups_dir(paths.projects_db())
    backups = sorted(folder.glob("projects-*.sqlite3"), reverse=True) if folder.is_dir() else []
    if not backups:
        print(f"No backups yet (they are kept in {folder}, one a day).")
        return 0
    rows = []
    for backup in backups:
        count = backup_projects(backup)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
        rows.append((when, "damaged" if count is None else f"{count} project(s)", str(backup)))
    print_table(("taken", "holds", "file"), rows)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    db = paths.projects_db()
    problem = database_problem(db)
    moved, restored = restore_backup(db, args.backup, force=args.force, new=args.new)
    if moved is not None:
        why = f" ({problem})" if problem else ""
        print(f"Set the projects database aside{why}: {moved}")
    if restored is not None:
        print(f"Restored {restored} ({backup_projects(restored)} project(s)). See them with: longwriter projects list")
    else:
        print("A new, empty projects database starts with the next command.")
    return 0
