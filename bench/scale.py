"""Scale benchmark: a full gateway, 32 strings x 120 batteries, on the simulator.

Runs `btms run` as a user would (every service of a production gateway enabled), lets it scan
at 1 s for at least 60 s, and measures for the whole process tree (the main program and every
actor process of its actor system):
- scans completed by the field bus vs scans expected, and its worst start lag;
- that every string's status kept pace (scan numbers seen by the API);
- CPU seconds per second (user + system, all processes);
- peak total PSS (sum of Pss from /proc/PID/smaps_rollup: forked actors share pages, so
  summed RSS would overstate).
Last line: one JSON object with the keys below.

    python bench/scale.py [--seconds 60] [--strings 32] [--cells 120] [--by-process]

With `--by-process`, also prints, before the JSON line, the tree's CPU over the window and its
PSS at the peak summed per actor class (bench/process_breakdown.py: needs setproctitle, from the
test extras, for Thespian to name each actor process after its class).

With `--compare REV [--rounds 2]`, measures another revision against this tree: REV is checked
out into a temporary git worktree (removed afterwards), gets a temporary virtual environment only
if its [project].dependencies differ from this tree's, and each tree's own bench/scale.py then
runs alternately with the same --seconds/--strings/--cells, at least two rounds each (see
bench/compare_trees.py). The last line is this tree's figures (median CPU and PSS, fewest scans
done, worst lag) with "baseline": REV, "cpu_ratio" and "pss_ratio" (this tree / REV, medians),
REV's medians and the number of rounds. Exit status 2, with a one-line error, if git does not
know REV or a side's run fails five times in a row (a gateway that did not start is run again).

    python bench/scale.py --compare REV [--rounds 2] [--seconds 60] [--strings 32] [--cells 120] [--by-process]

With both, only this tree's runs print the breakdown (REV's own bench may not know the option).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from actors.messages.service import BusStats, GetBusStats  # noqa: E402
from bench import process_breakdown  # noqa: E402
from bench.bench_site import IO_MODULE, write_site  # noqa: E402
from bench.compare_trees import MIN_ROUNDS, compare  # noqa: E402
from tests.gateway_process import GatewayProcess, gateway_actor, kill_all, wait_serving  # noqa: E402


def topology(tmp: Path, strings: int, cells: int) -> tuple[Path, dict]:
    return write_site(
        tmp, strings, cells, name="Scale benchmark", outputs=[{"module": IO_MODULE, "output": 1, "function": "siren"}]
    )


def tree_pids(gateway: GatewayProcess) -> set[int]:
    return gateway.actor_pids() | {gateway.process.pid}


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still alive."""
    readings = {pid: process_breakdown.cpu_seconds(pid) for pid in pids}
    return {pid: s for pid, s in readings.items() if s is not None}


def pss_by_pid(pids: set[int]) -> dict[int, int]:
    """Each process's PSS in KiB: forked actors share pages, so summed RSS would overstate."""
    return {pid: process_breakdown.pss_kib(pid) for pid in pids}


BUS_STATS_ASKS = 4  # a loaded machine can leave one ask unanswered for its whole timeout
BUS_STATS_TIMEOUT_S = 10


def bus_stats(admin_port: int) -> BusStats:
    """The field bus's counters, asked again when an answer does not come in time: a two-hour
    soak once lost its result to one ask that a machine under a load average of 10 left late."""
    asys, gw = gateway_actor(admin_port)
    reply = None
    for _ in range(BUS_STATS_ASKS):
        reply = asys.ask(gw, GetBusStats(int(time.time() * 1000) % 1_000_000), BUS_STATS_TIMEOUT_S)
        if isinstance(reply, BusStats):
            return reply
    raise RuntimeError(f"no bus statistics from the gateway after {BUS_STATS_ASKS} asks: {reply!r}")


