"""Resident memory of this process: now (VmRSS), and its peak since a reset (VmHWM after
writing 5 to /proc/self/clear_refs), on Linux; psutil's RSS elsewhere."""
from __future__ import annotations

import re
from pathlib import Path

import psutil

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def rss_bytes() -> int | None:
    """Resident memory: /proc on Linux, psutil elsewhere (macOS, Windows)."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    try:
        return int(psutil.Process().memory_info().rss)
    except Exception:  # psutil missing or not permitted: the probe says it cannot run
        return None


def hwm_bytes() -> int | None:
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


def reset_hwm() -> bool:
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False
