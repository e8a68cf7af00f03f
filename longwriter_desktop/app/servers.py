"""The servers a person has set up in the window (Servers page of the model manager), saved as JSON.

Each entry names an OpenAI-compatible server, its model and where its API key comes from (an environment
variable or the OS keyring); the key itself is never written here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import InputError
from ..export.atomic_file import write_atomically
from .backends import ApiKey, ServerChoice, connect_server

log = logging.getLogger(__name__)


def servers_file() -> Path:
    return paths.config_dir() / "servers.json"


@dataclass(frozen=True)
class SavedServer:
    """One server as the Servers page keeps it."""

    name: str
    base_url: str
    model: str = ""  # empty: the first model the server lists
    key_source: str = "none"  # "none", "env" or "keyring"
    key_name: str = ""  # the environment variable, or the keyring entry
    n_ctx: int | None = None  # for servers that don't report their context size

    def validated(self) -> SavedServer:
        """The same entry, checked; InputError in one sentence when something is missing."""
        if not self.name.strip():
            raise InputError("Give the server a name.")
        if not self.base_url.strip().lower().startswith(("http://", "https://")):
            raise InputError("The server's address must start with http:// or https://, for example "
                             "http://127.0.0.1:8080/v1")
        if self.key_source != "none" and not self.key_name.strip():
            raise InputError("Name the environment variable or keyring entry that holds the API key.")
        if self.n_ctx is not None and not 256 <= self.n_ctx <= 1_048_576:
            raise InputError("The context size must be between 256 and 1,048,576 tokens.")
        ApiKey(self.key_source, self.key_name)  # checks the source
        return SavedServer(self.name.strip(), self.base_url.strip(), self.model.strip(), self.key_source,
                           self.key_name.strip(), self.n_ctx)

    def choice(self) -> ServerChoice:
        return ServerChoice(self.base_url, self.model or None, ApiKey(self.key_source, self.key_name), self.n_ctx)


def load_servers(path: Path | None = None) -> list[SavedServer]:
    """The saved servers; none when the file is missing, and (logged) when it is unreadable."""
    path = path or servers_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("servers file %s is unreadable (%s); no servers", path, exc)
        return []
    known = {f.name for f in fields(SavedServer)}
    servers = []
    for entry in data.get("servers", []) if isinstance(data, dict) else []:
        try:
            servers.append(SavedServer(**{k: v for k, v in entry.items() if k in known}).validated())
        except (InputError, TypeError, AttributeError) as exc:
            log.warning("skipping a bad server entry in %s: %s", path, exc)
    return servers


def save_servers(servers: list[SavedServer], path: Path | None = None) -> Path:
    path = path or servers_file()
    text = json.dumps({"servers": [asdict(s.validated()) for s in servers]}, indent=2) + "\n"
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))
    return path


def check_connection(choice: ServerChoice) -> str:
    """Connect, ask for the model and its context, and say so in one sentence (LongWriterError when not)."""
    backend: Any = connect_server(choice)
    try:
        info = backend.info
        return f"Connected: model {info.model} on {info.device}, context {info.n_ctx:,} tokens."
    finally:
        backend.close()
