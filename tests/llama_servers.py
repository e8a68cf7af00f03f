"""A real `python -m llama_cpp.server` in a subprocess on 127.0.0.1, shared by the engine and CLI tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from longwriter_desktop.bench.server import SERVER_LAUNCH as _LAUNCH

API_KEY = "sk-test-0123456789abcdefXYZW"


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    log_path: Path

    def stop(self) -> None:
        """SIGKILL: the server gets no chance to close its streams cleanly, as when a box goes down."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_llama_server(gguf: Path, folder: Path, *extra: str, port: int | None = None,
                       n_ctx: int = 4096) -> LlamaServer:
    """Start `python -m llama_cpp.server` and wait until it answers (any HTTP status counts)."""
    port = port or free_port()
    log_path = folder / f"server-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable, "-c", _LAUNCH,
                "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", str(n_ctx), "--verbose", "false",
                # Its default (True) keeps logits for every prompt token: slow and large for no use here.
                "--logits_all", "false",
                *extra,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = LlamaServer(process, f"http://127.0.0.1:{port}", port, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/v1/models", timeout=2):
                return server
        except urllib.error.HTTPError:
            return server  # it answers (401 with an API key set): it is up
        except OSError:
            time.sleep(0.2)
    server.stop()
    pytest.fail(f"llama_cpp.server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
