"""A local stand-in for the Hugging Face Hub, for tests, benchmarks and manual checks.

It serves real bytes over real HTTP on the loopback interface and speaks the part of the Hub's protocol
that huggingface_hub and our downloader use:

- ``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` with ``X-Repo-Commit``, ``ETag`` and, for LFS files, a
  302 to a second "CDN" port carrying ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``. The CDN port
  rejects requests that carry an ``Authorization`` header, as S3 does with presigned URLs.
- Range requests (206 + ``Content-Range``, 416 past the end).
- 404 with ``X-Error-Code`` RepoNotFound / RevisionNotFound / EntryNotFound; 401 RepoNotFound without a
  token, 401 GatedRepo for a gated repo without the right token.
- ``GET /api/models/{repo}[/revision/{rev}]`` (siblings, ``?blobs=true`` for sizes and sha256),
  ``GET /api/models/{repo}/tree/{rev}[/{path}]`` and ``POST /api/models/{repo}/paths-info/{rev}``.

Knobs for failure tests: bytes served, dropping a connection after N bytes, stalling, throttling,
failing with a status, ignoring ranges, advertising a wrong sha256, and changing a file (a new commit).

It refuses to start unless ``LONGWRITER_FAKE_HUB=1`` is set (tests and benchmarks set it; running this
module from the command line sets it), and it binds only to the loopback interface.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ENABLE_ENV = "LONGWRITER_FAKE_HUB"
DEFAULT_TOKEN = "hf_fake_test_token"
DEFAULT_REPO = "longwriter-test/SmolLM2-135M-Instruct-GGUF"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_CHUNK = 64 * 1024
_LFS_POINTER_SIZE = 134


def generated_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (incompressible, so nothing on the way can shrink them)."""
    return random.Random(seed).randbytes(size)


