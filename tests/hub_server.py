"""A loopback Hugging Face Hub for the download tests: :class:`HubServer`.

It serves, on ``127.0.0.1`` only, model repos made of real files (the tiny random checkpoints of
``tests/tiny_tool_models.py``) in the Hub's URL layout, with the headers ``huggingface_hub`` reads:

* ``GET /api/models/{repo}/revision/{rev}`` (and ``/api/models/{repo}``): the repo's info, its
  commit ``sha`` and ``siblings``; an unknown repo is a 404 with ``X-Error-Code: RepoNotFound``, an
  unknown revision one with ``RevisionNotFound``.
* ``GET /api/models/{repo}/tree/{rev}?recursive=true``: every file with its ``size`` and ``oid``
  (weights files as LFS files: ``lfs.oid`` is their sha256).
* ``HEAD`` / ``GET /{repo}/resolve/{rev}/{file}``: the file, with ``ETag`` (``X-Linked-Etag`` and
  ``X-Linked-Size`` for LFS files), ``X-Repo-Commit`` and ``Content-Length``; ``Range: bytes=N-`` is
  honoured (206). HTTP/1.1 keep-alive, like the Hub.

Faults, per file: :meth:`HubServer.cut` sends only the first bytes of a file and drops the
connection, then answers 500 to every later request for it (a server that dies halfway);
:meth:`HubServer.fail` answers an error status; :meth:`HubServer.claim_size` makes the listing and the
headers announce another size (a file larger than any disk); :meth:`HubServer.before_body` runs a
function just before a file's bytes are sent (a test fills the disk there). Every request is
recorded in :attr:`HubServer.requests` as ``(method, path)``.

Point ``huggingface_hub`` at it for one test with :func:`point_hub_at` (it says which settings
``huggingface_hub`` reads at import and which at call time).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["HubServer", "HubRepo", "LFS_SUFFIXES", "point_hub_at", "go_offline"]

#: Files served as LFS files, as the Hub does for weights.
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf")


def _git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubRepo:
    """One repo: its files (path -> bytes) and commit."""

    repo_id: str
    files: dict[str, bytes]
    sha: str = ""
    revision: str = "main"
    sizes: dict[str, int] = field(default_factory=dict)  # announced sizes that differ from the real ones

    def __post_init__(self) -> None:
        if not self.sha:
            digest = hashlib.sha1()
            for path in sorted(self.files):
                digest.update(path.encode() + b"\0" + self.files[path])
            self.sha = digest.hexdigest()

    def is_lfs(self, path: str) -> bool:
        return path.endswith(LFS_SUFFIXES)

    def etag(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha256(data).hexdigest() if self.is_lfs(path) else _git_blob_oid(data)

    def size(self, path: str) -> int:
        return self.sizes.get(path, len(self.files[path]))

    def tree(self) -> list[dict[str, Any]]:
        entries = []
        for path in sorted(self.files):
            entry: dict[str, Any] = {"type": "file", "oid": _git_blob_oid(self.files[path]),
                                     "size": self.size(path), "path": path}
            if self.is_lfs(path):
                entry["lfs"] = {"oid": self.etag(path), "size": self.size(path), "pointerSize": 134}
            entries.append(entry)
        return entries

    def info(self) -> dict[str, Any]:
        return {"id": self.repo_id, "modelId": self.repo_id, "sha": self.sha, "private": False,
                "gated": False, "disabled": False, "siblings": [{"rfilename": p} for p in sorted(self.files)]}


class HubServer:
    """A Hub on 127.0.0.1 (a context manager; ``url`` is its endpoint)."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self._cuts: dict[tuple[str, str], int] = {}
        self._cut_done: set[tuple[str, str]] = set()
        self._fails: dict[tuple[str, str], int] = {}
        self._hooks: dict[tuple[str, str], Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    # --- set up ----------------------------------------------------------------------------------

    def add_repo(self, repo_id: str, source: str | Path | Mapping[str, bytes]) -> HubRepo:
        """Serve ``source`` (a folder, read whole, or a mapping of paths to bytes) as ``repo_id``."""
        if isinstance(source, Mapping):
            files = {str(k): bytes(v) for k, v in source.items()}
        else:
            root = Path(source)
            files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        repo = HubRepo(repo_id, files)
        self.repos[repo_id] = repo
        return repo

    def cut(self, repo_id: str, path: str, *, after: int) -> None:
        """Send only ``after`` bytes of ``path``, drop the connection, and answer 500 from then on."""
        self._cuts[(repo_id, path)] = after

    def fail(self, repo_id: str, path: str, *, status: int = 500) -> None:
        """Answer ``status`` to every request for ``path``."""
        self._fails[(repo_id, path)] = status

    def claim_size(self, repo_id: str, path: str, size: int) -> None:
        """Announce ``size`` bytes for ``path`` in the listing and the headers."""
        self.repos[repo_id].sizes[path] = size

    def heal(self) -> None:
        """Forget every fault: the server answers normally again."""
        self._cuts.clear()
        self._cut_done.clear()
        self._fails.clear()
        self._hooks.clear()

    def before_body(self, repo_id: str, path: str, hook: Callable[[], None]) -> None:
        """Call ``hook()`` just before the bytes of ``path`` are sent."""
        self._hooks[(repo_id, path)] = hook

    def downloads(self) -> list[str]:
        """The paths of the ``GET .../resolve/...`` requests, in order."""
        return [p for m, p in self.requests if m == "GET" and "/resolve/" in p]

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- routing ---------------------------------------------------------------------------------

    def find(self, path: str) -> tuple[HubRepo | None, str]:
        """The repo a path starts with (``org/name`` or ``name``) and the rest of the path."""
        parts = path.strip("/").split("/")
        for n in (2, 1):
            repo = self.repos.get("/".join(parts[:n]))
            if repo is not None:
                return repo, "/".join(parts[n:])
        return None, "/".join(parts[2:])


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections are what some tests ask for


def _handler_for(server: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        hub = server

    return Handler


_API = re.compile(r"^/api/models/(?P<rest>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- replies ---------------------------------------------------------------------------------

    def _reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None,
               *, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode(), headers)

    def _error(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        self._json({"error": message}, status, {"X-Error-Code": code, "X-Error-Message": message, **(headers or {})})

    # --- methods ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def _route(self) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.hub._lock:
            self.hub.requests.append((self.command, path))
        api = _API.match(path)
        if api:
            return self._api(api.group("rest"))
        if "/resolve/" in path:
            return self._resolve(path)
        self._error(404, "NotFound", f"No route {path}")

    def _api(self, rest: str) -> None:
        repo, tail = self.hub.find(rest)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        kind, _, rev_and_path = tail.partition("/")
        rev = rev_and_path.split("/", 1)[0] if rev_and_path else repo.revision
        if rev not in (repo.revision, repo.sha):
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        if kind in ("", "revision"):
            return self._json(repo.info())
        if kind == "tree":
            return self._json(repo.tree())
        self._error(404, "NotFound", f"No route {kind}")

    def _resolve(self, path: str) -> None:
        before, _, after = path.partition("/resolve/")
        repo, _ = self.hub.find(before)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        rev, _, name = after.partition("/")
        if rev not in (repo.revision, repo.sha):
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        commit = {"X-Repo-Commit": repo.sha}
        if name not in repo.files:
            return self._error(404, "EntryNotFound", f"{name} does not exist", commit)
        key = (repo.repo_id, name)
        status = self.hub._fails.get(key)
        if status is not None or key in self.hub._cut_done:
            return self._error(status or 500, "ServerError", "Internal Error - We're working hard to fix this")
        data = repo.files[name]
        size = repo.size(name)
        headers = {**commit, "Accept-Ranges": "bytes", "ETag": f'"{repo.etag(name)}"'}
        if repo.is_lfs(name):
            headers.update({"X-Linked-Etag": f'"{repo.etag(name)}"', "X-Linked-Size": str(size)})
        if self.command == "HEAD":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return None
        start, status = 0, 200
        wanted = _RANGE.match(self.headers.get("Range", ""))
        if wanted:
            start, status = int(wanted.group(1)), 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        hook = self.hub._hooks.get(key)
        if hook is not None:
            hook()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        after_bytes = self.hub._cuts.get(key)
        if after_bytes is None:
            self.wfile.write(body)
            return None
        with self.hub._lock:
            self.hub._cut_done.add(key)
        self.wfile.write(body[:after_bytes])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return None


def point_hub_at(server: HubServer, monkeypatch: Any, cache: str | Path) -> None:
    """Make ``huggingface_hub`` download from ``server`` into ``cache``, for one test.

    ``huggingface_hub`` reads its settings from the environment once, at import, into
    ``huggingface_hub.constants`` (``HF_ENDPOINT`` -> ``ENDPOINT`` and the resolve-URL template,
    ``HF_HUB_CACHE`` -> ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE`` -> ``HF_HUB_OFFLINE``) and reads those
    constants at call time; transformers reads the same constants. So a test patches the constants,
    not the environment: downloads are switched on (the test session runs with HF_HUB_OFFLINE=1),
    the default cache is ``cache``, and the default endpoint is the loopback server, so that
    nothing huggingface_hub sends on its own (its agent-registry look-up...) leaves 127.0.0.1.
    ``$HF_ENDPOINT`` is set too: nbagents' ``add_tool`` reads it when called.
    """
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        server.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_ENDPOINT", server.url)


def go_offline(monkeypatch: Any) -> None:
    """Switch huggingface_hub's downloads off again (what the test session runs with)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
