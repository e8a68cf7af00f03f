"""The project store on a real SQLite file: schema, migrations, CRUD, plans, takes, document, log."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from project_helpers import PlanEntry

from longwriter_desktop import paths
from longwriter_desktop.errors import InputError, ProjectError
from longwriter_desktop.projects.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ProjectStore,
    apply_migrations,
)


def _user_version(path: object) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_migrates_an_empty_file_and_sets_wal_and_full_sync() -> None:
    db = paths.projects_db()
    db.touch()  # a zero-byte file, as a crash right after creating it would leave
    with ProjectStore() as store:
        assert store.path == db
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        tables = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"projects", "sections", "takes", "run_log"} <= tables
    assert _user_version(db) == SCHEMA_VERSION == len(MIGRATIONS)


def test_reopening_is_idempotent_and_keeps_the_data() -> None:
    with ProjectStore() as store:
        project = store.create_project("Kept", "Write it", target_words=500)
    for _ in range(2):
        with ProjectStore() as store:
            assert [p.title for p in store.list_projects()] == ["Kept"]
            assert store.get_project(project.id).instruction == "Write it"
    assert _user_version(paths.projects_db()) == SCHEMA_VERSION


def test_stores_opened_at_once_from_many_threads_migrate_once() -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            ProjectStore(daily_backup=False).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _user_version(paths.projects_db()) == SCHEMA_VERSION


def test_a_failing_migration_rolls_back_entirely() -> None:
    ProjectStore().close()
    conn = sqlite3.connect(paths.projects_db(), isolation_level=None)
    broken = (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    # The next version, without the bad statement, applies on top.
    assert apply_migrations(conn, (*MIGRATIONS, ("CREATE TABLE extra (x INTEGER)",))) == SCHEMA_VERSION
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


def test_a_database_from_a_newer_version_is_refused_and_kept() -> None:
    ProjectStore().close()
    conn = sqlite3.connect(paths.projects_db())
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectError, match="newer LongWriter Desktop"):
        ProjectStore()
    assert _user_version(paths.projects_db()) == SCHEMA_VERSION + 5


def test_create_get_update_list_delete(store: ProjectStore) -> None:
    first = store.create_project(
        "  A novel  ", "Write a novel", target_words=20_000, notes="dark", model="m.gguf", backend="cpu",
        settings={"temperature": 0.7, "seed": 3},
    )
    second = store.create_project("", "Untitled one", target_words=1000)
    assert first.title == "A novel"
    assert second.title == "Untitled"
    assert (first.status, first.words_written, first.sections_total) == ("new", 0, 0)
    assert store.get_project(first.id).settings == {"temperature": 0.7, "seed": 3}

    updated = store.update_project(first.id, title="The novel", settings={"temperature": 0.5})
    assert (updated.title, updated.settings, updated.notes) == ("The novel", {"temperature": 0.5}, "dark")
    assert [p.id for p in store.list_projects()] == [first.id, second.id]  # most recently changed first

    store.delete_project(first.id)
    assert [p.id for p in store.list_projects()] == [second.id]
    with pytest.raises(ProjectError, match="no project"):
        store.get_project(first.id)
    # ids are never reused: "project 1" keeps meaning the deleted one
    assert store.create_project("Third", "x", target_words=1).id == second.id + 1


def test_bad_input_is_refused(store: ProjectStore) -> None:
    with pytest.raises(InputError):
        store.create_project("T", "x", target_words=-1)
    project = store.create_project("T", "x", target_words=10)
    with pytest.raises(InputError, match="no title"):
        store.update_plan(project.id, [PlanEntry("One"), PlanEntry("  ")])
    assert store.sections(project.id) == []


def _write_take(store: ProjectStore, section_id: int, text: str, finish: bool = True) -> int:
    take = store.start_take(section_id, model="m.gguf", seed=7)
    store.append_text(take.id, text)
    if finish:
        store.finish_take(take.id, stats={"seconds": 1.5})
    return take.id


def test_takes_words_document_and_choice(store: ProjectStore) -> None:
    project = store.create_project("Doc", "x", target_words=600)
    one, two = store.update_plan(project.id, [PlanEntry("One", "first"), PlanEntry("Two", "second")])
    assert store.get_project(project.id).status == "planned"
    first_take = _write_take(store, one.id, "Alpha beta gamma.\n\n")
    second_take = _write_take(store, one.id, "Delta epsilon.")
    partial = _write_take(store, two.id, "Zeta eta theta iota", finish=False)

    takes = store.takes(one.id)
    assert [t.id for t in takes] == [first_take, second_take]
    assert [t.chosen for t in takes] == [False, True]  # the latest finished take is chosen
    assert takes[0].words == 3 and takes[0].model == "m.gguf" and takes[0].seed == 7
    assert takes[0].stats == {"seconds": 1.5} and takes[0].finished is not None
    assert store.get_take(partial).finished is None

    assert store.document_text(project.id) == "Delta epsilon.\n\nZeta eta theta iota"
    store.choose_take(first_take)
    assert store.document_text(project.id) == "Alpha beta gamma.\n\nZeta eta theta iota"
    listed = store.list_projects()[0]
    assert (listed.words_written, listed.sections_done, listed.sections_total) == (7, 1, 2)
    sections = store.sections(project.id)
    assert [(s.status, s.words, s.takes) for s in sections] == [("done", 3, 2), ("writing", 4, 1)]


def test_append_retract_and_finish(store: ProjectStore) -> None:
    project = store.create_project("T", "x", target_words=10)
    (section,) = store.update_plan(project.id, [PlanEntry("Only")])
    take = store.start_take(section.id)
    assert store.append_text(take.id, "one two three four") == 4
    assert store.retract_text(take.id, len(" four")) == 3
    assert store.append_text(take.id, " FIVE", drop_chars=len(" three")) == 3
    assert store.get_take(take.id).text == "one two FIVE"
    assert store.retract_text(take.id, 1000) == 0
    store.append_text(take.id, "Ünïcödé 漢字 ok")  # characters, not bytes
    store.retract_text(take.id, 3)
    assert store.get_take(take.id).text == "Ünïcödé 漢字"
    finished = store.finish_take(take.id, text="Final words here.", stats={"retries": 1})
    assert (finished.text, finished.words, finished.stats) == ("Final words here.", 3, {"retries": 1})
    with pytest.raises(ProjectError, match="finished"):
        store.append_text(take.id, "more")
    with pytest.raises(ProjectError, match="already finished"):
        store.finish_take(take.id)


def test_update_plan_keeps_the_takes_of_sections_that_stay(store: ProjectStore) -> None:
    project = store.create_project("Plan", "x", target_words=900)
    a, b, c = store.update_plan(project.id, [PlanEntry("Intro"), PlanEntry("Middle"), PlanEntry("End")])
    take_a = _write_take(store, a.id, "Intro text.")
    take_b = _write_take(store, b.id, "Middle text.", finish=False)
    take_c = _write_take(store, c.id, "End text.")

    new = store.update_plan(
        project.id,
        [PlanEntry("middle ", "a new main point", 450), PlanEntry("Intro"), PlanEntry("Appendix")],
    )
    assert [s.title for s in new] == ["middle", "Intro", "Appendix"]
    assert [s.position for s in new] == [0, 1, 2]
    assert (new[0].id, new[0].main_point, new[0].target_words) == (b.id, "a new main point", 450)
    assert (new[0].status, new[0].chosen_take_id) == ("writing", take_b)
    assert (new[1].id, new[1].status, new[1].chosen_take_id) == (a.id, "done", take_a)
    assert (new[2].status, new[2].takes, new[2].chosen_take_id) == ("pending", 0, None)
    assert store.document_text(project.id) == "Middle text.\n\nIntro text."

    # The dropped section left the plan with its words, and comes back with them.
    removed = [s for s in store.sections(project.id, include_removed=True) if s.position is None]
    assert [(s.id, s.title) for s in removed] == [(c.id, "End")]
    assert store.get_take(take_c).text == "End text."
    again = store.update_plan(project.id, [PlanEntry("Intro"), PlanEntry("End")])
    assert [(s.id, s.chosen_take_id) for s in again] == [(a.id, take_a), (c.id, take_c)]


def test_update_plan_respects_locked_sections(store: ProjectStore) -> None:
    project = store.create_project("Plan", "x", target_words=900)
    a, b = store.update_plan(project.id, [PlanEntry("Intro", "hook", 200), PlanEntry("Body", "argue", 700)])
    store.set_locked(a.id, True)

    # A re-generated plan knows nothing of the lock: the stored entry wins and stays locked.
    new = store.update_plan(project.id, [PlanEntry("Intro", "something else", 999), PlanEntry("Body")])
    assert (new[0].main_point, new[0].target_words, new[0].locked) == ("hook", 200, True)
    assert (new[1].main_point, new[1].locked) == ("", False)

    with pytest.raises(InputError, match='locked sections \\("Intro"\\)'):
        store.update_plan(project.id, [PlanEntry("Body")])
    assert [s.title for s in store.sections(project.id)] == ["Intro", "Body"]  # rolled back

    store.set_locked(a.id, False)
    assert [s.title for s in store.update_plan(project.id, [PlanEntry("Body")])] == ["Body"]
    edited = store.edit_section(b.id, title="Argument", target_words=650)
    assert (edited.title, edited.main_point, edited.target_words) == ("Argument", "", 650)


def test_mark_interrupted_and_resume_state(store: ProjectStore) -> None:
    project = store.create_project("Resume", "x", target_words=900)
    one, two, three = store.update_plan(project.id, [PlanEntry("One"), PlanEntry("Two"), PlanEntry("Three")])
    _write_take(store, one.id, "First section.")
    _write_take(store, two.id, "Second, cut short", finish=False)
    # Nobody holds the project, so a "writing" section is shown as what it is: interrupted.
    assert store.get_project(project.id).status == "interrupted"
    assert store.mark_interrupted(project.id) == 1
    state = store.resume_state(project.id)
    assert [s.id for s in state.sections] == [one.id, two.id, three.id]
    assert state.finished == {0: "First section."}
    assert (state.interrupted_index, state.partial_text, state.next_index) == (1, "Second, cut short", 1)
    assert store.sections(project.id)[1].status == "interrupted"


def test_run_log(store: ProjectStore) -> None:
    project = store.create_project("Log", "x", target_words=10)
    store.log(project.id, "plan", "generated", {"notes": ["rescaled"]})
    store.log(project.id, "warning", "repetition cut")
    store.log(project.id, "done", "", {"when": store.get_project(project.id).created})  # not JSON: str()
    entries = store.run_log(project.id)
    assert [(e.kind, e.message) for e in entries] == [("plan", "generated"), ("warning", "repetition cut"),
                                                      ("done", "")]
    assert entries[0].data == {"notes": ["rescaled"]}
    assert isinstance(entries[2].data["when"], str)
    assert [e.kind for e in store.run_log(project.id, limit=1)] == ["done"]


def test_daily_backup_is_made_once_there_is_something_to_keep() -> None:
    with ProjectStore() as store:
        assert store.backups() == []
        store.create_project("Keep me", "x", target_words=10)
    with ProjectStore() as store:
        (backup,) = store.backups()
    with ProjectStore() as store:
        assert store.backups() == [backup]  # not again the same day
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT title FROM projects").fetchall() == [("Keep me",)]
    conn.close()
