"""A project's story bible in the projects database (table codex_entries, migration 2 of store.py).

The entries live in the same SQLite file as the project, so the daily and pre-migration backups hold them,
and every change goes through the store's write transactions and project lock like any other edit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ..engine.codex import Change, Entry, name_key
from ..errors import InputError, ProjectError
from .store import ProjectStore

_COLUMNS = "id, kind, name, aliases, description, notes, mode, changes"


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(
        id=int(row[0]), kind=row[1], name=row[2], aliases=tuple(json.loads(row[3] or "[]")),
        description=row[4], notes=row[5], mode=row[6],
        changes=tuple(Change(int(c["from_section"]), str(c["text"])) for c in json.loads(row[7] or "[]")),
    )


def _values(entry: Entry) -> tuple[Any, ...]:
    return (entry.kind, entry.name, json.dumps(list(entry.aliases), ensure_ascii=False), entry.description,
            entry.notes, entry.mode,
            json.dumps([{"from_section": c.from_section, "text": c.text} for c in entry.changes],
                       ensure_ascii=False))


class CodexStore:
    """The codex entries of the projects in one ProjectStore (same connection, same thread)."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store

    def entries(self, project_id: int) -> list[Entry]:
        """A project's entries in their order."""
        self.store.get_project(project_id)
        rows = self.store._read(
            f"SELECT {_COLUMNS} FROM codex_entries WHERE project_id = ? ORDER BY position, id", (project_id,))
        return [_entry(row) for row in rows]

    def get(self, project_id: int, key: str | int) -> Entry:
        """An entry by id, name or alias (case- and accent-insensitive)."""
        entries = self.entries(project_id)
        if isinstance(key, int) or str(key).isdigit():
            for entry in entries:
                if entry.id == int(key):
                    return entry
        folded = name_key(str(key))
        for entry in entries:
            if folded == name_key(entry.name):
                return entry
        for entry in entries:
            if any(folded == name_key(alias) for alias in entry.aliases):
                return entry
        raise InputError(f"Project {project_id} has no codex entry '{key}'. See: longwriter codex list "
                         f"{project_id}")

    def _check_name(self, project_id: int, entry: Entry, ignore: int | None = None) -> None:
        folded = name_key(entry.name)
        for other in self.entries(project_id):
            if other.id != ignore and name_key(other.name) == folded:
                raise InputError(f"The codex already has an entry named '{other.name}'. Edit it instead.")

    def add(self, project_id: int, entry: Entry) -> Entry:
        """Add an entry at the end of the list."""
        self._check_name(project_id, entry)
        now = time.time()
        with self.store._write(project_id, "save the codex entry") as conn:
            position = conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM codex_entries "
                                    "WHERE project_id = ?", (project_id,)).fetchone()[0]
            cursor = conn.execute(
                "INSERT INTO codex_entries (project_id, position, kind, name, aliases, description, notes, "
                "mode, changes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project_id, position, *_values(entry), now, now))
            entry_id = int(cursor.lastrowid or 0)
        return self.get(project_id, entry_id)

    def update(self, project_id: int, entry: Entry) -> Entry:
        """Save an entry that has an id (every field replaced)."""
        if entry.id is None:
            raise ValueError("update needs a stored entry")
        self._check_name(project_id, entry, ignore=entry.id)
        with self.store._write(project_id, "save the codex entry") as conn:
            changed = conn.execute(
                "UPDATE codex_entries SET kind = ?, name = ?, aliases = ?, description = ?, notes = ?, mode = ?, "
                "changes = ?, updated_at = ? WHERE id = ? AND project_id = ?",
                (*_values(entry), time.time(), entry.id, project_id)).rowcount
        if not changed:
            raise ProjectError(f"Codex entry {entry.id} is gone; it may have been removed elsewhere.")
        return self.get(project_id, entry.id)

    def remove(self, project_id: int, entry_id: int) -> None:
        with self.store._write(project_id, "remove the codex entry") as conn:
            conn.execute("DELETE FROM codex_entries WHERE id = ? AND project_id = ?", (entry_id, project_id))

    def add_all(self, project_id: int, entries: Sequence[Entry]) -> list[Entry]:
        """Add entries from a codex file in one transaction; an entry whose name exists replaces it."""
        existing = {name_key(e.name): e for e in self.entries(project_id)}
        now = time.time()
        with self.store._write(project_id, "save the codex") as conn:
            position = conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM codex_entries "
                                    "WHERE project_id = ?", (project_id,)).fetchone()[0]
            for entry in entries:
                old = existing.get(name_key(entry.name))
                if old is not None:
                    conn.execute(
                        "UPDATE codex_entries SET kind = ?, name = ?, aliases = ?, description = ?, notes = ?, "
                        "mode = ?, changes = ?, updated_at = ? WHERE id = ?", (*_values(entry), now, old.id))
                    continue
                conn.execute(
                    "INSERT INTO codex_entries (project_id, position, kind, name, aliases, description, notes, "
                    "mode, changes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (project_id, position, *_values(entry), now, now))
                position += 1
        return self.entries(project_id)
