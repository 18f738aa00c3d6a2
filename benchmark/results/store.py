"""The SQLite results store.

One file per study (default ``reports/results.sqlite``), opened in WAL mode so reports can read while a run writes.
Tables: ``meta`` (``schema_version``), ``runs`` (one per run: its configuration, the suite's version and git commit),
``machines`` (hardware descriptions, keyed by a hash), ``cases`` (the objects present in each case a run read,
so a rerun knows what is finished without reading the case again) and ``results``
(:class:`~benchmark.results.rows.ResultRow`, keyed by run, model, setting, dataset, case and object).

Each row is written in its own transaction, so a killed run keeps every row it finished. One process writes a run
at a time: :meth:`ResultStore.start_run` takes an exclusive lock on the run (an ``flock`` the operating system
releases when the process dies, so a killed run never leaves a stale lock), and a second process opening the same
run gets a clear error. A store of another schema version is migrated when a migration exists, else refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmark.errors import BenchmarkError
from benchmark.results.rows import KEY_COLUMNS, ROW_COLUMNS, ResultRow, RowKey, RowStatus, column_types

__all__ = ["SCHEMA_VERSION", "DEFAULT_STORE", "MIGRATIONS", "StoreError", "RunRecord", "RunLock", "ResultStore"]

#: Version of the store's tables; bump it and add a migration when columns change.
SCHEMA_VERSION = 1
#: The store a study uses unless told otherwise.
DEFAULT_STORE = Path("reports") / "results.sqlite"
#: Migrations from version N to N + 1 (asv's ``update_to_2`` discipline); none yet.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


class StoreError(BenchmarkError):
    """A results store cannot be opened or written (corrupt, another schema, a run locked by another process)."""


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run: its name, configuration (JSON) and the code that ran it.

    Attributes:
        run_id: The run's name.
        config: The run configuration as JSON; a rerun with another configuration under the same name is refused.
        created_utc: When the run was first started (ISO 8601).
        suite_version: The ``propsam-bench`` package version.
        git_commit: The suite checkout's commit ("" outside a git checkout).
        git_dirty: The checkout had uncommitted changes.
        seed: The run seed.
    """

    run_id: str
    config: str
    created_utc: str
    suite_version: str
    git_commit: str
    git_dirty: bool
    seed: int


class RunLock:
    """The exclusive lock of one run of one store, held until :meth:`release`, until this object is garbage
    collected (keep a reference while writing), or until the process ends."""

    def __init__(self, path: Path, handle: TextIO) -> None:
        self.path = path
        self._handle: TextIO | None = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _ddl() -> list[str]:
    types = column_types()
    columns = ", ".join(f"{name} {types[name]}" for name in ROW_COLUMNS)
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, config TEXT NOT NULL, created_utc TEXT NOT NULL, "
        "suite_version TEXT NOT NULL, git_commit TEXT NOT NULL, git_dirty INTEGER NOT NULL, seed INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS machines (machine_id TEXT PRIMARY KEY, info TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cases (run_id TEXT NOT NULL, dataset_id TEXT NOT NULL, case_id TEXT NOT NULL, "
        "objects TEXT NOT NULL, PRIMARY KEY (run_id, dataset_id, case_id))",
        f"CREATE TABLE IF NOT EXISTS results ({columns}, PRIMARY KEY ({', '.join(KEY_COLUMNS)}))",
    ]


