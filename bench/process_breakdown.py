"""`bench/scale.py --by-process`: where the tree's CPU and memory go, summed per actor class.

Each process of the tree is labelled by the first word of its command line. Thespian names an
actor process after its class (and address) when the setproctitle package is installed (the
test extras install it): "StringMaster ActorAddr-(T|:4711)" counts as StringMaster, Thespian's
admin as MultiprocAdmin... and its log director as "logger". The main program keeps its own
command line and counts as "btms (main program)". Without setproctitle every forked process
shows the main program's command line and is counted as "unnamed", which the table says. The
gateway sets SPT_NOENV, so that a title never overwrites what /proc/PID/environ shows.
CPU is user + system seconds over the measured window (utime + stime of /proc/PID/stat); PSS
is from /proc/PID/smaps_rollup at the sample where the tree's total PSS peaked.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
MAIN_LABEL = "btms (main program)"
UNNAMED = "unnamed (no setproctitle?)"
TOP = 12  # rows per table: enough for every kind of process of a production gateway


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # fields 14 and 15 of proc(5)


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def label(pid: int, main_pid: int) -> str:
    if pid == main_pid:
        return MAIN_LABEL
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().replace(b"\0", b" ").decode(errors="replace").split()
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    if not argv or "python" in os.path.basename(argv[0]):
        return UNNAMED  # a fork that kept the main program's command line
    return argv[0]


@dataclass
class Row:
    label: str
    processes: int = 0
    cpu_s: float = 0.0
    pss_kib: int = 0


def breakdown(cpu0: dict[int, float], cpu1: dict[int, float], pss: dict[int, int], labels: dict[int, str]) -> list[Row]:
    """One row per label: its processes, their CPU seconds between the two readings, their PSS."""
    rows: dict[str, Row] = defaultdict(lambda: Row(""))
    for pid in set(cpu1) | set(pss):
        row = rows[labels.get(pid, "gone")]
        row.processes += 1
        row.cpu_s += max(0.0, cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0))
        row.pss_kib += pss.get(pid, 0)
    for name, row in rows.items():
        row.label = name
    return list(rows.values())


def report(rows: list[Row], elapsed_s: float) -> list[str]:
    """Two tables, the classes by CPU and by PSS, largest first."""
    total_cpu = sum(r.cpu_s for r in rows) or 1.0
    total_pss = sum(r.pss_kib for r in rows) or 1
    lines = [f"by process class, CPU over {elapsed_s:.1f} s:"]
    lines.append(f"  {'class':<26} {'procs':>5} {'cpu s/s':>8} {'share':>6} {'per proc':>9}")
    for r in sorted(rows, key=lambda r: -r.cpu_s)[:TOP]:
        lines.append(
            f"  {r.label:<26} {r.processes:>5} {r.cpu_s / elapsed_s:>8.4f} {r.cpu_s / total_cpu:>6.1%}"
            f" {r.cpu_s / elapsed_s / r.processes:>9.4f}"
        )
    lines.append("by process class, PSS at the peak:")
    lines.append(f"  {'class':<26} {'procs':>5} {'MiB':>8} {'share':>6} {'per proc':>9}")
    for r in sorted(rows, key=lambda r: -r.pss_kib)[:TOP]:
        lines.append(
            f"  {r.label:<26} {r.processes:>5} {r.pss_kib / 1024:>8.1f} {r.pss_kib / total_pss:>6.1%}"
            f" {r.pss_kib / 1024 / r.processes:>9.1f}"
        )
    return lines
