"""The resumable downloader against a real local Hub server: resume, verify, pause, cancel, failures."""

from __future__ import annotations

import errno
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from longwriter_desktop import paths
from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.errors import InputError
from longwriter_desktop.library import download as dl
from longwriter_desktop.testing.hubserver import FakeHub, generated_bytes

TEST_REPO = "longwriter-test/Tiny-GGUF"
FAST = dl.DownloadOptions(backoff_seconds=0.01, stall_seconds=5, progress_interval=0.02)
MB = 1_000_000


def events_of(*args: Any, **kwargs: Any) -> list[dl.DownloadEvent]:
    kwargs.setdefault("options", FAST)
    return list(dl.download(*args, **kwargs))


def last(events: list[dl.DownloadEvent]) -> dl.DownloadEvent:
    return events[-1]


def of_type(events: list[dl.DownloadEvent], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def partial_files() -> list[Path]:
    return sorted(p for p in paths.partial_downloads_dir().iterdir() if p.suffix in (".part", ".json"))


def cdn_gets(hub: FakeHub) -> int:
    return sum(1 for r in hub.requests if r.server == "cdn" and r.method == "GET")


def download_until(hub: FakeHub, filename: str, fraction: float, control: dl.DownloadControl,
                   action: str = "pause") -> list[dl.DownloadEvent]:
    """Run a download and pause (or cancel) it once ``fraction`` of the file is on disk."""
    events: list[dl.DownloadEvent] = []
    for event in dl.download(TEST_REPO, filename, control=control, options=FAST):
        events.append(event)
        if isinstance(event, dl.DownloadProgress) and event.fraction >= fraction:
            getattr(control, action)()
    return events


def test_downloads_and_verifies_the_builtin_gguf(fake_hub: FakeHub, builtin_gguf: Path) -> None:
    fake_hub.add_file(TEST_REPO, builtin_gguf.name, builtin_gguf)
    events = events_of(TEST_REPO, builtin_gguf.name)
    done = last(events)
    assert isinstance(done, dl.DownloadDone), done
    assert done.path == paths.models_dir() / "longwriter-test__Tiny-GGUF" / builtin_gguf.name
    assert done.digest == sha256_of(builtin_gguf) == sha256_of(done.path)
    assert done.size_bytes == builtin_gguf.stat().st_size == fake_hub.bytes_served
    assert [type(e) for e in events if not isinstance(e, dl.DownloadProgress)] == [
        dl.DownloadStarted, dl.DownloadVerifying, dl.DownloadDone]
    progress = of_type(events, dl.DownloadProgress)
    assert progress[-1].done_bytes == progress[-1].total_bytes == done.size_bytes
    assert read_gguf(done.path).metadata  # a real, readable model
    assert partial_files() == []
    # Asking again finds it in place and fetches nothing.
    fake_hub.reset_counters()
    again = last(events_of(TEST_REPO, builtin_gguf.name))
    assert isinstance(again, dl.DownloadDone) and again.already_present
    assert fake_hub.bytes_served == 0


def test_dropped_connections_resume_without_refetching(fake_hub: FakeHub) -> None:
    data = generated_bytes(6 * MB, seed=1)
    fake_hub.add_file(TEST_REPO, "drop.gguf", data)
    fake_hub.drop_next(after_bytes=2 * MB, times=2)
    events = events_of(TEST_REPO, "drop.gguf")
    assert isinstance(last(events), dl.DownloadDone)
    retries = of_type(events, dl.DownloadRetrying)
    assert [r.done_bytes for r in retries] == [2 * MB, 4 * MB]
    assert all(r.attempt == 1 for r in retries)  # progress was made each time, so the count restarts
    assert fake_hub.bytes_served == len(data)  # no byte fetched twice
    ranges = [r.range for r in fake_hub.requests if r.server == "cdn"]
    assert ranges == ["bytes=0-", f"bytes={2 * MB}-", f"bytes={4 * MB}-"]


def test_a_later_run_resumes_after_giving_up(fake_hub: FakeHub) -> None:
    data = generated_bytes(4 * MB, seed=2)
    fake_hub.add_file(TEST_REPO, "later.gguf", data)
    fake_hub.drop_next(after_bytes=3 * MB)
    options = dl.DownloadOptions(backoff_seconds=0.01, max_attempts=2)
    events = []
    for event in dl.download(TEST_REPO, "later.gguf", options=options):
        events.append(event)
        if isinstance(event, dl.DownloadRetrying) and event.attempt == 1:
            fake_hub.fail_next(503, times=2)  # after the drop, the server goes down for a while
    failed = last(events)
    assert isinstance(failed, dl.DownloadFailed)
    assert failed.partial_kept
    assert "3 times in a row" in failed.message and "HTTP 503" in failed.message
    assert "run the download again to resume" in failed.message
    assert [p.done_bytes for p in dl.list_partial_downloads()] == [3 * MB]
    events = events_of(TEST_REPO, "later.gguf")
    started = of_type(events, dl.DownloadStarted)[0]
    assert started.resumed_bytes == 3 * MB
    assert isinstance(last(events), dl.DownloadDone)
    assert fake_hub.bytes_served == len(data)


def test_server_errors_are_retried_with_backoff(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "busy.gguf", generated_bytes(MB, seed=3))
    fake_hub.fail_next(503, times=2)
    options = dl.DownloadOptions(backoff_seconds=0.05)
    events = list(dl.download(TEST_REPO, "busy.gguf", options=options))
    retries = of_type(events, dl.DownloadRetrying)
    assert [(r.attempt, r.delay_seconds) for r in retries] == [(1, 0.05), (2, 0.1)]
    assert "HTTP 503" in retries[0].reason
    assert isinstance(last(events), dl.DownloadDone)


def test_a_stalled_connection_is_reopened(fake_hub: FakeHub) -> None:
    data = generated_bytes(3 * MB, seed=4)
    fake_hub.add_file(TEST_REPO, "stall.gguf", data)
    fake_hub.stall_next(after_bytes=MB, seconds=30)
    options = dl.DownloadOptions(stall_seconds=0.5, backoff_seconds=0.01)
    began = time.monotonic()
    events = list(dl.download(TEST_REPO, "stall.gguf", options=options))
    assert time.monotonic() - began < 10
    retry = of_type(events, dl.DownloadRetrying)[0]
    assert "no data arrived for 0.5 s" in retry.reason and retry.done_bytes == MB
    assert isinstance(last(events), dl.DownloadDone)
    assert fake_hub.bytes_served == len(data)


def test_pause_then_resume(fake_hub: FakeHub) -> None:
    data = generated_bytes(8 * MB, seed=5)
    fake_hub.add_file(TEST_REPO, "pause.gguf", data)
    fake_hub.throttle_bytes_per_second = 16 * MB
    events = download_until(fake_hub, "pause.gguf", 0.3, dl.DownloadControl())
    paused = last(events)
    assert isinstance(paused, dl.DownloadPaused)
    assert paused.partial_path.stat().st_size == paused.done_bytes >= 0.3 * len(data)
    assert not (paths.models_dir() / "longwriter-test__Tiny-GGUF" / "pause.gguf").exists()
    [partial] = dl.list_partial_downloads()
    assert (partial.repo_id, partial.filename) == (TEST_REPO, "pause.gguf")
    assert partial.done_bytes == paused.done_bytes

    fake_hub.throttle_bytes_per_second = None
    fake_hub.reset_counters()
    events = events_of(TEST_REPO, "pause.gguf")
    assert of_type(events, dl.DownloadChecking)[-1].checked_bytes == paused.done_bytes
    assert of_type(events, dl.DownloadStarted)[0].resumed_bytes == paused.done_bytes
    done = last(events)
    assert isinstance(done, dl.DownloadDone) and done.downloaded_bytes == len(data) - paused.done_bytes
    assert sha256_of(done.path) == hashlib.sha256(data).hexdigest()
    assert fake_hub.bytes_served == len(data) - paused.done_bytes  # nothing on disk is fetched again
    assert dl.list_partial_downloads() == []


def test_pause_wakes_a_read_blocked_on_a_stalled_connection(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "stuck.gguf", generated_bytes(3 * MB, seed=6))
    fake_hub.stall_next(after_bytes=MB, seconds=30)
    control = dl.DownloadControl()
    paused_at: list[float] = []

    def pause_once_stalled() -> None:  # as a GUI's Pause button would, from another thread
        while fake_hub.bytes_served < MB:
            time.sleep(0.01)
        time.sleep(0.3)  # the downloader is now blocked reading a connection that sends nothing
        paused_at.append(time.monotonic())
        control.pause()

    pauser = threading.Thread(target=pause_once_stalled)
    pauser.start()
    events = list(dl.download(TEST_REPO, "stuck.gguf", control=control,
                              options=dl.DownloadOptions(stall_seconds=30)))
    pauser.join()
    assert time.monotonic() - paused_at[0] < 2  # not the 30 s of the stall timeout
    paused = last(events)
    assert isinstance(paused, dl.DownloadPaused) and paused.done_bytes == MB
    assert not of_type(events, dl.DownloadRetrying)  # a pause is not a connection failure


def test_cancel_deletes_the_partial_file(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "cancel.gguf", generated_bytes(6 * MB, seed=7))
    fake_hub.throttle_bytes_per_second = 20 * MB
    events = download_until(fake_hub, "cancel.gguf", 0.2, dl.DownloadControl(), action="cancel")
    assert isinstance(last(events), dl.DownloadCancelled)
    assert partial_files() == []
    assert not (paths.models_dir() / "longwriter-test__Tiny-GGUF" / "cancel.gguf").exists()

    # A paused download can be cancelled later, by name.
    events = download_until(fake_hub, "cancel.gguf", 0.2, dl.DownloadControl())
    assert isinstance(last(events), dl.DownloadPaused)
    assert dl.cancel_download(TEST_REPO, "cancel.gguf") is True
    assert partial_files() == []
    assert dl.cancel_download(TEST_REPO, "cancel.gguf") is False


def test_one_download_of_a_file_at_a_time(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "busy.gguf", generated_bytes(4 * MB, seed=8))
    fake_hub.throttle_bytes_per_second = 4 * MB
    first = dl.download(TEST_REPO, "busy.gguf", options=FAST)
    assert any(isinstance(event, dl.DownloadStarted) for event in first)  # runs until started
    second = last(events_of(TEST_REPO, "busy.gguf"))
    assert isinstance(second, dl.DownloadFailed)
    assert "already being downloaded" in second.message
    with pytest.raises(dl.DownloadError, match="being downloaded right now"):
        dl.cancel_download(TEST_REPO, "busy.gguf")
    first.close()  # the first one stops (as when a window closes): its lock goes with it
    fake_hub.throttle_bytes_per_second = None
    assert isinstance(last(events_of(TEST_REPO, "busy.gguf")), dl.DownloadDone)


def test_a_wrong_hash_is_rejected_and_deleted(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "bad.gguf", generated_bytes(2 * MB, seed=9))
    fake_hub.advertise_wrong_sha256(TEST_REPO, "bad.gguf")
    failed = last(events_of(TEST_REPO, "bad.gguf"))
    assert isinstance(failed, dl.DownloadFailed)
    assert "did not match the checksum" in failed.message and "deleted" in failed.message
    assert not failed.partial_kept
    assert partial_files() == []
    assert not list(paths.models_dir().rglob("*.gguf"))


def test_a_file_changed_on_the_hub_starts_over_and_says_so(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "moving.gguf", generated_bytes(6 * MB, seed=10))
    fake_hub.throttle_bytes_per_second = 20 * MB
    paused = last(download_until(fake_hub, "moving.gguf", 0.3, dl.DownloadControl()))
    assert isinstance(paused, dl.DownloadPaused)
    new_data = generated_bytes(5 * MB, seed=11)
    fake_hub.add_file(TEST_REPO, "moving.gguf", new_data)  # a new commit replaces the file
    fake_hub.throttle_bytes_per_second = None
    events = events_of(TEST_REPO, "moving.gguf")
    started = of_type(events, dl.DownloadStarted)[0]
    assert started.resumed_bytes == 0
    assert started.restart_reason and "changed on the Hub" in started.restart_reason
    done = last(events)
    assert isinstance(done, dl.DownloadDone) and done.digest == hashlib.sha256(new_data).hexdigest()


def test_a_server_that_ignores_ranges_restarts_the_file(fake_hub: FakeHub) -> None:
    data = generated_bytes(4 * MB, seed=12)
    fake_hub.add_file(TEST_REPO, "norange.gguf", data)
    fake_hub.throttle_bytes_per_second = 16 * MB
    download_until(fake_hub, "norange.gguf", 0.3, dl.DownloadControl())
    fake_hub.throttle_bytes_per_second = None
    fake_hub.ignore_ranges = True
    events = events_of(TEST_REPO, "norange.gguf")
    reasons = [e.restart_reason for e in of_type(events, dl.DownloadStarted)]
    assert reasons[-1] and "would not resume" in reasons[-1]
    done = last(events)
    assert isinstance(done, dl.DownloadDone) and done.digest == hashlib.sha256(data).hexdigest()


def test_bytes_lost_in_a_power_cut_are_fetched_again(fake_hub: FakeHub) -> None:
    data = generated_bytes(6 * MB, seed=13)
    fake_hub.add_file(TEST_REPO, "power.gguf", data)
    fake_hub.throttle_bytes_per_second = 16 * MB
    paused = last(download_until(fake_hub, "power.gguf", 0.5, dl.DownloadControl()))
    assert isinstance(paused, dl.DownloadPaused)
    # Simulate a power cut: the last MB never reached the disk (zeros), after the last checkpoint.
    with paused.partial_path.open("r+b") as fh:
        fh.seek(paused.done_bytes - MB)
        fh.write(bytes(MB))
    record_path = paused.partial_path.with_suffix(".json")
    record = json.loads(record_path.read_text())
    record["durable_bytes"] = paused.done_bytes - MB
    record_path.write_text(json.dumps(record))
    fake_hub.throttle_bytes_per_second = None
    events = events_of(TEST_REPO, "power.gguf")
    retry = of_type(events, dl.DownloadRetrying)[-1]
    assert "did not match its checksum" in retry.reason and retry.done_bytes == paused.done_bytes - MB
    done = last(events)
    assert isinstance(done, dl.DownloadDone) and sha256_of(done.path) == hashlib.sha256(data).hexdigest()


class FillingDisk:
    """Opens files whose writes fail with ENOSPC once ``room`` bytes were written: a disk filling up."""

    def __init__(self, room: int) -> None:
        self.room = room

    def open(self, path: Path, mode: str) -> BinaryIO:
        return _FillingFile(open(path, mode), self)  # type: ignore[return-value]


class _FillingFile:
    def __init__(self, raw: BinaryIO, disk: FillingDisk) -> None:
        self._raw = raw
        self._disk = disk

    def write(self, data: bytes) -> int:
        if len(data) > self._disk.room:
            self._raw.write(data[: self._disk.room])  # a short write, then the error, as a real disk does
            self._disk.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._disk.room -= len(data)
        return self._raw.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def test_a_full_disk_keeps_the_partial_file_and_resumes_later(fake_hub: FakeHub) -> None:
    data = generated_bytes(5 * MB, seed=14)
    fake_hub.add_file(TEST_REPO, "full.gguf", data)
    room = 2 * MB + 12345
    options = dl.DownloadOptions(open_file=FillingDisk(room).open)
    failed = last(list(dl.download(TEST_REPO, "full.gguf", options=options)))
    assert isinstance(failed, dl.DownloadFailed)
    assert failed.message.startswith("The disk is full")
    assert "run the download again to resume" in failed.message
    assert failed.partial_kept
    [partial] = dl.list_partial_downloads()
    assert partial.done_bytes == room
    assert Path(str(partial.partial_path)).read_bytes() == data[:room]  # nothing corrupt on disk
    assert not (paths.models_dir() / "longwriter-test__Tiny-GGUF" / "full.gguf").exists()

    fake_hub.reset_counters()
    done = last(events_of(TEST_REPO, "full.gguf"))
    assert isinstance(done, dl.DownloadDone) and sha256_of(done.path) == hashlib.sha256(data).hexdigest()
    assert fake_hub.bytes_served == len(data) - room


def test_not_enough_free_space_stops_before_downloading(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "huge.gguf", generated_bytes(MB, seed=15))
    options = dl.DownloadOptions(free_space_margin_bytes=10**18)  # more than any disk has
    failed = last(list(dl.download(TEST_REPO, "huge.gguf", options=options)))
    assert isinstance(failed, dl.DownloadFailed)
    assert failed.message.startswith("Not enough free disk space for huge.gguf")
    assert cdn_gets(fake_hub) == 0 and partial_files() == []


def test_files_kept_in_git_are_verified_with_their_git_hash(fake_hub: FakeHub) -> None:
    data = generated_bytes(200_000, seed=16)
    fake_hub.add_file(TEST_REPO, "small.gguf", data, lfs=False)
    done = last(events_of(TEST_REPO, "small.gguf"))
    assert isinstance(done, dl.DownloadDone) and done.algorithm == "git-sha1"
    assert done.path.read_bytes() == data


def test_subfolders_stay_inside_the_repo_folder(fake_hub: FakeHub) -> None:
    fake_hub.add_file(TEST_REPO, "Q4_K_M/part-00001-of-00002.gguf", generated_bytes(MB, seed=17))
    done = last(events_of(TEST_REPO, "Q4_K_M/part-00001-of-00002.gguf"))
    assert isinstance(done, dl.DownloadDone)
    folder = paths.models_dir() / "longwriter-test__Tiny-GGUF"
    assert done.path == folder / "Q4_K_M" / "part-00001-of-00002.gguf"


UNSAFE_NAMES = ["../evil.gguf", "sub/../../evil.gguf", "/etc/evil.gguf", "..\\evil.gguf", "C:evil.gguf",
                "C:\\Windows\\evil.gguf", "./model.gguf", "a//b.gguf", "sub/", "", "evil.gguf.", "evil.gguf ",
                "con.gguf", "NUL.gguf", "model.exe", "bad\x00name.gguf", "new\nline.gguf",
                "a" * 300 + ".gguf"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="Refusing to download"):
        dl.safe_relative_parts(name)
    assert not dl.is_safe_file_name(name)


def test_an_unsafe_name_listed_by_the_hub_is_never_requested(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_file(TEST_REPO, "../../escape.gguf", b"GGUF" + bytes(100))
    failed = last(events_of(TEST_REPO, "../../escape.gguf"))
    assert isinstance(failed, dl.DownloadFailed) and isinstance(failed.error, InputError)
    assert fake_hub.requests == []
    assert not list(paths.data_dir().parent.rglob("escape.gguf"))
