"""Projects in one SQLite file: the plan, every take of every section, and a log of each run.

Durability. The database runs in WAL mode with ``synchronous=FULL``: every commit appends to the WAL and
fsyncs it, so a committed autosave survives a crash, ``kill -9``, a dead battery during sleep and an OS
crash. With ``synchronous=NORMAL`` the WAL is fsynced only at checkpoints (about every 1,000 pages): that
still survives a process crash, but power loss could roll back the last minute or so of autosaves, which
breaks the promise that at most the last two seconds of text are ever lost. Autosaves are rare (about one
a second while text streams in), and one FULL commit costs well under a millisecond more than NORMAL on an
SSD (``benchmarks/autosave_commit.py`` measures it), so FULL is the right trade.

Safety between processes. WAL lets readers work while a run writes; ``busy_timeout`` makes a second
writer wait for the first one's short transaction instead of failing. On top of that, each project has an
OS-level lock (``lock.py``): a run holds it from start to end, and every other change to that project takes
it for the length of one transaction, so two processes never write the same project at once.

Damage. A file that is not a SQLite database, or that fails ``PRAGMA quick_check``, or an empty (0-byte)
file where backups show there was a database, raises DamagedDatabaseError and is left exactly as it is;
``set_aside_damaged`` moves it (and its WAL) away when the user agrees, and ``restore_backup`` puts the
newest good backup in its place (``longwriter projects restore``, or the window's offer).
A copy of the database is kept in ``backups/`` once a day and before every schema migration; the rotation
never deletes the newest backup that holds projects the kept ones lack.

POSIX locks. SQLite locks the database with fcntl locks, which belong to the process, not to the
descriptor: closing ANY descriptor of the file drops them all, and another process then believes it is
the last user and deletes the live WAL (sqlite.org, "How To Corrupt An SQLite Database", 2.2). So this
module never opens the database file by other means than SQLite (``stat`` is fine), and one store (one
connection, guarded by a lock so the window's threads can share it) serves a whole process. A passive WAL
checkpoint every ``CHECKPOINT_EVERY_S`` during writes keeps the main file close behind the WAL, so even a
WAL lost some other way costs seconds of text, not a project.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .. import paths
from ..engine.counting import LengthRule, rule_for
from ..errors import InputError, ProjectError
from .lock import ProjectLock, is_locked, read_holder, setup_lock

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
BACKUPS_KEPT = 7
BACKUP_EVERY_S = 24 * 3600
CHECKPOINT_EVERY_S = 5.0

PROJECT_STATUSES = ("new", "planned", "writing", "interrupted", "done")
SECTION_STATUSES = ("pending", "writing", "done", "interrupted")

# Each migration is a list of statements applied in one transaction together with the new user_version.
# Never edit a migration that has shipped: append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE projects (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            instruction TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT '',
            target_words INTEGER NOT NULL CHECK (target_words >= 0),
            mode TEXT NOT NULL DEFAULT 'agentwrite',
            model TEXT NOT NULL DEFAULT '',
            backend TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'planned', 'writing', 'interrupted', 'done')),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        # position is NULL for a section that a later plan dropped: it keeps its takes (never lose a word).
        """
        CREATE TABLE sections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            position INTEGER,
            title TEXT NOT NULL,
            main_point TEXT NOT NULL DEFAULT '',
            target_words INTEGER NOT NULL CHECK (target_words >= 0),
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'writing', 'done', 'interrupted')),
            locked INTEGER NOT NULL DEFAULT 0,
            chosen_take_id INTEGER REFERENCES takes(id) ON DELETE SET NULL,
            UNIQUE (project_id, position)
        )
        """,
        """
        CREATE TABLE takes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            section_id INTEGER NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
            text TEXT NOT NULL DEFAULT '',
            words INTEGER NOT NULL DEFAULT 0,
            model TEXT NOT NULL DEFAULT '',
            seed INTEGER,
            stats TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            finished_at REAL
        )
        """,
        "CREATE INDEX takes_by_section ON takes(section_id)",
        """
        CREATE TABLE run_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            data TEXT
        )
        """,
        "CREATE INDEX run_log_by_project ON run_log(project_id, id)",
    ),
    # The story bible (codex_store.py): aliases and changes are JSON lists.
    (
        """
        CREATE TABLE codex_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('character', 'place', 'object', 'term', 'fact', 'style')),
            name TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',
            description TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            mode TEXT NOT NULL DEFAULT 'mentioned' CHECK (mode IN ('always', 'mentioned', 'never')),
            changes TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        "CREATE INDEX codex_by_project ON codex_entries(project_id, position)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class PlanSection(Protocol):
    """What update_plan needs of a plan's section (engine.plan.Section has these fields)."""

    title: str
    main_point: str
    target_words: int
    locked: bool


@dataclass(frozen=True)
class Project:
    id: int
    title: str
    instruction: str
    notes: str
    target_words: int
    mode: str
    model: str
    backend: str
    settings: dict[str, Any]
    status: str  # one of PROJECT_STATUSES; "writing" only while a live run holds the project
    created: datetime
    updated: datetime
    words_written: int  # words of the chosen takes of the sections in the plan
    sections_done: int
    sections_total: int


