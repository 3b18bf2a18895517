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


# ---------------------------------------------------------------- who listens on a port

_TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_TCP_LISTEN = "0A"


def listening_inodes(port: int) -> set[int]:
    """Socket inodes listening on `port` (any address, IPv4 or IPv6), from /proc/net/tcp*."""
    inodes = set()
    for table in _TCP_TABLES:
        try:
            with open(table) as f:
                next(f)  # the column names
                for line in f:
                    # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    fields = line.split()
                    if (len(fields) > 9 and fields[3] == _TCP_LISTEN
                            and int(fields[1].rsplit(":", 1)[1], 16) == port):
                        inodes.add(int(fields[9]))
        except (OSError, ValueError, StopIteration):
            continue
    return inodes


def group_socket_inodes(pgid: int) -> set[int]:
    """Inodes of every socket held open by a process of the group."""
    inodes = set()
    for pid in group_pids(pgid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # exited while we looked
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def port_listeners(port: int, pgid: int) -> tuple[bool, int]:
    """(the group listens on port, how many listening sockets there are outside the group)."""
    listening = listening_inodes(port)
    if not listening:
        return False, 0
    ours = listening & group_socket_inodes(pgid)
    return bool(ours), len(listening - ours)
