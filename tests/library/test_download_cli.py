"""`longwriter models download / files`: in-process, and as a real process that is killed or interrupted."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longwriter_desktop import paths
from longwriter_desktop.cli import main
from longwriter_desktop.library import download as dl
from longwriter_desktop.testing.hubserver import FakeHub, generated_bytes

TEST_REPO = "longwriter-test/Tiny-GGUF"
SOURCE_ROOT = Path(__file__).resolve().parents[2]
needs_posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL/SIGINT")


def cli(*args: str) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONPATH": str(SOURCE_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "longwriter_desktop.cli", *args], cwd=SOURCE_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_partial(at_least: int, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    """Bytes in the partial file once it holds ``at_least`` (the process must still be running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        parts = list(paths.partial_downloads_dir().glob("*.part"))
        if parts and parts[0].stat().st_size >= at_least:
            return parts[0].stat().st_size
        time.sleep(0.02)
    raise AssertionError("the download did not get far enough")


@needs_posix_signals
def test_a_killed_download_resumes_on_the_next_run(fake_hub: FakeHub, builtin_gguf: Path) -> None:
    size = builtin_gguf.stat().st_size
    fake_hub.add_file(TEST_REPO, builtin_gguf.name, builtin_gguf)
    fake_hub.throttle_bytes_per_second = 40_000_000  # about 2.5 s for the whole file: halfway is reachable
    proc = cli("models", "download", TEST_REPO, builtin_gguf.name)
    wait_for_partial(size // 2, proc)
    proc.kill()  # SIGKILL: no clean-up at all
    proc.communicate()
    on_disk = next(paths.partial_downloads_dir().glob("*.part")).stat().st_size
    served_before = fake_hub.bytes_served
    assert size // 2 <= on_disk < size

    fake_hub.throttle_bytes_per_second = None
    rerun = cli("models", "download", TEST_REPO, builtin_gguf.name)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "Resuming at" in err and "Checksum OK (sha256" in err
    target = paths.models_dir() / "longwriter-test__Tiny-GGUF" / builtin_gguf.name
    assert out.strip() == f"Saved to {target}"
    expected = hashlib.sha256(builtin_gguf.read_bytes()).hexdigest()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected
    total = fake_hub.bytes_served
    print(f"\nkill and resume: {total:,} bytes served for a {size:,}-byte file ({total / size:.3f}x); "
          f"{served_before:,} before the kill, {on_disk:,} on disk after it")
    assert total <= 1.1 * size
    assert list(paths.partial_downloads_dir().iterdir()) == []


@needs_posix_signals
def test_ctrl_c_pauses_and_cancel_deletes_the_partial(fake_hub: FakeHub) -> None:
    data = generated_bytes(20_000_000, seed=30)
    fake_hub.add_file(TEST_REPO, "ctrlc.gguf", data)
    fake_hub.throttle_bytes_per_second = 10_000_000
    proc = cli("models", "download", TEST_REPO, "ctrlc.gguf")
    wait_for_partial(4_000_000, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Run the same command again to resume." in err
    [partial] = dl.list_partial_downloads()
    assert 4_000_000 <= partial.done_bytes < len(data)

    assert main(["models", "download", "--cancel", TEST_REPO, "ctrlc.gguf"]) == 0
    assert dl.list_partial_downloads() == []
    assert main(["models", "download", "--cancel", TEST_REPO, "ctrlc.gguf"]) == 0


def test_download_prints_progress_and_the_saved_path(fake_hub: FakeHub,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fake_hub.add_file(TEST_REPO, "small.gguf", generated_bytes(3_000_000, seed=31))
    assert main(["models", "download", TEST_REPO, "small.gguf"]) == 0
    out, err = capsys.readouterr()
    target = paths.models_dir() / "longwriter-test__Tiny-GGUF" / "small.gguf"
    assert out.strip() == f"Saved to {target}"
    assert "Downloading small.gguf (3.00 MB) from longwriter-test/Tiny-GGUF" in err
    assert "100.0%  3.00 MB of 3.00 MB" in err and "Checksum OK" in err

    assert main(["models", "download", TEST_REPO, "small.gguf"]) == 0
    assert capsys.readouterr().out.strip() == f"Already downloaded: {target}"


def test_files_lists_gguf_files_with_sizes_and_status(fake_hub: FakeHub,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake_hub.add_file(TEST_REPO, "a-Q4_K_M.gguf", generated_bytes(1_500_000, seed=32))
    fake_hub.add_file(TEST_REPO, "b-Q8_0.gguf", generated_bytes(2_500_000, seed=33))
    fake_hub.add_file(TEST_REPO, "config.json", b"{}", lfs=False)
    assert main(["models", "download", TEST_REPO, "a-Q4_K_M.gguf"]) == 0
    capsys.readouterr()
    assert main(["models", "files", TEST_REPO]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "size", "status"]
    assert lines[1].split() == ["a-Q4_K_M.gguf", "1.50", "MB", "downloaded"]
    assert lines[2].split() == ["b-Q8_0.gguf", "2.50", "MB"]
    assert "config.json" not in "\n".join(lines)


def test_errors_are_one_plain_line(fake_hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    fake_hub.add_file(TEST_REPO, "m.gguf", b"GGUF" + bytes(10))
    assert main(["models", "download", TEST_REPO, "nope.gguf"]) == 2
    err = capsys.readouterr().err
    assert err == (f"longwriter: {TEST_REPO} has no file called 'nope.gguf'. List its GGUF files with: "
                   f"longwriter models files {TEST_REPO}\n")
    assert main(["models", "files", "not a repo"]) == 2
    assert "is not a Hugging Face repository id" in capsys.readouterr().err
