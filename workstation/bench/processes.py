"""CPU and memory of other processes, read from /proc (Linux): a Chromium browser's whole
process tree, or one process."""

from __future__ import annotations

import os
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024


@dataclass(frozen=True)
class Usage:
    cpu_s: float
    rss_mb: float


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", encoding="utf-8", errors="replace") as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def chromium_browsers() -> set[int]:
    """The pids of running Chromium browser processes (not their renderers and helpers)."""
    found = set()
    for pid in _pids():
        command = _cmdline(pid)
        first = command.split(" ", 1)[0]
        if first.endswith("/chromium") and "--type=" not in command:
            found.add(pid)
    return found


def tree(root: int) -> set[int]:
    """``root`` and all its descendants now."""
    parents: dict[int, int] = {}
    for pid in _pids():
        fields = _stat(pid)
        if fields is not None:
            parents[pid] = int(fields[1])
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def usage(pids: set[int]) -> Usage:
    """CPU seconds spent so far and resident memory now, summed over ``pids`` (shared pages
    count once a process)."""
    cpu = 0.0
    rss = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields is None:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        rss += int(fields[21]) * PAGE_KB / 1024
    return Usage(cpu, rss)
