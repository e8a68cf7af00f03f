"""5. Downloads: the app's downloader against a plain fetch from a local Hub, and sha256 speed."""


from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import _median
from .overhead import _paired

# -- 5. downloads -------------------------------------------------------------------------------------


def downloads_available() -> bool:
    """True when library/download.py is on this branch."""
    return importlib.util.find_spec("longwriter_desktop.library.download") is not None


def _plain_fetch(url: str, destination: Path) -> float:
    """GET with urllib (redirects followed), 1 MiB reads written to a file; returns the seconds it took."""
    import urllib.request

    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response, destination.open("wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)
    return time.perf_counter() - started


def _app_fetch(repo_id: str, filename: str) -> tuple[float, str]:
    """The app's downloader, to completion; returns the seconds it took (as timed here) and its digest."""
    from ..library import download as dl

    started = time.perf_counter()
    done = None
    for event in dl.download(repo_id, filename):
        if isinstance(event, dl.DownloadFailed):
            raise RuntimeError(f"the app's download failed: {event}")
        if isinstance(event, dl.DownloadDone):
            done = event
    seconds = time.perf_counter() - started
    if done is None:
        raise RuntimeError("the app's download ended without a result")
    done.path.unlink()
    return seconds, done.digest


def measure_downloads(model_path: Path, *, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The app's downloader against urllib, alternating, both from the local fake Hub; and sha256 speed."""
    result: dict[str, Any] = {"sha256": measure_sha256(model_path), "download_module": downloads_available()}
    server_module = importlib.util.find_spec("longwriter_desktop.testing.hubserver")
    if not result["download_module"] or server_module is None:
        return result
    from ..library import hub as hub_api
    from ..testing import hubserver

    saved = {name: os.environ.get(name) for name in
             (hubserver.ENABLE_ENV, "HF_ENDPOINT", "HF_TOKEN", "NO_PROXY", "HF_HUB_DISABLE_TELEMETRY")}
    os.environ.update({hubserver.ENABLE_ENV: "1", "NO_PROXY": "127.0.0.1,localhost",
                       "HF_HUB_DISABLE_TELEMETRY": "1", "HF_TOKEN": hubserver.DEFAULT_TOKEN})
    repo_id, filename = hubserver.DEFAULT_REPO, model_path.name
    fake = hubserver.FakeHub().start()
    size = model_path.stat().st_size
    try:
        os.environ["HF_ENDPOINT"] = fake.endpoint
        fake.add_file(repo_id, filename, model_path)
        url = hub_api.remote_file(repo_id, filename).url
        rates: dict[str, list[float]] = {"app": [], "plain": []}
        with tempfile.TemporaryDirectory(prefix="bench-plain-") as scratch:
            plain_file = Path(scratch) / filename
            for round_no in range(rounds):
                order = ("app", "plain") if round_no % 2 == 0 else ("plain", "app")
                for name in order:
                    if name == "app":
                        seconds, digest = _app_fetch(repo_id, filename)
                        if digest != hashlib.sha256(model_path.read_bytes()).hexdigest():
                            raise RuntimeError("the app's download does not match the served file")
                    else:
                        seconds = _plain_fetch(url, plain_file)
                        plain_file.unlink()
                    rates[name].append(size / 1e6 / seconds)
                    log(f"  download round {round_no + 1}/{rounds}: {name} {rates[name][-1]:.0f} MB/s")
    finally:
        fake.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    med = {k: _median(v) for k, v in rates.items()}
    result.update({"bytes": size, "rounds": rounds, "rates": rates, "median": med,
                   "ratio": med["app"] / med["plain"] if med["plain"] else 0.0,
                   "paired_ratio": _paired(rates["app"], rates["plain"])})
    return result


def measure_sha256(path: Path) -> dict[str, Any]:
    """hashlib sha256 over a file in 1 MiB reads: the limit for any download verification."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    started = time.perf_counter()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    seconds = time.perf_counter() - started
    return {"bytes": size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds if seconds else 0.0}


