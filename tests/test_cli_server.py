"""`longwriter write --backend openai` end to end, in subprocesses, as a user runs it, against a real
`python -m llama_cpp.server` serving the built-in model on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from longwriter_desktop.projects.store import ProjectStore
from tests.llama_servers import API_KEY, LlamaServer, free_port, start_llama_server

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write a 600-word report on city trams."


def _env(home: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, LONGWRITER_HOME=str(home), PYTHONPATH=str(ROOT), **extra)


def _cli(home: Path, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True,
                          text=True, env=_env(home, **env), timeout=timeout, check=False)


def _server_args(url: str) -> list[str]:
    # llama-cpp-python's server does not report its context size: --ctx tells it.
    return ["--backend", "openai", "--base-url", f"{url}/v1", "--ctx", "8192"]


def _assert_one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("longwriter: ")
              and not line.startswith("longwriter: note:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_write_through_a_server_saves_the_whole_run(
    llama_server: LlamaServer, longwriter_home: Path, tmp_path: Path
) -> None:
    # How close a server's text comes to 600 words depends on the sample (399 of 600 on one CPU): only what
    # every run satisfies is asserted here; reaching the length is the writer's control flow, tested on a
    # scripted backend (tests/engine/test_length_control.py).
    stats_path = tmp_path / "s.json"
    out = tmp_path / "trams.md"
    result = _cli(longwriter_home, "write", PROMPT, "--words", "600", *_server_args(llama_server.url),
                  "--stats-json", str(stats_path), "--seed", "1", "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["backend"] == "openai" and stats["n_ctx"] == 8192 and stats["target_words"] == 600
    assert 0 <= stats["length_score"] <= 100 and stats["words"] > 0
    assert stats["finish_reason"] in ("stop", "length") and stats["completion_tokens"] > 0
    short = [s for s in stats["sections"] if s["words"] < 0.85 * s["target_words"]]
    for section in short:  # a section that ends short is never silent
        assert f"ended at {section['words']} of {section['target_words']} words" in result.stderr
    listing = _cli(longwriter_home, "projects", "list")
    assert "done" in listing.stdout
    assert out.read_text(encoding="utf-8").startswith("# ")


def test_a_server_killed_mid_run_leaves_a_project_that_resumes(
    builtin_gguf: Path, longwriter_home: Path, tmp_path: Path
) -> None:
    server = start_llama_server(builtin_gguf, tmp_path, n_ctx=8192)
    try:
        writing = subprocess.Popen(
            [sys.executable, "-m", "longwriter_desktop.cli", "write",
             "Write a short story about a lighthouse.", "--words", "300", *_server_args(server.url),
             "--seed", "2", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(longwriter_home),
        )
        assert writing.stderr is not None
        lines: list[str] = []
        for line in writing.stderr:  # progress lines: "[120/300 words | section 1: ..."
            lines.append(line)
            if line.startswith("[") and int(line[1:].split("/")[0].replace(",", "")) >= 40:
                server.stop()  # SIGKILL, mid-stream
                break
        rest = writing.stderr.read()
        assert writing.wait(30) == 1, "".join(lines) + rest
        message = _assert_one_line_error("".join(lines) + rest)
        # Mid-stream: "The connection to URL broke ... The text so far is kept"; should the kill land between
        # two requests: "No server answers at URL". Either way one line that names the server.
        assert f"127.0.0.1:{server.port}" in message
        listing = _cli(longwriter_home, "projects", "list")
        assert listing.returncode == 0, listing.stderr
        row = next(line for line in listing.stdout.splitlines() if line.startswith("1 "))
        assert "interrupted" in row
        saved_words = int(row.split("interrupted")[1].split("/")[0].replace(",", ""))
        assert saved_words >= 40, listing.stdout

        server = start_llama_server(builtin_gguf, tmp_path, port=server.port, n_ctx=8192)
        stats_path = tmp_path / "resumed.json"
        resumed = _cli(longwriter_home, "resume", "1", "--quiet", "--stats-json", str(stats_path))
        assert resumed.returncode == 0, resumed.stderr
        stats = json.loads(stats_path.read_text())
        assert stats["backend"] == "openai" and stats["words"] > saved_words
        assert "done" in _cli(longwriter_home, "projects", "list").stdout
    finally:
        server.stop()


def test_a_server_that_is_down_fails_quickly_in_one_line(longwriter_home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = _cli(longwriter_home, "write", PROMPT, *_server_args(url), timeout=60)
    assert result.returncode == 1
    assert time.monotonic() - started < 15  # interpreter start, imports, two quick retries
    message = _assert_one_line_error(result.stderr)
    assert message == f"longwriter: No server answers at {url}/v1 — is it running?"


def test_the_api_key_works_and_is_never_saved(
    keyed_server: LlamaServer, longwriter_home: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    section = {"title": "Trams", "main_point": "Why trams came back.", "words": 60}
    plan.write_text(json.dumps({"sections": [section]}))
    args = ["write", "Write a short note about trams.", "--plan", str(plan), *_server_args(keyed_server.url),
            "--api-key-env", "LW_TEST_KEY", "--seed", "4"]
    result = _cli(longwriter_home, *args, LW_TEST_KEY=API_KEY)
    assert result.returncode == 0, result.stderr
    assert API_KEY not in result.stdout + result.stderr
    written = [path for path in longwriter_home.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite3" for path in written)
    assert any(path.parent.name == "logs" for path in written)
    for path in written:
        assert API_KEY.encode() not in path.read_bytes(), path
    # Without the variable set, the run stops before it starts, naming the variable.
    missing = _cli(longwriter_home, *args, timeout=60)
    assert missing.returncode != 0
    assert "LW_TEST_KEY" in _assert_one_line_error(missing.stderr)


def test_a_key_inside_the_base_url_is_used_and_never_saved(
    keyed_server: LlamaServer, longwriter_home: Path, tmp_path: Path
) -> None:
    """Issue 13, items 12 and 13: `user:key@` in --base-url works as the API key, and nothing under the data
    folder keeps it; the instruction comes from --prompt-file."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sections": [{"title": "Trams", "main_point": "Why trams came back.", "words": 60}]}))
    prompt = tmp_path / "prompt.txt"
    instruction = "Write a short note about trams,\nfor the town's newsletter."
    prompt.write_text(instruction, encoding="utf-8")
    host = keyed_server.url.removeprefix("http://")
    result = _cli(longwriter_home, "write", "--prompt-file", str(prompt), "--plan", str(plan), "--backend", "openai",
                  "--base-url", f"http://reader:{API_KEY}@{host}/v1", "--ctx", "8192", "--seed", "4", "--quiet")
    assert result.returncode == 0, result.stderr
    assert API_KEY not in result.stdout + result.stderr
    for path in (p for p in longwriter_home.rglob("*") if p.is_file()):
        assert API_KEY.encode() not in path.read_bytes(), path
    shown = _cli(longwriter_home, "projects", "show", "1")
    assert "instruction: Write a short note about trams," in shown.stdout
    with ProjectStore(longwriter_home / "data" / "projects.sqlite3", daily_backup=False) as store:
        project = store.get_project(1)
    assert project.instruction == instruction
    assert project.settings["base_url"] == f"http://{host}/v1"
