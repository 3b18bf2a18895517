"""What the server and the client cost: CPU time and peak memory from /proc and rusage.

The server is its own process group (its pid is the group id), so everything it forks,
workers included, is counted by summing every process whose pgrp is that id.
"""

from __future__ import annotations

import dataclasses
import os
import resource

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].decode().split()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def group_cpu_seconds(pgid: int) -> float:
    """utime+stime of every process in the group, plus what their reaped children used."""
    ticks = 0
    for pid in group_pids(pgid):
        fields = _stat_fields(pid)
        if fields:
            # after the name: state ppid pgrp ... utime(11) stime(12) cutime(13) cstime(14)
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory this process has had, in KiB (0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_peak_rss_kib(pgid: int) -> int:
    """Sum of each live process's peak RSS (for forking servers: an upper bound)."""
    return sum(peak_rss_kib(pid) for pid in group_pids(pgid))


@dataclasses.dataclass
class ChildUsage:
    """CPU seconds used by the children reaped between start() and stop() (the load client)."""

    before: float = 0.0
    seconds: float = 0.0

    @staticmethod
    def _now() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> float:
        self.seconds = self._now() - self.before
        return self.seconds
