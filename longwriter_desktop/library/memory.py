"""How much RAM this machine has and how much is free, with psutil where installed, else the stdlib.

psutil is not a runtime dependency: Linux (/proc/meminfo), macOS (sysctl, vm_stat) and Windows
(GlobalMemoryStatusEx) each tell it in a few lines without it.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemMemory:
    total: int  # bytes of physical RAM
    available: int  # bytes a new program can take without swapping (the page cache counts as free)


def system_memory(*, use_psutil: bool = True) -> SystemMemory | None:
    """The machine's RAM, or None where it cannot be read."""
    if use_psutil:
        try:
            import psutil
        except ImportError:
            pass
        else:
            memory = psutil.virtual_memory()
            return SystemMemory(int(memory.total), int(memory.available))
    try:
        if sys.platform.startswith("linux"):
            return parse_meminfo(Path("/proc/meminfo").read_text())
        if sys.platform == "darwin":
            return _macos_memory()
        if sys.platform == "win32":
            return _windows_memory()
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return None


def parse_meminfo(text: str) -> SystemMemory:
    """Total and available RAM from the text of Linux's /proc/meminfo."""
    fields = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+):\s+(\d+)\s*kB", line)
        if match:
            fields[match.group(1)] = int(match.group(2)) * 1024
    if "MemTotal" not in fields:
        raise ValueError("/proc/meminfo has no MemTotal line")
    available = fields.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = sum(fields.get(key, 0) for key in ("MemFree", "Buffers", "Cached"))
    return SystemMemory(fields["MemTotal"], min(available, fields["MemTotal"]))


def _macos_memory() -> SystemMemory:
    total = int(subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, check=True,
                               timeout=5).stdout.strip())
    vm_stat = subprocess.run(["vm_stat"], capture_output=True, text=True, check=True, timeout=5).stdout
    page_match = re.search(r"page size of (\d+) bytes", vm_stat)
    page = int(page_match.group(1)) if page_match else 4096
    counts = re.findall(r"^(.+?):\s+(\d+)\.", vm_stat, re.M)
    pages = {name.strip().lower(): int(count) for name, count in counts}
    # Free plus inactive pages, as psutil counts "available" on macOS.
    free_pages = pages.get("pages free", 0) + pages.get("pages inactive", 0)
    return SystemMemory(total, min(total, free_pages * page))


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", ctypes.c_ulong),
        ("dwMemoryLoad", ctypes.c_ulong),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def _windows_memory() -> SystemMemory:
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        raise OSError("GlobalMemoryStatusEx failed")
    return SystemMemory(int(status.ullTotalPhys), int(status.ullAvailPhys))