def string_scans(gateway: GatewayProcess) -> dict[str, int]:
    _, site = gateway.get("/api/v1/site")
    return {s["id"]: s.get("scan_no", -1) for s in site["strings"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--strings", type=int, default=32)
    parser.add_argument("--cells", type=int, default=120)
    parser.add_argument("--compare", metavar="REV", help="also run REV's tree, alternately, and compare")
    parser.add_argument(
        "--rounds", type=int, help=f"runs of each side with --compare (default and minimum {MIN_ROUNDS})"
    )
    parser.add_argument("--by-process", action="store_true", help="also print CPU and PSS per actor class")
    args = parser.parse_args()
    if args.rounds is not None and args.compare is None:
        parser.error("--rounds applies only with --compare REV")
    if args.compare is not None:
        rounds = MIN_ROUNDS if args.rounds is None else args.rounds
        if rounds < MIN_ROUNDS:
            parser.error(f"--rounds {rounds}: at least {MIN_ROUNDS} rounds are needed to compare")
        return compare(REPO, args.compare, rounds, args.seconds, args.strings, args.cells, args.by_process)

    with tempfile.TemporaryDirectory(prefix="btms-scale-") as tmp_name:
        tmp = Path(tmp_name)
        path, data = topology(tmp, args.strings, args.cells)
        gateway = GatewayProcess.start(tmp, path, data)
        pids: set[int] = set()
        labels: dict[int, str] = {}
        try:
            started = time.monotonic()
            wait_serving(gateway, timeout=60)
            print(f"serving after {time.monotonic() - started:.1f} s; warming up 5 s")
            time.sleep(5)  # benchmark pacing, not synchronisation: let start-up work settle
            pids = tree_pids(gateway)
            print(f"{len(pids)} processes in the tree")
            cpu0, scans0, stats0, t0 = (
                cpu_seconds(pids),
                string_scans(gateway),
                bus_stats(gateway.admin_port),
                time.monotonic(),
            )
            peak = pss_by_pid(pids)
            while time.monotonic() - t0 < args.seconds:
                time.sleep(2)  # sampling period of the PSS measurement
                pids |= tree_pids(gateway)
                labels |= {pid: process_breakdown.label(pid, gateway.process.pid) for pid in pids - labels.keys()}
                sample = pss_by_pid(pids)
                if sum(sample.values()) > sum(peak.values()):
                    peak = sample
            elapsed = time.monotonic() - t0
            cpu1, scans1, stats1 = cpu_seconds(pids), string_scans(gateway), bus_stats(gateway.admin_port)
        finally:
            pids |= tree_pids(gateway)
            gateway.stop(signal.SIGTERM)
            kill_all(pids)

    cpu = sum(cpu1.get(p, 0.0) - cpu0.get(p, 0.0) for p in cpu1)
    peak_pss = sum(peak.values()) / 1024.0
    if args.by_process:
        rows = process_breakdown.breakdown(cpu0, cpu1, peak, labels)
        print("\n".join(process_breakdown.report(rows, elapsed)))
    expected = round(elapsed / 1.0)  # scan starts in the window, at a 1 s period
    done = stats1.scans_done - stats0.scans_done
    lagging = {s: scans1[s] - scans0[s] for s in scans1 if scans1[s] - scans0[s] < expected - 1}
    print(f"scans: {done} done, {expected} expected over {elapsed:.1f} s; worst start lag {stats1.worst_lag_ms:.1f} ms")
    print(f"strings behind the bus: {lagging or 'none'}")
    print(f"CPU: {cpu:.2f} s in {elapsed:.1f} s = {cpu / elapsed:.3f} s/s (target <= 0.30)")
    print(f"peak PSS of the tree: {peak_pss:.0f} MiB (target <= 512)")
    print(
        json.dumps(
            {
                "bench": "scale",
                "cells": args.strings * args.cells,
                "scans_expected": expected,
                "scans_done": done,
                "worst_lag_ms": round(stats1.worst_lag_ms, 1),
                "cpu_s_per_s": round(cpu / elapsed, 3),
                "pss_mib": round(peak_pss, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