@dataclass(frozen=True)
class SectionRecord:
    id: int
    project_id: int
    position: int | None  # index in the plan; None once a later plan dropped the section
    title: str
    main_point: str
    target_words: int
    status: str  # one of SECTION_STATUSES
    locked: bool
    chosen_take_id: int | None
    words: int  # of the chosen take
    takes: int


@dataclass(frozen=True)
class Take:
    id: int
    section_id: int
    text: str
    words: int
    model: str
    seed: int | None
    stats: dict[str, Any]
    created: datetime
    updated: datetime
    finished: datetime | None  # None while being written or after an interrupted run
    chosen: bool


@dataclass(frozen=True)
class LogEntry:
    id: int
    project_id: int
    at: datetime
    kind: str
    message: str
    data: Any = None


@dataclass(frozen=True)
class ProjectProgress:
    """Where a stored project stands: what a run needs to continue it (app.service maps it to the engine's
    ResumeState)."""

    project: Project
    sections: tuple[SectionRecord, ...]  # the plan, in order
    finished: dict[int, str] = field(default_factory=dict)  # plan index -> text of each done section
    interrupted_index: int | None = None  # the section a run stopped inside, if any
    partial_text: str = ""  # what that section had when the run stopped
    next_index: int | None = None  # the first section that is not done; None when all are


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _normal_title(title: str) -> str:
    return " ".join(title.split()).casefold()


