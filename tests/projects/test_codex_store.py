"""The codex in the projects database: migration from schema 1, add/edit/remove, backups hold it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from longwriter_desktop.engine.codex import Change, Entry
from longwriter_desktop.errors import InputError
from longwriter_desktop.projects.codex_store import CodexStore
from longwriter_desktop.projects.store import MIGRATIONS, ProjectStore

MARA = Entry("Mara Voss", "character", ("Mara",), "Grey-eyed captain.", "secret", "always",
             (Change(5, "Has a scar."),))


def test_add_edit_remove_and_order(store: ProjectStore) -> None:
    project = store.create_project("Sea", "Write a sea story.", target_words=1000)
    codex = CodexStore(store)
    mara = codex.add(project.id, MARA)
    heron = codex.add(project.id, Entry("Heron", "object", description="A schooner."))
    assert [e.name for e in codex.entries(project.id)] == ["Mara Voss", "Heron"]
    assert replace(mara, id=None) == MARA
    assert codex.get(project.id, "mara") == mara  # by alias, any case
    assert codex.get(project.id, str(heron.id)) == heron
    with pytest.raises(InputError, match="already has an entry named 'Mara Voss'"):
        codex.add(project.id, Entry("MARA VOSS"))
    edited = codex.update(project.id, replace(heron, mode="never", changes=(Change(2, "Loses a mast."),)))
    assert edited.mode == "never" and edited.changes == (Change(2, "Loses a mast."),)
    codex.remove(project.id, mara.id or 0)
    assert [e.name for e in codex.entries(project.id)] == ["Heron"]
    with pytest.raises(InputError, match="no codex entry 'Mara'"):
        codex.get(project.id, "Mara")
    # Deleting the project deletes its codex.
    store.delete_project(project.id)
    assert store._read("SELECT COUNT(*) FROM codex_entries")[0][0] == 0


def test_add_all_replaces_by_name(store: ProjectStore) -> None:
    project = store.create_project("Sea", "Write a sea story.", target_words=1000)
    codex = CodexStore(store)
    codex.add(project.id, MARA)
    entries = codex.add_all(project.id, [replace(MARA, description="Now blue-eyed."), Entry("Heron")])
    assert [(e.name, e.description) for e in entries] == [("Mara Voss", "Now blue-eyed."), ("Heron", "")]


def test_a_schema_1_database_migrates_and_its_backup_holds_the_old_state(tmp_path: Path) -> None:
    path = tmp_path / "projects.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO projects (title, instruction, target_words, created_at, updated_at) "
                 "VALUES ('Old', 'Write.', 500, 0, 0)")
    conn.commit()
    conn.close()
    with ProjectStore(path) as store:
        assert store.backups(), "a copy is kept before the migration"
        codex = CodexStore(store)
        codex.add(1, MARA)
        assert codex.entries(1)[0].name == "Mara Voss"
        backup = store.backup()
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT name, notes FROM codex_entries").fetchall() == [("Mara Voss", "secret")]
    finally:
        copy.close()
