"""How the server backend talks HTTP: the server's address, one request on its own thread (so a caller can
cancel or time out however long the server stays silent), server-sent events, and small JSON requests with
retries. Connections go through :mod:`longwriter_desktop.net` (the system's trust store and proxies), like
the downloads. What the answers mean is :mod:`.server_dialects`' business; errors in plain words are the
backend's (:mod:`.openai_backend`).
"""

from __future__ import annotations

import contextlib
import http.client
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import net
from ..errors import InputError

MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class ServerAddress:
    """Where the API lives: ``api_root`` ends in /v1; ``server_root`` holds the non-OpenAI extras."""

    scheme: str
    host: str
    port: int
    api_root: str  # path, e.g. "/v1"
    server_root: str  # path, e.g. ""

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://{self._netloc()}{self.api_root}"

    @property
    def origin_url(self) -> str:
        """scheme://host:port, to which a request's path is appended."""
        return f"{self.scheme}://{self._netloc()}"

    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_base_url(base_url: str) -> ServerAddress:
    """Accept ``host:port``, ``http://host:port``, ``.../v1`` or a pasted endpoint URL."""
    text = base_url.strip()
    if not text:
        raise InputError("The server URL is empty: give one like http://192.168.1.20:8080")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"'{base_url}' is not a server URL: give one like http://192.168.1.20:8080")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"'{base_url}' has a port that is not a number.") from None
    path = parts.path.rstrip("/")
    for tail in ("/chat/completions", "/completions", "/models"):
        if path.endswith(tail):
            path = path[: -len(tail)]
            break
    if path.endswith("/v1"):
        api_root, server_root = path, path[: -len("/v1")]
    else:
        api_root, server_root = path + "/v1", path
    return ServerAddress(parts.scheme, parts.hostname, port, api_root, server_root)


# --- one streamed request -------------------------------------------------------------------------


def new_connection(address: ServerAddress, path: str, timeout: float) -> net.Connection:
    """A connection for one request to ``path`` on the server, through the system's proxy and trust store
    (:mod:`longwriter_desktop.net`); this machine's servers are reached directly."""
    return net.new_connection(urlsplit(address.origin_url + path), timeout=timeout)


class Exchange:
    """One HTTP request run on its own thread; what arrives is handed over through a queue.

    The caller polls the queue with a short timeout, so it can honour a cancel event or its own read
    timeout however long the server stays silent, and :meth:`abort` shuts the socket down from the
    caller's thread, which wakes the reader at once.
    Items: ("connect_error", exc), ("connected",), ("send_error", exc), ("status", code, reason, body),
    ("open",), ("data", bytes), ("eof",), ("broken", exc).
    """

    def __init__(
        self,
        address: ServerAddress,
        path: str,
        *,
        body: bytes,
        headers: dict[str, str],
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._address = address
        self._path = path
        self._body = body
        self._headers = headers
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._items: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name="openai-backend-stream", daemon=True)

    def start(self) -> Exchange:
        self._thread.start()
        return self

    def get(self, timeout: float) -> tuple[Any, ...] | None:
        try:
            return self._items.get(timeout=timeout)
        except queue.Empty:
            return None

    def abort(self) -> None:
        """Close the connection now; the reader thread ends on its own."""
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        opened = new_connection(self._address, self._path, self._connect_timeout)
        conn = opened.conn
        try:
            try:
                conn.connect()
            except OSError as exc:
                self._items.put(("connect_error", exc))
                return
            with self._lock:
                if self._aborted:
                    return
                self._sock = conn.sock
            self._items.put(("connected",))
            # A safety net only: the caller enforces the read timeout itself, in small steps.
            conn.sock.settimeout(self._read_timeout + 30.0)
            try:
                conn.request("POST", opened.target, body=self._body, headers=self._headers | opened.headers)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self._items.put(("send_error", exc))
                return
            if response.status != 200:
                try:
                    body = response.read(MAX_ERROR_BODY)
                except (OSError, http.client.HTTPException):
                    body = b""
                self._items.put(("status", response.status, response.reason, body))
                return
            self._items.put(("open",))
            try:
                while True:
                    data = response.read1(65536)
                    if not data:
                        self._items.put(("eof",))
                        return
                    self._items.put(("data", data))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                # ValueError: http.client reading from a socket that abort() shut down.
                self._items.put(("broken", exc))
        finally:
            conn.close()


class SseParser:
    """Server-sent events from raw bytes: yields (event, data) once each event is complete.

    Comment lines (``: ping``) are skipped. llama.cpp's server reports a failure mid-stream with a
    non-standard ``error: {...}`` line, which comes out as an "error" event.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        self._buffer += chunk
        events: list[tuple[str, str]] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                break
            raw, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            self._line(raw.rstrip(b"\r").decode("utf-8", errors="replace"), events)
        return events

    def close(self) -> list[tuple[str, str]]:
        """Whatever complete event was still waiting for its blank line when the stream ended."""
        events: list[tuple[str, str]] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", errors="replace"), events)
            self._buffer = b""
        self._line("", events)
        return events

    def _line(self, line: str, events: list[tuple[str, str]]) -> None:
        if not line:
            if self._data:
                events.append((self._event or "message", "\n".join(self._data)))
            self._data, self._event = [], ""
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "error":
            events.append(("error", value))


# --- small requests --------------------------------------------------------------------------------------


def request_json(address: ServerAddress, method: str, path: str, body: bytes | None, headers: dict[str, str], *,
                 connect_timeout: float, timeout: float, retries: int, backoff: float,
                 retry_statuses: tuple[int, ...]) -> tuple[int, bytes]:
    """A small request, retried on connection errors and on ``retry_statuses``; returns the status and body.

    Raises the last OSError or HTTPException when every attempt failed (the caller words it).
    """
    attempt = 0
    while True:
        opened = new_connection(address, path, connect_timeout)
        conn = opened.conn
        try:
            conn.connect()
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.request(method, opened.target, body=body, headers=headers | opened.headers)
            response = conn.getresponse()
            data = response.read()
            if response.status in retry_statuses and attempt < retries:
                raise ConnectionError(f"{response.status} {response.reason}")
            return response.status, data
        except (OSError, http.client.HTTPException):
            if attempt >= retries:
                raise
            time.sleep(net.backoff(attempt + 1, backoff, cap=30.0))
            attempt += 1
        finally:
            conn.close()
