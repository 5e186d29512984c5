"""Run history that lasts: every finished Run in a local SQLite database.

The database lives in the user data directory (``platformdirs.user_data_dir("nbagents")``), or
wherever ``$NBAGENTS_HISTORY_DB`` points. Each Run is one row holding its redacted JSON
(:meth:`Run.to_dict`) plus indexed columns. The database is in WAL mode and each run is committed
on its own with ``synchronous=FULL``, so a kernel that is killed loses nothing already finished.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .runs import Run

__all__ = ["HistoryStore", "default_history_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id      TEXT PRIMARY KEY,
    created REAL NOT NULL,
    kind    TEXT NOT NULL,
    task    TEXT NOT NULL,
    ok      INTEGER NOT NULL,
    engine  TEXT NOT NULL,
    parent  TEXT,
    data    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent);
"""


def default_history_path() -> Path:
    """``$NBAGENTS_HISTORY_DB``, else ``<user data dir>/nbagents/history.sqlite``."""
    env = os.environ.get("NBAGENTS_HISTORY_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nbagents")) / "history.sqlite"


class HistoryStore:
    """A SQLite history of Runs.

    Parameters
    ----------
    path:
        The database file; ``None`` is :func:`default_history_path`. The folder is created, and
        the file is opened on first use.

    Examples
    --------
    >>> store = HistoryStore(tmp_path / "history.sqlite")   # doctest: +SKIP
    >>> agent = Agent(store=store)                           # doctest: +SKIP
    >>> store.list(5)                                        # the five newest runs
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_history_path()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # --- connection -----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False,
                                       isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
            except (OSError, sqlite3.Error) as e:
                raise ConfigurationError(
                    f"Cannot open the run history at {str(self.path)!r}: {e}.",
                    hint="Point %config AgentMagics.history_path (or $NBAGENTS_HISTORY_DB) at a "
                         "writable file.",
                ) from e
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    # --- writing --------------------------------------------------------------------------------

    def add(self, run: Run) -> None:
        """Store ``run`` (replacing a row with the same id), committed at once."""
        data = run.to_dict()
        row = (
            run.id,
            float(run.created or time.time()),
            run.kind,
            data.get("task") or "",
            int(run.ok),
            data.get("engine") or "",
            run.parent,
            json.dumps(data, default=str),
        )
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO runs (id, created, kind, task, ok, engine, parent, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def clear(self) -> None:
        """Delete every stored run."""
        with self._lock:
            self._connect().execute("DELETE FROM runs")

    # --- reading --------------------------------------------------------------------------------

    @staticmethod
    def _load(data: str) -> Run:
        return Run.from_dict(json.loads(data))

    def get(self, run_id: str) -> Run | None:
        """The run with this id, or with this unique id prefix (``None`` if there is none)."""
        rows = self._query("SELECT data FROM runs WHERE id = ?", (run_id,))
        if not rows and run_id and all(c in "0123456789abcdef" for c in run_id.lower()):
            rows = self._query("SELECT data FROM runs WHERE id LIKE ? LIMIT 2", (run_id.lower() + "%",))
            if len(rows) > 1:
                raise KeyError(f"The id prefix {run_id!r} matches more than one run; give more of it.")
        return self._load(rows[0][0]) if rows else None

    def list(self, limit: int = 20, offset: int = 0) -> list[Run]:
        """Runs, newest first."""
        rows = self._query(
            "SELECT data FROM runs ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?",
            (int(limit), int(offset)),
        )
        return [self._load(r[0]) for r in rows]

    def rows(self, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """The indexed columns of the newest runs (cheap: no JSON decoding)."""
        rows = self._query(
            "SELECT id, created, kind, task, ok, engine, parent FROM runs"
            " ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?",
            (int(limit), int(offset)),
        )
        keys = ("id", "created", "kind", "task", "ok", "engine", "parent")
        return [dict(zip(keys, r)) for r in rows]

    def adjacent(self, run_id: str, *, newer: bool) -> str | None:
        """The id of the run just before (``newer=False``) or after this one, or ``None``."""
        rows = self._query("SELECT created, rowid FROM runs WHERE id = ?", (run_id,))
        if not rows:
            return None
        created, rowid = rows[0]
        if newer:
            sql = ("SELECT id FROM runs WHERE created > ? OR (created = ? AND rowid > ?)"
                   " ORDER BY created ASC, rowid ASC LIMIT 1")
        else:
            sql = ("SELECT id FROM runs WHERE created < ? OR (created = ? AND rowid < ?)"
                   " ORDER BY created DESC, rowid DESC LIMIT 1")
        found = self._query(sql, (created, created, rowid))
        return found[0][0] if found else None

    def children(self, run_id: str) -> list[str]:
        """Ids of the runs made from this one's edited code, oldest first."""
        return [r[0] for r in self._query(
            "SELECT id FROM runs WHERE parent = ? ORDER BY created ASC", (run_id,))]

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM runs")[0][0])

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"