class ResultStore:
    """An open results store (see the module docstring). Use :meth:`open`; close it, or use it as a context."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # -- opening ------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> ResultStore:
        """Open (and with ``create``, make) the store at ``path``.

        Raises:
            StoreError: The file is missing (``create=False``), not an SQLite database, not a results store, or of
                a schema version this suite cannot read.
        """
        path = Path(path)
        if not path.exists() and not create:
            raise StoreError(f"results store {path} does not exist; run 'propbench run --store {path}' first")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=30.0)
            connection.execute("PRAGMA journal_mode=WAL")
            store = cls(path, connection)
            store._prepare(created=not store._has_table("meta"))
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path} is not a results store: SQLite says {err!r}; expected a file written by "
                             f"'propbench run' (or a new path)") from err
        return store

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.execute(query, (name,)).fetchone() is not None

    def _prepare(self, *, created: bool) -> None:
        if created:
            tables = [r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                raise StoreError(f"{self.path} is an SQLite database with tables {tables} but no 'meta' table; "
                                 f"expected a results store written by 'propbench run'")
            with self._db:
                for statement in _ddl():
                    self._db.execute(statement)
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        version = self.schema_version
        while version < SCHEMA_VERSION and version in MIGRATIONS:
            with self._db:
                MIGRATIONS[version](self._db)
                version += 1
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has results schema version {version}; this suite reads version "
                             f"{SCHEMA_VERSION} and has no migration from {version}: use the suite version that "
                             f"wrote it, or start a new store")

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: the 'meta' table has no schema_version; expected a results store")
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------------------------------------
    def start_run(self, run: RunRecord, *, config_differs: Callable[[str, str], list[str]] | None = None) -> RunLock:
        """Lock ``run`` for this process and record it (an existing run of the same configuration resumes).

        Args:
            run: The run.
            config_differs: Names the configuration keys that differ between the stored and the new configuration
                (default: any textual difference is one difference).

        Raises:
            StoreError: Another process is writing this run, or the stored run has another configuration.
        """
        lock = self._lock(run.run_id)
        try:
            stored = self.run(run.run_id)
            if stored is None:
                with self._db:
                    self._db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     (run.run_id, run.config, run.created_utc, run.suite_version, run.git_commit,
                                      int(run.git_dirty), run.seed))
            else:
                differs = (config_differs or _text_differs)(stored.config, run.config)
                if differs:
                    raise StoreError(f"run {run.run_id!r} in {self.path} was made with another configuration "
                                     f"(differs in: {', '.join(differs)}); name a new run (--run) or use another "
                                     f"store (--store)")
        except BaseException:
            lock.release()
            raise
        return lock

    def _lock(self, run_id: str) -> RunLock:
        folder = self.path.with_name(self.path.name + ".locks")
        folder.mkdir(exist_ok=True)
        path = folder / (hashlib.blake2b(run_id.encode(), digest_size=8).hexdigest() + ".lock")
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed by RunLock.release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StoreError(f"run {run_id!r} of {self.path} is being written by another process ({holder}); "
                             f"wait for it to finish, or name another run (--run)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        handle.flush()
        return RunLock(path, handle)

    def run(self, run_id: str) -> RunRecord | None:
        row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else _run_record(row)

    def update_run_config(self, run_id: str, config: str) -> None:
        """Replace a run's stored configuration (a resumed run that added models or datasets)."""
        with self._db:
            self._db.execute("UPDATE runs SET config = ? WHERE run_id = ?", (config, run_id))

    def runs(self) -> tuple[RunRecord, ...]:
        return tuple(_run_record(r) for r in self._db.execute("SELECT * FROM runs ORDER BY created_utc, run_id"))

    # -- machines and rows ------------------------------------------------------------------------------------------
    def add_machine(self, machine_id: str, info: dict[str, Any]) -> None:
        """Record a machine description once (rows refer to it by ``machine_id``)."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO machines VALUES (?, ?)", (machine_id, json.dumps(info)))

    def machines(self) -> dict[str, dict[str, Any]]:
        return {mid: json.loads(info) for mid, info in self._db.execute("SELECT machine_id, info FROM machines")}

    def record_case(self, run_id: str, dataset_id: str, case_id: str, objects: list[str]) -> None:
        """Record the objects present in a case a run has read."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?)",
                             (run_id, dataset_id, case_id, json.dumps(sorted(objects))))

    def case_objects(self, run_id: str) -> dict[tuple[str, str], tuple[str, ...]]:
        """(dataset, case) to the objects recorded for it in ``run_id``."""
        query = "SELECT dataset_id, case_id, objects FROM cases WHERE run_id = ?"
        return {(d, c): tuple(json.loads(o)) for d, c, o in self._db.execute(query, (run_id,))}

    def write(self, row: ResultRow) -> None:
        """Write one row in its own transaction (a row of the same key is replaced: a retried failure)."""
        values = asdict(row)
        marks = ", ".join("?" for _ in ROW_COLUMNS)
        with self._db:
            self._db.execute(f"INSERT OR REPLACE INTO results ({', '.join(ROW_COLUMNS)}) VALUES ({marks})",
                             [values[c] for c in ROW_COLUMNS])

    def done_keys(self, run_id: str, *, retry_failed: bool = False) -> set[RowKey]:
        """Keys of rows a rerun skips: finished and skipped rows, and failed ones unless ``retry_failed``."""
        statuses = [RowStatus.OK.value, RowStatus.SKIPPED.value] + ([] if retry_failed else [RowStatus.FAILED.value])
        query = (f"SELECT {', '.join(KEY_COLUMNS)} FROM results WHERE run_id = ? "
                 f"AND status IN ({', '.join('?' for _ in statuses)})")
        return {RowKey(*r) for r in self._db.execute(query, (run_id, *statuses))}

    def rows(self, run_id: str | None = None) -> Iterator[ResultRow]:
        """Every row (of one run, or of all runs), in key order."""
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        query = f"SELECT {', '.join(ROW_COLUMNS)} FROM results {where} ORDER BY {', '.join(KEY_COLUMNS)}"
        for values in self._db.execute(query, params):
            yield ResultRow(**dict(zip(ROW_COLUMNS, values, strict=True)))

    def columns(self, names: Sequence[str], run_id: str | None = None) -> dict[str, list[Any]]:
        """Some columns of every row (of one run, or of all runs), in key order: one list of values per column.

        A reader of many rows that needs few of their columns (the reports) reads them without building a
        :class:`ResultRow` per row.

        Raises:
            StoreError: A name is not a column of the results table.
        """
        unknown = [n for n in names if n not in ROW_COLUMNS]
        if unknown:
            raise StoreError(f"unknown result column(s) {unknown}; expected names among {list(ROW_COLUMNS)}")
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        query = f"SELECT {', '.join(names)} FROM results {where} ORDER BY {', '.join(KEY_COLUMNS)}"
        values = self._db.execute(query, params).fetchall()
        return {name: [row[i] for row in values] for i, name in enumerate(names)}

    def counts(self, run_id: str) -> dict[str, int]:
        """Rows of a run by status."""
        query = "SELECT status, COUNT(*) FROM results WHERE run_id = ? GROUP BY status"
        return {status: int(n) for status, n in self._db.execute(query, (run_id,))}


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    run_id, config, created, version, commit, dirty, seed = row
    return RunRecord(run_id=run_id, config=config, created_utc=created, suite_version=version, git_commit=commit,
                     git_dirty=bool(dirty), seed=int(seed))


def _text_differs(stored: str, new: str) -> list[str]:
    return [] if stored == new else ["configuration"]
