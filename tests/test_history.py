"""The SQLite history: what it keeps, in what order, and that a killed kernel loses nothing finished."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest

from nbagents import Agent, ScriptedEngine
from nbagents.history import HistoryStore, default_history_path
from nbagents.redaction import register_secret
from nbagents.runs import ErrorInfo, Run


def make_run(task: str = "t", **changes) -> Run:
    return Run(task=task, code="result = 1", prompt=f"Task: {task}", stop=("\nTask:",), **changes)


def test_default_path_env_and_user_data_dir(monkeypatch, tmp_path):
    assert default_history_path() == tmp_path / "history.sqlite"  # set by conftest
    assert HistoryStore().path == tmp_path / "history.sqlite"
    monkeypatch.delenv("NBAGENTS_HISTORY_DB")
    import platformdirs

    assert default_history_path() == Path(platformdirs.user_data_dir("nbagents")) / "history.sqlite"


def test_add_get_list_len(tmp_path):
    store = HistoryStore(tmp_path / "sub" / "h.sqlite")
    assert len(store) == 0 and store.list() == []
    a = make_run("first", created=1000.0)
    b = make_run("second", created=2000.0, error=ErrorInfo("ParseError", "parse", "no code", "rephrase"))
    c = make_run("third", created=3000.0, parent=a.id, kind="execute")
    for r in (a, b, c):
        store.add(r)
    assert len(store) == 3
    assert [r.task for r in store.list()] == ["third", "second", "first"]
    assert [r.task for r in store.list(1, 1)] == ["second"]
    got = store.get(b.id)
    assert got.id == b.id and got.error == b.error and got.stop == ("\nTask:",) and not got.ok
    assert got.to_dict() == b.to_dict()
    assert store.get(c.id[:10]).id == c.id  # an id prefix is enough
    assert store.get("0" * 32) is None
    assert store.children(a.id) == [c.id]
    rows = store.rows()
    assert rows[0] == {"id": c.id, "created": 3000.0, "kind": "execute", "task": "third", "ok": 1,
                       "engine": "", "parent": a.id}
    assert rows[1]["ok"] == 0


def test_ambiguous_prefix(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.add(make_run(id="abc1" + "0" * 28))
    store.add(make_run(id="abc2" + "0" * 28))
    with pytest.raises(KeyError, match="more than one"):
        store.get("abc")
    assert store.get("abc2").id.startswith("abc2")


def test_adjacent_runs(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    runs = [make_run(str(i), created=100.0 + i) for i in range(3)]
    same_time = make_run("same", created=102.0)
    for r in (*runs, same_time):
        store.add(r)
    assert store.adjacent(runs[1].id, newer=False) == runs[0].id
    assert store.adjacent(runs[1].id, newer=True) == runs[2].id
    assert store.adjacent(runs[2].id, newer=True) == same_time.id  # ties: insertion order
    assert store.adjacent(same_time.id, newer=True) is None
    assert store.adjacent(runs[0].id, newer=False) is None
    assert store.adjacent("missing", newer=True) is None


def test_durable_settings_and_reopen(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path)
    run = make_run("kept")
    store.add(run)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(runs)")}
    assert {"runs_created", "runs_parent"} <= indexes
    data = json.loads(conn.execute("SELECT data FROM runs").fetchone()[0])
    assert data == json.loads(run.to_json())
    conn.close()
    assert HistoryStore(path).get(run.id).task == "kept"  # another process/kernel sees it
    store.close()
    assert len(store) == 1  # reopens on use


def test_secrets_are_not_stored(tmp_path):
    secret = "hf_" + "a" * 30
    register_secret(secret)
    store = HistoryStore(tmp_path / "h.sqlite")
    store.add(make_run(f"use {secret}"))
    raw = (tmp_path / "h.sqlite").read_bytes() + (tmp_path / "h.sqlite-wal").read_bytes()
    assert secret.encode() not in raw
    assert store.list()[0].task == "use [REDACTED]"


def test_the_agent_stores_every_run_including_edited_code(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    engine = ScriptedEngine(["Adding.\n```py\nresult = 1 + 1\n```", "no code at all"])
    agent = Agent(engine=engine, store=store, repair=False)
    first = agent.perform("Add.")
    agent.perform("Fail.")
    edited = agent.execute("result = 3", parent=first.id, task=first.task)
    rows = store.rows()
    assert [r["kind"] for r in rows] == ["execute", "run", "run"]
    assert [r["ok"] for r in rows] == [1, 0, 1]
    assert rows[0]["parent"] == first.id and rows[0]["id"] == edited.id
    assert store.get(first.id).result == "2"  # the result's summary
    store.clear()
    assert len(store) == 0


@pytest.mark.slow
def test_a_killed_kernel_loses_no_finished_run(tmp_path):
    """Two runs finish, a third hangs in the model; SIGKILL the kernel; the two are in the file."""
    from jupyter_client.manager import KernelManager

    db = tmp_path / "killed.sqlite"
    code = textwrap.dedent(f"""
        import time, sys
        from nbagents import Agent, ScriptedEngine
        from nbagents.history import HistoryStore

        def hang(prompt):
            print("HANGING", flush=True)
            time.sleep(600)

        engine = ScriptedEngine(["One.\\n```py\\nresult = 1\\n```", "Two.\\n```py\\nresult = 2\\n```", hang])
        agent = Agent(engine=engine, store=HistoryStore({str(db)!r}))
        agent.perform("first")
        agent.perform("second")
        agent.perform("third, never finished")
    """)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "NBAGENTS_HISTORY_DB": str(db)})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute(code)
        deadline = time.monotonic() + 60
        seen = ""
        while "HANGING" not in seen:
            assert time.monotonic() < deadline, f"the kernel never reached the third run: {seen!r}"
            msg = kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream":
                seen += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
        pid = km.provisioner.process.pid
        os.kill(pid, signal.SIGKILL)
        km.provisioner.process.wait(timeout=10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        km.cleanup_resources()

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT task, ok, data FROM runs ORDER BY created").fetchall()
    conn.close()
    assert [(t, ok) for t, ok, _ in rows] == [("first", 1), ("second", 1)]
    assert [json.loads(d)["result"]["summary"] for _, _, d in rows] == ["1", "2"]


def test_an_unusable_path_is_a_clear_error(tmp_path):
    from nbagents.errors import ConfigurationError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = HistoryStore(blocker / "h.sqlite")
    with pytest.raises(ConfigurationError, match="Cannot open the run history"):
        len(store)
