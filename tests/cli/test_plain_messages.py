"""Issue 13, items 10-13: what a person can get wrong (or a file, a disk or the Hub can get wrong) gets one plain
sentence and the right exit code, before any work is done. In-process where nothing loads a model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from longwriter_desktop import paths
from longwriter_desktop.cli import main
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.testing.hubserver import FakeHub

REPO = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_plain_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("longwriter: "), err
    assert "unexpected" not in err and "Traceback" not in err and "Error:" not in err, err
    return lines[0]


def _no_projects() -> bool:
    with ProjectStore(daily_backup=False) as store:
        return store.list_projects() == []


@pytest.mark.parametrize(("args", "words"), [
    (["write", "x", "--seed", str(2**70)], "--seed must be a whole number from 0"),
    (["write", "x", "--seed", "-1"], "--seed must be a whole number from 0"),
    (["write", "x", "--family", "bogus"], "Unknown prompt family 'bogus'"),
    (["write", "x", "--words", "0"], "--words must be between 10 and 100,000"),
    (["write", "x", "--out", "no-such-folder/x.md"], "for --out does not exist"),
    (["write", "x", "--stats-json", "no-such-folder/s.json"], "for --stats-json does not exist"),
    (["write", "x", "--model", "/no/such/model.gguf"], "Model file not found"),
    (["write", "--prompt-file", "/no/such/prompt.txt"], "does not exist"),
    (["write", "x", "--prompt-file", "/no/such/prompt.txt"], "not both"),
    (["write"], "The prompt is empty"),
])
def test_bad_input_is_one_plain_line_with_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, args: list[str], words: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *args)
    assert words in _one_plain_line(err)
    assert code == 2
    assert _no_projects(), "nothing may be started before the input is checked"


@pytest.mark.parametrize(("plan", "words"), [
    ({"sections": [{"title": "A", "main_point": "B", "words": 2**70}]}, "more than a whole document"),
    ("[" * 200_000 + "]" * 200_000, "nested far too deeply"),
])
def test_bad_plans_are_one_plain_line_with_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  plan: object, words: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan))
    code, _, err = _run(capsys, "write", "Write about a market day.", "--plan", str(path))
    assert words in _one_plain_line(err) and code == 2


def _patched_gguf(source: Path, target: Path, key: bytes, value: int) -> Path:
    """A copy of a real GGUF with one uint32 metadata value changed (a real file, damaged as found)."""
    data = bytearray(source.read_bytes())
    at = data.index(key) + len(key)
    assert int.from_bytes(data[at:at + 4], "little") == 4  # GGUF type 4: uint32
    data[at + 4:at + 8] = value.to_bytes(4, "little")
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(("key", "value", "words"), [
    (b"llama.block_count", 0, "says it has 0 layers"),
    (b"llama.context_length", 4_000_000_000, "says its context is 4,000,000,000 tokens"),
])
def test_an_impossible_gguf_is_refused_at_import_and_at_write(
    capsys: pytest.CaptureFixture[str], builtin_gguf: Path, tmp_path: Path, key: bytes, value: int, *, words: str
) -> None:
    bad = _patched_gguf(builtin_gguf, tmp_path / "broken.gguf", key, value)
    code, _, err = _run(capsys, "models", "import", str(bad))
    assert words in _one_plain_line(err) and code == 1
    assert not list(paths.models_dir().glob("*.gguf")), "the file must not be installed"
    code, _, err = _run(capsys, "write", "Write a note.", "--model", str(bad))  # no native abort (exit 134)
    assert words in _one_plain_line(err) and code == 1


def test_exporting_an_unfinished_project_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from longwriter_desktop.engine.plan import Section

    with ProjectStore() as store:
        project = store.create_project("Sea", "Write about the sea.", target_words=400)
        first, _ = store.update_plan(project.id, [Section("Storm", "", 200), Section("Calm", "", 200)])
        take = store.start_take(first.id)
        store.finish_take(take.id, text="The waves rose over the deck.")
        empty = store.create_project("Planning", "Write about the land.", target_words=400)
    code, _, err = _run(capsys, "export", str(project.id), "--out", str(tmp_path / "sea.md"))
    assert code == 0 and (tmp_path / "sea.md").is_file()
    assert f"project {project.id} is not finished (1 of 2 sections" in err
    assert f"longwriter resume {project.id}" in err
    code, _, err = _run(capsys, "export", str(empty.id), "--out", str(tmp_path / "land.md"))
    assert code == 2 and "stopped while its plan was being made" in _one_plain_line(err)
    assert not (tmp_path / "land.md").exists()


def test_hub_file_names_are_printed_escaped(capsys: pytest.CaptureFixture[str], fake_hub: FakeHub) -> None:
    repo = "longwriter-test/Hostile-GGUF"
    fake_hub.add_repo(repo)
    names = ["title\x1b]0;pwned\x07.gguf", "colour\x1b[31mred.gguf", "rtl\u202egguf.exe.gguf", "two\nlines.gguf"]
    for name in names:
        fake_hub.add_file(repo, name, b"GGUF" + bytes(64))
    code, out, err = _run(capsys, "models", "files", repo)
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in out + err
    assert "title\\x1b]0;pwned\\x07.gguf" in out and "rtl\\u202egguf.exe.gguf" in out
    assert "two\\x0alines.gguf" in out  # one name, one line
    code, out, err = _run(capsys, "models", "download", repo, "missing\x1b[2J.gguf")
    assert code != 0 and "\x1b" not in out + err and "missing\\x1b[2J.gguf" in err


# -- disks that refuse: a real read-only and a real full file system (tmpfs; needs root's mount) --------------


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                            capture_output=True, check=False)
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    if sys.platform != "linux" or os.geteuid() != 0 or not _mount_tmpfs(where, "4m"):
        pytest.skip("needs root on Linux to mount a small tmpfs (the manual check is in docs/data-safety.md)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LONGWRITER_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


def test_a_read_only_data_folder_gets_a_plain_message(small_disk: Path, tmp_path: Path) -> None:
    assert _cli(small_disk, "projects", "list").returncode == 0  # the folders and the database exist
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    listing = _cli(small_disk, "projects", "list")
    line = _one_plain_line(listing.stderr)
    assert listing.returncode == 1 and "cannot be written" in line and "readonly database" not in line
    out = small_disk / "out.md"
    written = _cli(tmp_path / "home", "write", "Write a note.", "--out", str(out))
    assert written.returncode == 2 and "Cannot write to the folder" in _one_plain_line(written.stderr)


def test_a_full_disk_gets_a_plain_message_without_recursion(small_disk: Path) -> None:
    for folder in ("data", "logs", "config", "cache"):
        (small_disk / folder).mkdir()
    with open(small_disk / "filler", "wb") as filler:
        try:
            while True:
                filler.write(bytes(64 * 1024))
                filler.flush()
        except OSError:
            pass
    result = _cli(small_disk, "write", "Write a 100-word note about rain.", "--words", "100")
    assert "recursion" not in result.stderr and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("longwriter: ")]
    assert result.returncode == 1 and len(errors) == 1, result.stderr
    assert "the disk is full" in errors[0] and "Free some space" in errors[0]
