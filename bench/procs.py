"""Processes as /proc shows them, for the benchmarks: a process tree, its resident memory,
and the CPU seconds of the API, the worker, PostgreSQL and Redis.

CPU seconds are ``utime + stime`` (clock ticks), plus ``cutime + cstime`` for processes
whose children come and go (PostgreSQL's postmaster reaps its backends, so their time
survives them). Nothing here needs root when the processes are the caller's or it is root.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/pid/stat after the command name (field 3 is index 0)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]


def descendants(root_pid: int) -> list[int]:
    """Every process below ``root_pid``."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        fields = _stat(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)
    found: list[int] = []
    todo = list(children.get(root_pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total = 0
    for pid in [root_pid, *descendants(root_pid)]:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError):
            continue
    return total


def cpu_of(pids: Iterable[int], with_children: bool = False) -> float:
    """CPU seconds used so far by these processes (and their reaped children)."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is None:
            continue
        ticks += int(fields[11]) + int(fields[12])
        if with_children:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def tree_cpu(root_pid: int) -> float:
    """CPU seconds of a process tree: the live processes and those they reaped."""
    return cpu_of([root_pid, *descendants(root_pid)], with_children=True)


def named_cpu(name: str, leave_out: Iterable[int] = ()) -> float:
    """CPU seconds of every process called ``name`` (``postgres``, ``redis-server``),
    reaped children included, except the ``leave_out`` pids (the benchmark's own database
    sessions)."""
    skip = set(leave_out)
    pids = [pid for pid in _pids() if pid not in skip and _comm(pid) == name]
    return cpu_of(pids, with_children=True)