@dataclass
class HubFile:
    """One file in a repo at one commit."""

    path: str
    source: Path | bytes
    size: int
    sha256: str
    blob_id: str  # the git object id: what the Hub reports as ``oid`` and the ETag of non-LFS files
    lfs: bool
    advertised_sha256: str | None = None  # a wrong hash to announce instead of the real one

    @property
    def published_sha256(self) -> str:
        return self.advertised_sha256 or self.sha256

    def chunks(self, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
        """The bytes from ``start`` to ``end`` inclusive."""
        if isinstance(self.source, bytes):
            for offset in range(start, end + 1, chunk_size):
                yield self.source[offset : min(offset + chunk_size, end + 1)]
            return
        with self.source.open("rb") as fh:
            fh.seek(start)
            remaining = end + 1 - start
            while remaining > 0:
                block = fh.read(min(chunk_size, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block


@dataclass
class HubRepo:
    repo_id: str
    gated: bool = False
    branches: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit
    trees: dict[str, dict[str, HubFile]] = field(default_factory=dict)  # commit -> files

    @property
    def head(self) -> str:
        return self.branches["main"]

    def commit_for(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        return revision if revision in self.trees else None


@dataclass(frozen=True)
class ServedRequest:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    range: str | None
    status: int
    authorized: bool


@dataclass
class _Rule:
    after_bytes: int
    seconds: float = 0.0


class FakeHub:
    """A Hub and its CDN on two loopback ports. Use as a context manager or call start()/stop()."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in _LOOPBACK:
            raise ValueError("The fake Hub only listens on the loopback interface.")
        self.token = token
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._streaming = 0  # file bodies being sent right now
        self._repos: dict[str, HubRepo] = {}
        self._blobs: dict[str, HubFile] = {}
        self._commit_counter = 0
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        # knobs
        self.throttle_bytes_per_second: float | None = None
        self.ignore_ranges = False  # answer ranged GETs with the whole file (200), as some proxies do
        self._drops: list[_Rule] = []
        self._stalls: list[_Rule] = []
        self._failures: list[tuple[int, float | None]] = []
        self._bytes_served = 0
        self.requests: list[ServedRequest] = []

    # ----- content -----

    def add_repo(self, repo_id: str, *, gated: bool = False) -> HubRepo:
        with self._lock:
            repo = self._repos.get(repo_id)
            if repo is None:
                repo = HubRepo(repo_id, gated=gated)
                self._repos[repo_id] = repo
                self._new_commit(repo, {})
            repo.gated = gated
            return repo

    def add_file(self, repo_id: str, path_in_repo: str, source: Path | bytes, *, lfs: bool = True) -> HubFile:
        """Add or replace a file: a new commit on ``main``, older commits keep their bytes."""
        if isinstance(source, Path):
            size, sha256, blob_id = _hash_path(source)
        else:
            size, sha256, blob_id = len(source), hashlib.sha256(source).hexdigest(), _git_blob_id(source)
        if lfs:  # git stores a pointer file for LFS files; its id is what `oid` reports
            blob_id = hashlib.sha1(f"lfs-pointer {sha256} {size}".encode()).hexdigest()
        hub_file = HubFile(path_in_repo, source, size, sha256, blob_id, lfs)
        repo = self._repos.get(repo_id) or self.add_repo(repo_id)
        with self._lock:
            files = dict(repo.trees[repo.head])
            files[path_in_repo] = hub_file
            self._new_commit(repo, files)
            self._blobs[sha256] = hub_file
        return hub_file

    def add_branch(self, repo_id: str, name: str, commit: str | None = None) -> None:
        with self._lock:
            repo = self._repos[repo_id]
            repo.branches[name] = commit or repo.head

    def advertise_wrong_sha256(self, repo_id: str, path_in_repo: str) -> None:
        """Announce a sha256 that the served bytes do not have (in headers, tree and paths-info)."""
        with self._lock:
            hub_file = self._repos[repo_id].trees[self._repos[repo_id].head][path_in_repo]
            hub_file.advertised_sha256 = hashlib.sha256(b"not the real content").hexdigest()

    def _new_commit(self, repo: HubRepo, files: dict[str, HubFile]) -> str:
        self._commit_counter += 1
        commit = hashlib.sha1(f"{repo.repo_id}:{self._commit_counter}".encode()).hexdigest()
        repo.trees[commit] = files
        repo.branches["main"] = commit
        return commit

    # ----- knobs -----

    @property
    def bytes_served(self) -> int:
        """File-content bytes written to sockets so far (resolve bodies and CDN bodies)."""
        with self._lock:
            return self._bytes_served

    def reset_counters(self) -> None:
        """Zero the counters once bodies still being sent (to a client that went away) have ended."""
        with self._idle:
            self._idle.wait_for(lambda: self._streaming == 0, timeout=10)
            self._bytes_served = 0
            self.requests.clear()

    def drop_next(self, after_bytes: int, times: int = 1) -> None:
        """Close the connection of the next ``times`` file responses after ``after_bytes`` body bytes."""
        with self._lock:
            self._drops.extend(_Rule(after_bytes) for _ in range(times))

    def stall_next(self, after_bytes: int, seconds: float) -> None:
        """Stop sending (connection left open) for ``seconds`` after ``after_bytes``, then close it."""
        with self._lock:
            self._stalls.append(_Rule(after_bytes, seconds))

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """Answer the next ``times`` file GETs with ``status`` (503, 500, 429...)."""
        with self._lock:
            self._failures.extend((status, retry_after) for _ in range(times))

    # ----- life cycle -----

    @property
    def endpoint(self) -> str:
        """What HF_ENDPOINT should be set to."""
        return self._url(self._servers[0])

    @property
    def cdn_endpoint(self) -> str:
        return self._url(self._servers[1])

    def _url(self, server: _Server) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{server.server_address[1]}"

    def start(self) -> FakeHub:
        if os.environ.get(ENABLE_ENV) != "1":
            raise RuntimeError(
                f"This is a fake Hugging Face Hub for tests. Set {ENABLE_ENV}=1 to start it on purpose."
            )
        for role, port in (("hub", self._port), ("cdn", 0)):
            server = _Server((self._host, port), _HubHandler, self, role)
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"fake-hub-{role}",
                                      daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], hub: FakeHub,
                 role: str) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.hub = hub
        self.role = role


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `FakeHub.requests` instead."""

    # ----- dispatch -----

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        self._status = 0
        split = urlsplit(self.path)
        segments = [unquote(s) for s in split.path.strip("/").split("/")]
        query = parse_qs(split.query)
        try:
            if self.server.role == "cdn":
                self._cdn(method, segments)
            elif segments[:2] == ["api", "models"] and len(segments) > 2:
                self._api(method, segments[2:], query)
            elif "resolve" in segments[1:3] and method in ("GET", "HEAD"):
                self._resolve(method, segments)
            else:
                self._error(404, None, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            hub = self.server.hub
            with hub._lock:
                hub.requests.append(ServedRequest(self.server.role, method, self.path,
                                                  self.headers.get("Range"), self._status,
                                                  self.headers.get("Authorization") is not None))

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.server.hub.token}"

    def _find_repo(self, segments: list[str]) -> tuple[str, HubRepo | None, list[str]]:
        """Split ``owner/name/rest...`` (or a one-part legacy id) into the repo and the rest."""
        repos = self.server.hub._repos
        if len(segments) >= 2 and "/".join(segments[:2]) in repos:
            return "/".join(segments[:2]), repos["/".join(segments[:2])], segments[2:]
        if segments and segments[0] in repos:
            return segments[0], repos[segments[0]], segments[1:]
        if len(segments) >= 2 and segments[1] in ("resolve", "tree", "paths-info", "revision"):
            return segments[0], None, segments[1:]
        return "/".join(segments[:2]), None, segments[2:]

    # ----- /{repo}/resolve/{rev}/{path} -----

    def _resolve(self, method: str, segments: list[str]) -> None:
        repo_id, repo, rest = self._find_repo(segments)
        if repo is None or len(rest) < 3 or rest[0] != "resolve":
            self._repo_not_found()
            return
        if repo.gated and not self._authorized():
            self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access to "
                        "it and be authenticated to access it. Please log in.")
            return
        revision, path = rest[1], "/".join(rest[2:])
        commit = repo.commit_for(revision)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        hub_file = repo.trees[commit].get(path)
        if hub_file is None:
            self._error(404, "EntryNotFound", f"{path} does not exist on \"{revision}\"")
            return
        if method == "GET" and self._take_failure():
            return
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if hub_file.lfs:
            location = f"{self.server.hub.cdn_endpoint}/blobs/{hub_file.sha256}?signature=fake&expires=never"
            headers |= {
                "X-Linked-Etag": f'"{hub_file.published_sha256}"',
                "X-Linked-Size": str(hub_file.size),
                "ETag": f'"{hub_file.blob_id}"',
                "Location": location,
            }
            self._send(302, f"Found. Redirecting to {location}".encode(), headers, head=method == "HEAD")
            return
        headers["ETag"] = f'"{hub_file.blob_id}"'
        self._serve_file(hub_file, headers, head=method == "HEAD")

    # ----- CDN: /blobs/{sha256} -----

    def _cdn(self, method: str, segments: list[str]) -> None:
        if self.headers.get("Authorization"):
            self._error(400, None, "Only one auth mechanism allowed; a signed URL was given with an "
                        "Authorization header.")
            return
        hub = self.server.hub
        hub_file = hub._blobs.get(segments[-1]) if len(segments) == 2 and segments[0] == "blobs" else None
        if hub_file is None or method not in ("GET", "HEAD"):
            self._error(404, None, "NoSuchKey")
            return
        self._serve_file(hub_file, {"ETag": f'"{hub_file.sha256}"', "Accept-Ranges": "bytes"},
                         head=method == "HEAD")

    # ----- /api/models/... -----

    def _api(self, method: str, segments: list[str], query: dict[str, list[str]]) -> None:
        repo_id, repo, rest = self._find_repo(segments)
        if repo is None:
            self._repo_not_found()
            return
        revision = "main"
        if method == "GET" and (not rest or rest[0] == "revision"):
            if rest:
                revision = rest[1] if len(rest) > 1 else ""
            commit = repo.commit_for(revision)
            if commit is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            self._json(self._model_info(repo, commit, blobs))
            return
        if method == "GET" and rest and rest[0] == "tree" and len(rest) >= 2:
            commit = repo.commit_for(rest[1])
            if commit is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rest[1]}")
                return
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            entries = _tree(repo.trees[commit], "/".join(rest[2:]), recursive)
            if entries is None:
                self._error(404, "EntryNotFound", f"{'/'.join(rest[2:])} does not exist on \"{rest[1]}\"")
                return
            self._json(entries)
            return
        if method == "POST" and rest and rest[0] == "paths-info" and len(rest) == 2:
            commit = repo.commit_for(rest[1])
            if commit is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rest[1]}")
                return
            wanted = self._posted_paths()
            files = repo.trees[commit]
            found: list[dict[str, Any]] = []
            for path in wanted:
                if path in files:
                    found.append(_file_entry(files[path]))
                elif any(p.startswith(path.rstrip("/") + "/") for p in files):
                    found.append(_folder_entry(path.rstrip("/")))
            self._json(found)
            return
        self._error(404, None, "Not found")

    def _posted_paths(self) -> list[str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            data = json.loads(body or "{}")
            paths = data.get("paths", [])
            return [paths] if isinstance(paths, str) else list(paths)
        return parse_qs(body).get("paths", [])

    def _model_info(self, repo: HubRepo, commit: str, blobs: bool) -> dict[str, Any]:
        siblings: list[dict[str, Any]] = []
        for hub_file in sorted(repo.trees[commit].values(), key=lambda f: f.path):
            sibling: dict[str, Any] = {"rfilename": hub_file.path}
            if blobs:
                sibling |= {"blobId": hub_file.blob_id, "size": hub_file.size}
                if hub_file.lfs:
                    sibling["lfs"] = {"sha256": hub_file.published_sha256, "size": hub_file.size,
                                      "pointerSize": _LFS_POINTER_SIZE}
            siblings.append(sibling)
        return {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": commit,
            "lastModified": "2026-01-01T00:00:00.000Z",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "private": False,
            "disabled": False,
            "gated": "manual" if repo.gated else False,
            "downloads": 0,
            "likes": 0,
            "tags": ["gguf"],
            "library_name": "gguf",
            "siblings": siblings,
            "usedStorage": sum(f.size for f in repo.trees[commit].values()),
        }

    # ----- responses -----

    def _repo_not_found(self) -> None:
        # The real Hub answers 401 to anonymous requests so as not to reveal private repos.
        status = 404 if self.headers.get("Authorization") else 401
        self._error(status, "RepoNotFound", "Repository not found")

    def _error(self, status: int, code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message, "Content-Type": "application/json"}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers,
                   head=self.command == "HEAD")

    def _json(self, data: Any) -> None:
        self._send(200, json.dumps(data).encode(), {"Content-Type": "application/json"}, head=False)

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool) -> None:
        self._status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _take_failure(self) -> bool:
        hub = self.server.hub
        with hub._lock:
            failure = hub._failures.pop(0) if hub._failures else None
        if failure is None:
            return False
        status, retry_after = failure
        headers = {"Content-Type": "application/json"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self._send(status, b'{"error": "injected failure"}', headers, head=False)
        return True

    def _serve_file(self, hub_file: HubFile, headers: dict[str, str], *, head: bool) -> None:
        size = hub_file.size
        start, end = 0, size - 1
        status = 200
        range_header = None if self.server.hub.ignore_ranges else self.headers.get("Range")
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                self._status = 416
                self._send(416, b"", headers | {"Content-Range": f"bytes */{size}"}, head=head)
                return
            start, end = parsed
            status = 206
            headers = headers | {"Content-Range": f"bytes {start}-{end}/{size}"}
        self._status = status
        self.send_response(status)
        for name, value in (headers | {"Content-Type": "application/octet-stream"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if head or size == 0:
            return
        self._stream(hub_file, start, end)

    def _stream(self, hub_file: HubFile, start: int, end: int) -> None:
        hub = self.server.hub
        with hub._lock:
            drop = hub._drops.pop(0) if hub._drops else None
            stall = hub._stalls.pop(0) if hub._stalls else None
            rate = hub.throttle_bytes_per_second
        chunk_size = _CHUNK if not rate else max(4096, min(_CHUNK, int(rate / 50)))
        with hub._idle:
            hub._streaming += 1
        try:
            self._stream_chunks(hub_file, start, end, chunk_size=chunk_size, drop=drop, stall=stall,
                                rate=rate)
        finally:
            with hub._idle:
                hub._streaming -= 1
                hub._idle.notify_all()

    def _stream_chunks(self, hub_file: HubFile, start: int, end: int, *, chunk_size: int,
                       drop: _Rule | None, stall: _Rule | None, rate: float | None) -> None:
        hub = self.server.hub
        sent = 0
        began = time.monotonic()
        for chunk in hub_file.chunks(start, end, chunk_size):
            block = chunk
            for rule in (drop, stall):
                if rule is not None and sent + len(block) > rule.after_bytes:
                    block = block[: max(0, rule.after_bytes - sent)]
            if block:
                self.wfile.write(block)
                sent += len(block)
                with hub._lock:
                    hub._bytes_served += len(block)
            if drop is not None and sent >= drop.after_bytes:
                self._hang_up()
                return
            if stall is not None and sent >= stall.after_bytes:
                hub._stopping.wait(stall.seconds)
                self._hang_up()
                return
            if rate:
                delay = began + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``; None when it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    if not first:
        count = int(last)
        return (max(0, size - count), size - 1) if count > 0 and size > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start < size and start <= end else None


def _file_entry(hub_file: HubFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": hub_file.blob_id, "size": hub_file.size,
                             "path": hub_file.path}
    if hub_file.lfs:
        entry["lfs"] = {"oid": hub_file.published_sha256, "size": hub_file.size,
                        "pointerSize": _LFS_POINTER_SIZE}
    return entry


def _folder_entry(path: str) -> dict[str, Any]:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def _tree(files: dict[str, HubFile], folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    prefix = f"{folder}/" if folder else ""
    inside = [f for p, f in sorted(files.items()) if p.startswith(prefix)]
    if folder and not inside:
        return None
    entries: list[dict[str, Any]] = []
    folders: set[str] = set()
    for hub_file in inside:
        rest = hub_file.path[len(prefix) :].split("/")
        for depth in range(1, len(rest)):
            sub = prefix + "/".join(rest[:depth])
            if (recursive or depth == 1) and sub not in folders:
                folders.add(sub)
                entries.append(_folder_entry(sub))
        if recursive or len(rest) == 1:
            entries.append(_file_entry(hub_file))
    return entries


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _hash_path(path: Path) -> tuple[int, str, str]:
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            sha256.update(block)
            sha1.update(block)
    return size, sha256.hexdigest(), sha1.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Serve files as a fake Hub until Ctrl+C: for trying the downloader by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m longwriter_desktop.testing.hubserver",
        description="A fake Hugging Face Hub on 127.0.0.1, for tests and manual checks of downloads.",
    )
    parser.add_argument("--port", type=int, default=0, help="port of the Hub (0 picks a free one)")
    parser.add_argument("--repo", default=DEFAULT_REPO, help=f"repo id to serve them as ({DEFAULT_REPO})")
    parser.add_argument("--file", action="append", type=Path, default=[],
                        help="a file to serve (repeatable; default: the built-in GGUF model)")
    parser.add_argument("--throttle", type=float, default=None, metavar="MB_PER_S",
                        help="limit each transfer to this many MB per second")
    parser.add_argument("--gated", action="store_true", help="require the token for downloads")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the token a gated repo accepts")
    args = parser.parse_args(argv)

    files: list[Path] = args.file
    if not files:
        from ..library.installed import builtin_model_path

        builtin = builtin_model_path()
        if builtin is None:
            parser.error("no --file given and the built-in model is not installed")
        files = [builtin]
    os.environ[ENABLE_ENV] = "1"  # running this module is an explicit request for the fake Hub
    hub = FakeHub(token=args.token, port=args.port)
    hub.add_repo(args.repo, gated=args.gated)
    for path in files:
        hub.add_file(args.repo, path.name, path)
    if args.throttle:
        hub.throttle_bytes_per_second = args.throttle * 1_000_000
    with hub:
        print(f"Fake Hub serving {args.repo} ({', '.join(p.name for p in files)}) at {hub.endpoint}")
        print(f"Try: HF_ENDPOINT={hub.endpoint} python -m longwriter_desktop.cli models files {args.repo}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