def _error_kind(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""  # Python 3.11+
    if name:
        return name
    text = str(exc).lower()
    for needle, kind in (
        ("disk is full", "SQLITE_FULL"),
        ("malformed", "SQLITE_CORRUPT"),
        ("not a database", "SQLITE_NOTADB"),
        ("database is locked", "SQLITE_BUSY"),
        ("readonly", "SQLITE_READONLY"),
        ("disk i/o error", "SQLITE_IOERR"),
        ("unable to open", "SQLITE_CANTOPEN"),
    ):
        if needle in text:
            return kind
    return ""


class DamagedDatabaseError(ProjectError):
    """The projects database cannot be used as it is: set it aside, or restore a backup."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(damaged_message(path, detail))
        self.path = path
        self.detail = detail


def damaged_message(path: Path, detail: str) -> str:
    """The words shown when the projects database cannot be read as a database."""
    good = good_backups(path)
    advice = (
        f" The newest good backup is {good[0]}: `longwriter projects restore` sets the damaged file aside and "
        "puts that backup in its place (the window offers the same)."
        if good
        else " There is no backup of it; `longwriter projects restore --new` sets it aside and starts a new one."
    )
    return f"The projects database {path} is damaged ({detail}). It was left untouched.{advice}"


def backups_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def _backup_files(db_path: Path) -> list[Path]:
    folder = backups_dir(db_path)
    return sorted(folder.glob("projects-*.sqlite3")) if folder.is_dir() else []


def backup_projects(backup: Path) -> int | None:
    """How many projects a backup holds; None when it is not a healthy database (checked through SQLite)."""
    try:
        # immutable: a backup is never written again, so no lock, -shm or -wal file is made to read it.
        conn = sqlite3.connect(f"{backup.absolute().as_uri()}?mode=ro&immutable=1", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        if [row[0] for row in conn.execute("PRAGMA quick_check(1)")] != ["ok"]:
            return None
        return int(conn.execute("SELECT COUNT(*) FROM projects").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def good_backups(db_path: Path) -> list[Path]:
    """Backups of the database that open as healthy databases, newest first."""
    return [b for b in reversed(_backup_files(db_path)) if backup_projects(b) is not None]


def set_aside_damaged(path: Path | None = None) -> Path:
    """Rename a damaged database (and its -wal/-shm files) aside; returns the new name of the database."""
    path = path or paths.projects_db()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    # The WAL must move with its database: left behind, SQLite could replay it into a new file.
    for suffix in ("-wal", "-shm", ""):
        src = path.with_name(path.name + suffix)
        if src.exists():
            src.rename(target.with_name(target.name + suffix))
    return target


def database_problem(path: Path | None = None) -> str | None:
    """Why the database cannot be used as it is (a few words), or None when it is healthy or absent.

    Reads only through SQLite (a read-only connection) and ``stat``: see "POSIX locks" above.
    """
    path = (path or paths.projects_db()).absolute()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProjectError(f"Could not read the projects database {path}: {exc.strerror}. Check that the "
                           "data folder is readable.") from exc
    if size == 0:
        wal = path.with_name(path.name + "-wal")
        if _backup_files(path) or (wal.exists() and wal.stat().st_size > 0):
            return "the file is empty (0 bytes), though backups show it held projects"
        return None  # created but never written (a run that died at once): a new database
    # A read-only connection: it cannot checkpoint a WAL into a damaged file when it closes.
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise ProjectError(f"Could not open the projects database {path} ({exc}).") from exc
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        kind = _error_kind(exc)
        if kind.startswith("SQLITE_NOTADB"):
            return "it is not a SQLite database"
        if kind.startswith("SQLITE_CORRUPT"):
            return str(exc)
        raise ProjectError(f"Could not read the projects database {path} ({exc}).") from exc
    finally:
        conn.close()
    return None if problems == ["ok"] else "; ".join(problems[:2])


def restore_backup(path: Path | None = None, backup: Path | None = None, *, force: bool = False,
                   new: bool = False) -> tuple[Path | None, Path | None]:
    """Set the database aside and put a backup (the newest good one by default) in its place.

    Returns (where the old file went, the backup restored). A healthy database is only replaced with
    ``force``; ``new`` sets the file aside and restores nothing (the next open starts a new database).
    Nothing is ever deleted.
    """
    path = (path or paths.projects_db()).absolute()
    with setup_lock(path.with_name(path.name + ".open-lock"), BUSY_TIMEOUT_MS / 1000):
        problem = database_problem(path)
        exists = path.exists() and path.stat().st_size > 0
        if exists and problem is None and not force:
            raise InputError(
                f"The projects database {path} is healthy; restoring a backup would replace it. To go back to "
                "a backup anyway, add --force (the current file is set aside, not deleted)."
            )
        chosen: Path | None = None
        if not new:
            if backup is not None:
                if backup_projects(backup) is None:
                    raise InputError(f"{backup} is not a healthy projects backup. Choose another one.")
                chosen = backup
            else:
                good = good_backups(path)
                if not good:
                    raise InputError(
                        f"There is no good backup in {backups_dir(path)}. To set the database aside and start "
                        "a new one, use --new."
                    )
                chosen = good[0]
        moved = set_aside_damaged(path) if path.exists() else None
        if chosen is not None:
            partial = path.with_name(path.name + ".restoring")
            source = sqlite3.connect(f"{chosen.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
            try:
                target = sqlite3.connect(partial)
                try:
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()
            partial.replace(path)
        return moved, chosen


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]]) -> int:
    """Bring the schema to len(migrations) in one transaction; returns the version found before."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read inside the write transaction: another process may have migrated while we waited.
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > len(migrations):
            raise ProjectError(
                f"The projects database was made by a newer LongWriter Desktop (schema {found}, this "
                f"version knows {len(migrations)}). Update LongWriter Desktop to open it."
            )
        for statements in migrations[found:]:
            for statement in statements:
                conn.execute(statement)
        if found < len(migrations):
            conn.execute(f"PRAGMA user_version = {len(migrations)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


_PROJECT_COLUMNS = """
    p.id, p.title, p.instruction, p.notes, p.target_words, p.mode, p.model, p.backend, p.settings,
    p.status, p.created_at, p.updated_at,
    (SELECT COALESCE(SUM(t.words), 0) FROM sections s JOIN takes t ON t.id = s.chosen_take_id
        WHERE s.project_id = p.id AND s.position IS NOT NULL),
    (SELECT COUNT(*) FROM sections s WHERE s.project_id = p.id AND s.position IS NOT NULL
        AND s.status = 'done'),
    (SELECT COUNT(*) FROM sections s WHERE s.project_id = p.id AND s.position IS NOT NULL)
"""

_SECTION_COLUMNS = """
    s.id, s.project_id, s.position, s.title, s.main_point, s.target_words, s.status, s.locked,
    s.chosen_take_id, COALESCE(c.words, 0), (SELECT COUNT(*) FROM takes k WHERE k.section_id = s.id)
"""

_TAKE_COLUMNS = """
    t.id, t.section_id, t.text, t.words, t.model, t.seed, t.stats, t.created_at, t.updated_at,
    t.finished_at, (s.chosen_take_id IS t.id)
"""


_SHARED: dict[Path, ProjectStore] = {}
_SHARED_LOCK = threading.Lock()


class ProjectStore:
    """Typed access to the projects database through one connection, safe to share between threads."""

    @classmethod
    def shared(cls, path: Path | None = None) -> ProjectStore:
        """The process's one store for this database: every window and worker thread uses it.

        Each call must be matched by one ``close``; the connection closes with the last.
        """
        path = (path or paths.projects_db()).absolute()
        with _SHARED_LOCK:
            store = _SHARED.get(path)
            if store is None:
                store = cls(path)
                _SHARED[path] = store
            else:
                store._users += 1
            return store

    def __init__(self, path: Path | None = None, *, daily_backup: bool = True) -> None:
        self.path = (path or paths.projects_db()).absolute()
        self._users = 1
        self._locks: dict[int, ProjectLock] = {}
        self._take_project: dict[int, int] = {}
        # One connection, shared by the threads of a process (the window's and its model worker's): every
        # use holds this lock, so SQLite sees one caller at a time.
        self._rules: dict[int, LengthRule] = {}  # how each project's text is counted, from its instruction
        self._mutex = threading.RLock()
        self._last_checkpoint = time.monotonic()
        with setup_lock(self.path.with_name(self.path.name + ".open-lock"), BUSY_TIMEOUT_MS / 1000):
            # Checked before this store's first connection, through SQLite only (see "POSIX locks").
            problem = database_problem(self.path)
            if problem is not None:
                raise DamagedDatabaseError(self.path, problem)
            try:
                self._conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise self._project_error(exc, "open the projects database") from exc
            try:
                with self._translate("open the projects database"):
                    mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":  # e.g. some network file systems: still safe, just slower
                        log.warning("projects database %s runs in %s journal mode, not WAL", self.path, mode)
                    self._conn.execute("PRAGMA synchronous = FULL")
                    self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                    self._conn.execute("PRAGMA foreign_keys = ON")
                    self._conn.execute(f"PRAGMA journal_size_limit = {32 * 1024 * 1024}")
                    found = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                    if 0 < found < SCHEMA_VERSION:
                        self.backup(reason="before-migration")
                    apply_migrations(self._conn, MIGRATIONS)
            except BaseException:
                self._conn.close()
                raise
        try:
            if daily_backup:
                self._backup_if_due()
        except BaseException:
            self._conn.close()
            raise

    # -- opening and closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Release every project lock and close the connection (a shared store: when its last user closes)."""
        with _SHARED_LOCK, self._mutex:
            self._users -= 1
            if self._users > 0:
                return
            if _SHARED.get(self.path) is self:
                del _SHARED[self.path]
            for lock in list(self._locks.values()):
                lock.release()
            self._locks.clear()
            self._conn.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions and errors --------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._project_error(exc, action) from exc

    def _project_error(self, exc: sqlite3.Error, action: str) -> ProjectError:
        kind = _error_kind(exc)
        if kind.startswith("SQLITE_FULL"):
            return ProjectError(
                f"Could not {action}: the disk is full. Free some space on the disk that holds "
                f"{self.path.parent}; everything saved before is intact."
            )
        if kind.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return ProjectError(damaged_message(self.path, str(exc)))
        if kind.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return ProjectError(
                f"Could not {action}: another LongWriter kept the projects database busy for more than "
                f"{BUSY_TIMEOUT_MS // 1000} seconds. Try again."
            )
        if kind.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
            return ProjectError(
                f"Could not {action}: the data folder {self.path.parent} cannot be written. Make it writable "
                f"(or set {paths.HOME_ENV} to a folder you can write), then try again."
            )
        if kind.startswith("SQLITE_IOERR"):
            return ProjectError(
                f"Could not {action}: the disk that holds {self.path.parent} reported an error. Check the disk "
                "(and that it has free space), then try again."
            )
        return ProjectError(f"Could not {action}: {exc}")

    @contextlib.contextmanager
    def _write(self, project_id: int | None, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; holds the project's lock for its length unless this store holds it."""
        with self._mutex:
            transient: ProjectLock | None = None
            if project_id is not None and project_id not in self._locks:
                transient = ProjectLock(self._lock_path(project_id), project_id)
                transient.acquire()
            try:
                with self._translate(action):
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self._conn
                        self._conn.execute("COMMIT")
                    except BaseException:
                        # SQLITE_FULL and I/O errors may already have rolled the transaction back.
                        if self._conn.in_transaction:
                            with contextlib.suppress(sqlite3.Error):
                                self._conn.execute("ROLLBACK")
                        raise
            finally:
                if transient is not None:
                    transient.release()
            self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        """Copy the WAL into the database file now and then (passive: never waits for readers)."""
        now = time.monotonic()
        if now - self._last_checkpoint < CHECKPOINT_EVERY_S:
            return
        self._last_checkpoint = now
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # a later checkpoint (or SQLite's own) catches up
            log.warning("WAL checkpoint skipped: %s", exc)

    def checkpoint(self) -> None:
        """Copy the whole WAL into the database file now (passive)."""
        with self._mutex:
            self._last_checkpoint = 0.0
            self._checkpoint_if_due()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._mutex, self._translate("read the projects database"):
            return self._conn.execute(sql, params).fetchall()

    # -- locks --------------------------------------------------------------------------------------

    def _lock_path(self, project_id: int) -> Path:
        return self.path.parent / "locks" / f"project-{project_id}.lock"

    def lock_project(self, project_id: int) -> None:
        """Hold the project for a run; ProjectError if another process (or job) holds it."""
        self.get_project(project_id)
        with self._mutex:
            if project_id in self._locks:
                raise ProjectError(
                    f"Project {project_id} is already being written by this LongWriter (in another window "
                    "or job). Wait for that run to finish or stop it, then try again."
                )
            lock = ProjectLock(self._lock_path(project_id), project_id)
            lock.acquire()
            self._locks[project_id] = lock

    def unlock_project(self, project_id: int) -> None:
        """Give the project back (idempotent)."""
        with self._mutex:
            lock = self._locks.pop(project_id, None)
            if lock is not None:
                lock.release()

    def is_being_written(self, project_id: int) -> bool:
        """True while some run (in any process) holds the project."""
        return project_id in self._locks or is_locked(self._lock_path(project_id))

    def writer_of(self, project_id: int) -> tuple[int, str, float] | None:
        """(pid, host, since) of the run writing the project, or None when no run holds it."""
        if not self.is_being_written(project_id):
            return None
        return read_holder(self._lock_path(project_id))

    # -- projects -----------------------------------------------------------------------------------

    def create_project(
        self,
        title: str,
        instruction: str,
        *,
        target_words: int,
        notes: str = "",
        mode: str = "agentwrite",
        model: str = "",
        backend: str = "",
        settings: dict[str, Any] | None = None,
    ) -> Project:
        """A new, empty project."""
        if target_words < 0:
            raise InputError("The target length cannot be negative.")
        now = time.time()
        with self._write(None, "create the project") as conn:
            cursor = conn.execute(
                "INSERT INTO projects (title, instruction, notes, target_words, mode, model, backend, "
                "settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (title.strip() or "Untitled", instruction, notes, target_words, mode, model, backend,
                 json.dumps(settings or {}), now, now),
            )
            project_id = int(cursor.lastrowid or 0)
        return self.get_project(project_id)

    def _project(self, row: Sequence[Any]) -> Project:
        status = row[9]
        if status == "writing" and not self.is_being_written(row[0]):
            status = "interrupted"  # its run died (crash, kill, power loss) without saying so
        return Project(
            id=row[0], title=row[1], instruction=row[2], notes=row[3], target_words=row[4], mode=row[5],
            model=row[6], backend=row[7], settings=json.loads(row[8] or "{}"), status=status,
            created=_when(row[10]), updated=_when(row[11]), words_written=int(row[12]),
            sections_done=int(row[13]), sections_total=int(row[14]),
        )

    def list_projects(self) -> list[Project]:
        """Every project, most recently changed first."""
        rows = self._read(f"SELECT {_PROJECT_COLUMNS} FROM projects p ORDER BY p.updated_at DESC, p.id DESC")
        return [self._project(row) for row in rows]

    def get_project(self, project_id: int) -> Project:
        """One project, or ProjectError when there is none with that id."""
        rows = self._read(f"SELECT {_PROJECT_COLUMNS} FROM projects p WHERE p.id = ?", (project_id,))
        if not rows:
            raise ProjectError(f"There is no project {project_id}.")
        return self._project(rows[0])

    def update_project(
        self,
        project_id: int,
        *,
        title: str | None = None,
        instruction: str | None = None,
        notes: str | None = None,
        target_words: int | None = None,
        mode: str | None = None,
        model: str | None = None,
        backend: str | None = None,
        settings: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> Project:
        """Change the given fields of a project."""
        if status is not None and status not in PROJECT_STATUSES:
            raise ValueError(f"unknown project status {status!r}")
        if target_words is not None and target_words < 0:
            raise InputError("The target length cannot be negative.")
        changes: dict[str, Any] = {
            "title": title, "instruction": instruction, "notes": notes, "target_words": target_words,
            "mode": mode, "model": model, "backend": backend, "status": status,
            "settings": None if settings is None else json.dumps(settings),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        self.get_project(project_id)
        self._rules.pop(project_id, None)
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._write(project_id, "save the project") as conn:
                conn.execute(
                    f"UPDATE projects SET {assignments}, updated_at = ? WHERE id = ?",
                    (*changes.values(), time.time(), project_id),
                )
        return self.get_project(project_id)

    def delete_project(self, project_id: int) -> None:
        """Delete a project with all its sections, takes and log (the daily backups keep a copy)."""
        self.get_project(project_id)
        with self._write(project_id, "delete the project") as conn:
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        self.unlock_project(project_id)
        with contextlib.suppress(OSError):
            self._lock_path(project_id).unlink()
        self._take_project = {k: v for k, v in self._take_project.items() if v != project_id}

    # -- the plan -----------------------------------------------------------------------------------

    @staticmethod
    def _section(row: Sequence[Any]) -> SectionRecord:
        return SectionRecord(
            id=row[0], project_id=row[1], position=row[2], title=row[3], main_point=row[4],
            target_words=row[5], status=row[6], locked=bool(row[7]), chosen_take_id=row[8],
            words=int(row[9]), takes=int(row[10]),
        )

    def sections(self, project_id: int, *, include_removed: bool = False) -> list[SectionRecord]:
        """The plan in order; with include_removed, then the sections later plans dropped (newest first)."""
        where = "" if include_removed else "AND s.position IS NOT NULL"
        rows = self._read(
            f"SELECT {_SECTION_COLUMNS} FROM sections s LEFT JOIN takes c ON c.id = s.chosen_take_id "
            f"WHERE s.project_id = ? {where} ORDER BY s.position IS NULL, s.position, s.id DESC",
            (project_id,),
        )
        return [self._section(row) for row in rows]

    def get_section(self, section_id: int) -> SectionRecord:
        rows = self._read(
            f"SELECT {_SECTION_COLUMNS} FROM sections s LEFT JOIN takes c ON c.id = s.chosen_take_id "
            "WHERE s.id = ?",
            (section_id,),
        )
        if not rows:
            raise ProjectError(f"There is no section {section_id}.")
        return self._section(rows[0])

    def section_at(self, project_id: int, index: int) -> SectionRecord:
        """The section at plan index ``index``."""
        rows = self._read(
            f"SELECT {_SECTION_COLUMNS} FROM sections s LEFT JOIN takes c ON c.id = s.chosen_take_id "
            "WHERE s.project_id = ? AND s.position = ?",
            (project_id, index),
        )
        if not rows:
            raise ProjectError(f"Project {project_id} has no section {index + 1} in its plan.")
        return self._section(rows[0])

    def update_plan(self, project_id: int, plan: Sequence[PlanSection]) -> list[SectionRecord]:
        """Replace the plan; sections that stay (matched by title) keep their takes and status.

        A locked section keeps its title, main point and target, and stays locked whatever the new plan
        says; a plan that leaves out a locked section is refused. A dropped section is not deleted: it
        leaves the plan with its takes, and comes back with them if a later plan has its title again.
        """
        for number, spec in enumerate(plan, start=1):
            if not spec.title.strip():
                raise InputError(f"Section {number} of the plan has no title.")
            if spec.target_words < 0:
                raise InputError(f"Section {number} of the plan has a negative target length.")
        self.get_project(project_id)
        with self._write(project_id, "save the plan") as conn:
            rows = conn.execute(
                "SELECT id, title, locked, position FROM sections WHERE project_id = ? "
                "ORDER BY position IS NULL, position, id DESC",
                (project_id,),
            ).fetchall()
            unmatched = list(rows)
            conn.execute("UPDATE sections SET position = NULL WHERE project_id = ?", (project_id,))
            for position, spec in enumerate(plan):
                key = _normal_title(spec.title)
                match = next((row for row in unmatched if _normal_title(row[1]) == key), None)
                if match is None:
                    conn.execute(
                        "INSERT INTO sections (project_id, position, title, main_point, target_words, "
                        "locked) VALUES (?, ?, ?, ?, ?, ?)",
                        (project_id, position, spec.title.strip(), spec.main_point, spec.target_words,
                         int(bool(spec.locked))),
                    )
                    continue
                unmatched.remove(match)
                if match[2]:  # locked: the stored plan entry wins
                    conn.execute("UPDATE sections SET position = ? WHERE id = ?", (position, match[0]))
                else:
                    conn.execute(
                        "UPDATE sections SET position = ?, title = ?, main_point = ?, target_words = ?, "
                        "locked = ? WHERE id = ?",
                        (position, spec.title.strip(), spec.main_point, spec.target_words,
                         int(bool(spec.locked)), match[0]),
                    )
            dropped_locked = [row[1] for row in unmatched if row[2] and row[3] is not None]
            if dropped_locked:
                names = ", ".join(f'"{title}"' for title in dropped_locked)
                raise InputError(f"The new plan leaves out locked sections ({names}). Unlock them first.")
            status = conn.execute("SELECT status FROM projects WHERE id = ?", (project_id,)).fetchone()[0]
            conn.execute(
                "UPDATE projects SET status = ?, updated_at = ? WHERE id = ?",
                ("planned" if status == "new" else status, time.time(), project_id),
            )
        return self.sections(project_id)

    def edit_section(
        self, section_id: int, *, title: str | None = None, main_point: str | None = None,
        target_words: int | None = None,
    ) -> SectionRecord:
        """Change one section's plan entry in place (its takes stay with it)."""
        section = self.get_section(section_id)
        if title is not None and not title.strip():
            raise InputError("A section needs a title.")
        if target_words is not None and target_words < 0:
            raise InputError("The target length cannot be negative.")
        with self._write(section.project_id, "save the section") as conn:
            conn.execute(
                "UPDATE sections SET title = ?, main_point = ?, target_words = ? WHERE id = ?",
                (section.title if title is None else title.strip(),
                 section.main_point if main_point is None else main_point,
                 section.target_words if target_words is None else target_words, section_id),
            )
            self._touch(conn, section.project_id)
        return self.get_section(section_id)

    def set_locked(self, section_id: int, locked: bool) -> None:
        """Lock a section's plan entry against re-planning, or unlock it."""
        section = self.get_section(section_id)
        with self._write(section.project_id, "save the section") as conn:
            conn.execute("UPDATE sections SET locked = ? WHERE id = ?", (int(locked), section_id))
            self._touch(conn, section.project_id)

    def set_section_status(self, section_id: int, status: str) -> None:
        if status not in SECTION_STATUSES:
            raise ValueError(f"unknown section status {status!r}")
        section = self.get_section(section_id)
        with self._write(section.project_id, "save the section") as conn:
            conn.execute("UPDATE sections SET status = ? WHERE id = ?", (status, section_id))
            self._touch(conn, section.project_id)

    @staticmethod
    def _touch(conn: sqlite3.Connection, project_id: int, status: str | None = None) -> None:
        if status is None:
            conn.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (time.time(), project_id))
        else:
            conn.execute(
                "UPDATE projects SET status = ?, updated_at = ? WHERE id = ?",
                (status, time.time(), project_id),
            )

    # -- takes --------------------------------------------------------------------------------------

    @staticmethod
    def _take(row: Sequence[Any]) -> Take:
        return Take(
            id=row[0], section_id=row[1], text=row[2], words=row[3], model=row[4], seed=row[5],
            stats=json.loads(row[6] or "{}"), created=_when(row[7]), updated=_when(row[8]),
            finished=None if row[9] is None else _when(row[9]), chosen=bool(row[10]),
        )

    def takes(self, section_id: int) -> list[Take]:
        """Every take of a section, oldest first."""
        rows = self._read(
            f"SELECT {_TAKE_COLUMNS} FROM takes t JOIN sections s ON s.id = t.section_id "
            "WHERE t.section_id = ? ORDER BY t.id",
            (section_id,),
        )
        return [self._take(row) for row in rows]

    def get_take(self, take_id: int) -> Take:
        rows = self._read(
            f"SELECT {_TAKE_COLUMNS} FROM takes t JOIN sections s ON s.id = t.section_id WHERE t.id = ?",
            (take_id,),
        )
        if not rows:
            raise ProjectError(f"There is no take {take_id}.")
        return self._take(rows[0])

    def _project_of_take(self, take_id: int) -> int:
        project_id = self._take_project.get(take_id)
        if project_id is None:
            rows = self._read(
                "SELECT s.project_id FROM takes t JOIN sections s ON s.id = t.section_id WHERE t.id = ?",
                (take_id,),
            )
            if not rows:
                raise ProjectError(f"There is no take {take_id}.")
            project_id = int(rows[0][0])
            self._take_project[take_id] = project_id
        return project_id

    def start_take(self, section_id: int, *, model: str = "", seed: int | None = None) -> Take:
        """A new, empty take of a section; the section is now being written."""
        section = self.get_section(section_id)
        now = time.time()
        with self._write(section.project_id, "start the section") as conn:
            cursor = conn.execute(
                "INSERT INTO takes (section_id, model, seed, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (section_id, model, seed, now, now),
            )
            take_id = int(cursor.lastrowid or 0)
            # The first take is chosen at once so a half-written document already shows it.
            conn.execute(
                "UPDATE sections SET status = 'writing', chosen_take_id = COALESCE(chosen_take_id, ?) "
                "WHERE id = ?",
                (take_id, section_id),
            )
            self._touch(conn, section.project_id, "writing")
        self._take_project[take_id] = section.project_id
        return self.get_take(take_id)

    def _rule(self, conn: sqlite3.Connection, project_id: int) -> LengthRule:
        """How the project's text is counted (words, or characters for Chinese and Japanese)."""
        if project_id not in self._rules:
            row = conn.execute("SELECT instruction FROM projects WHERE id = ?", (project_id,)).fetchone()
            self._rules[project_id] = rule_for(row[0] if row else "")
        return self._rules[project_id]

    def _set_words(self, conn: sqlite3.Connection, take_id: int, rows: list[Any], project_id: int) -> int:
        if not rows:
            raise ProjectError(f"Take {take_id} is finished or does not exist; its text cannot change.")
        words = self._rule(conn, project_id).count(rows[0][0])
        conn.execute("UPDATE takes SET words = ? WHERE id = ?", (words, take_id))
        return words

    def continue_take(self, take_id: int) -> Take:
        """Mark the section of an unfinished take as being written again (a resumed run)."""
        take = self.get_take(take_id)
        if take.finished is not None:
            raise ProjectError(f"Take {take_id} is finished; start a new take instead.")
        project_id = self._project_of_take(take_id)
        with self._write(project_id, "resume the section") as conn:
            conn.execute("UPDATE sections SET status = 'writing' WHERE id = ?", (take.section_id,))
            self._touch(conn, project_id, "writing")
        return take

    def append_text(self, take_id: int, text: str, *, drop_chars: int = 0) -> int:
        """Drop the last ``drop_chars`` characters of an unfinished take, append, commit; returns words."""
        project_id = self._project_of_take(take_id)
        with self._write(project_id, "save the text") as conn:
            rows = conn.execute(
                "UPDATE takes SET text = substr(text, 1, max(length(text) - ?, 0)) || ?, updated_at = ? "
                "WHERE id = ? AND finished_at IS NULL RETURNING text",
                (max(drop_chars, 0), text, time.time(), take_id),
            ).fetchall()
            words = self._set_words(conn, take_id, rows, project_id)
            self._touch(conn, project_id)
        return words

    def retract_text(self, take_id: int, chars: int) -> int:
        """Remove the last ``chars`` characters of an unfinished take; returns its word count."""
        return self.append_text(take_id, "", drop_chars=chars)

    def finish_take(
        self, take_id: int, *, text: str | None = None, stats: dict[str, Any] | None = None,
        choose: bool = True,
    ) -> Take:
        """Close a take (optionally with its final text and stats); the section is done."""
        project_id = self._project_of_take(take_id)
        take = self.get_take(take_id)
        if take.finished is not None:
            raise ProjectError(f"Take {take_id} is already finished.")
        final = take.text if text is None else text
        now = time.time()
        with self._write(project_id, "save the finished section") as conn:
            conn.execute(
                "UPDATE takes SET text = ?, words = ?, stats = ?, updated_at = ?, finished_at = ? "
                "WHERE id = ?",
                (final, self._rule(conn, project_id).count(final), json.dumps({**take.stats, **(stats or {})}), now,
                 now, take_id),
            )
            chosen = "chosen_take_id = ?," if choose else ""
            params = (take_id, take.section_id) if choose else (take.section_id,)
            conn.execute(f"UPDATE sections SET {chosen} status = 'done' WHERE id = ?", params)
            self._touch(conn, project_id)
        return self.get_take(take_id)

    def choose_take(self, take_id: int) -> None:
        """Make this take the one the document uses for its section."""
        take = self.get_take(take_id)
        project_id = self._project_of_take(take_id)
        with self._write(project_id, "choose the take") as conn:
            conn.execute("UPDATE sections SET chosen_take_id = ? WHERE id = ?", (take_id, take.section_id))
            self._touch(conn, project_id)

    def mark_interrupted(self, project_id: int) -> int:
        """Sections left 'writing' become 'interrupted' (and the project too); returns how many."""
        self.get_project(project_id)
        with self._write(project_id, "save the project") as conn:
            changed = conn.execute(
                "UPDATE sections SET status = 'interrupted' WHERE project_id = ? AND status = 'writing'",
                (project_id,),
            ).rowcount
            conn.execute(
                "UPDATE projects SET status = 'interrupted' WHERE id = ? AND status = 'writing'",
                (project_id,),
            )
        return int(changed)

    # -- the document -------------------------------------------------------------------------------

    def document_sections(self, project_id: int) -> list[tuple[SectionRecord, str]]:
        """Each section of the plan with the text of its chosen take ("" when it has none)."""
        rows = self._read(
            f"SELECT {_SECTION_COLUMNS}, COALESCE(c.text, '') FROM sections s "
            "LEFT JOIN takes c ON c.id = s.chosen_take_id "
            "WHERE s.project_id = ? AND s.position IS NOT NULL ORDER BY s.position",
            (project_id,),
        )
        return [(self._section(row), row[11]) for row in rows]

    def document_text(self, project_id: int) -> str:
        """The chosen takes in plan order, separated by blank lines."""
        self.get_project(project_id)
        texts = (text.strip() for _, text in self.document_sections(project_id))
        return "\n\n".join(text for text in texts if text)

    def resume_state(self, project_id: int) -> ProjectProgress:
        """The plan, the finished sections' texts and the interrupted section's partial text."""
        project = self.get_project(project_id)
        sections = tuple(self.sections(project_id))
        finished: dict[int, str] = {}
        interrupted_index: int | None = None
        partial = ""
        for index, section in enumerate(sections):
            if section.status == "done" and section.chosen_take_id is not None:
                finished[index] = self.get_take(section.chosen_take_id).text
            elif section.status in ("writing", "interrupted") and interrupted_index is None:
                # "writing" with nobody holding the project means its run died without a word.
                interrupted_index = index
                unfinished = [take for take in self.takes(section.id) if take.finished is None]
                partial = unfinished[-1].text if unfinished else ""
        next_index = next((i for i in range(len(sections)) if i not in finished), None)
        return ProjectProgress(
            project=project, sections=sections, finished=finished, interrupted_index=interrupted_index,
            partial_text=partial, next_index=next_index,
        )

    # -- the run log --------------------------------------------------------------------------------

    def log(self, project_id: int, kind: str, message: str = "", data: Any = None) -> None:
        """Add a line to the project's run log."""
        with self._write(project_id, "write the run log") as conn:
            conn.execute(
                "INSERT INTO run_log (project_id, at, kind, message, data) VALUES (?, ?, ?, ?, ?)",
                (project_id, time.time(), kind, message,
                 None if data is None else json.dumps(data, default=str)),
            )

    def run_log(self, project_id: int, limit: int | None = None) -> list[LogEntry]:
        """The run log, oldest first; with ``limit``, only the newest entries."""
        rows = self._read(
            "SELECT id, project_id, at, kind, message, data FROM run_log WHERE project_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (project_id, -1 if limit is None else limit),
        )
        return [
            LogEntry(id=r[0], project_id=r[1], at=_when(r[2]), kind=r[3], message=r[4],
                     data=None if r[5] is None else json.loads(r[5]))
            for r in reversed(rows)
        ]

    # -- backups ------------------------------------------------------------------------------------

    def backups(self) -> list[Path]:
        """Backup copies of the database, oldest first."""
        return _backup_files(self.path)

    def backup(self, *, reason: str = "", keep: int = BACKUPS_KEPT) -> Path:
        """Copy the whole database (consistently, while others may write) into backups/."""
        folder = backups_dir(self.path)
        suffix = f"-{reason}" if reason else ""
        target = folder / f"projects-{time.strftime('%Y%m%d-%H%M%S')}{suffix}.sqlite3"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            copy = sqlite3.connect(partial)
            try:
                with self._mutex, self._translate("back up the projects database"):
                    self._conn.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            finally:
                copy.close()
            partial.replace(target)
        except (OSError, sqlite3.Error) as exc:
            detail = getattr(exc, "strerror", None) or str(exc)
            raise ProjectError(f"Could not back up the projects database to {folder}: {detail}") from exc
        self._rotate_backups(keep)
        return target

    def _rotate_backups(self, keep: int) -> None:
        """Keep the ``keep`` newest backups, and never the last good one of a database that held more.

        A backup of a database that lost its projects (emptied, replaced) is still a healthy file; rotating
        by age alone would delete the last copy that has them within ``keep`` days.
        """
        backups = self.backups()
        if keep <= 0 or len(backups) <= keep:
            return
        kept, old = backups[-keep:], backups[:-keep]
        most_kept = max((backup_projects(b) or 0 for b in kept), default=0)
        spare: Path | None = None
        for candidate in reversed(old):
            count = backup_projects(candidate)
            if count is not None and count > most_kept:
                spare = candidate  # the newest backup holding projects the kept ones lack
                break
        for path in old:
            if path != spare:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        path.with_name(path.name + suffix).unlink()

    def _backup_if_due(self) -> None:
        backups = self.backups()
        if backups and time.time() - backups[-1].stat().st_mtime < BACKUP_EVERY_S:
            return
        if not self._read("SELECT 1 FROM projects LIMIT 1"):
            return  # nothing worth keeping yet
        try:
            self.backup()
        except ProjectError as exc:  # a full disk must not stop the app from opening
            log.warning("daily backup skipped: %s", exc)
