"""Micro-benchmark: the CPU one string master spends per scan, without the gateway around it.

One StringMaster of 120 batteries (2 V, 1000 Ah, as bench/bench_site.py) is created outside any
actor system and handed the StringScans of a simulated string in float charge (sim/), one per
simulated second, exactly as Thespian would hand them: through its receiveMessage. Its private
in-process cell system (simpleSystemBase, with its 120 CellSensor actors) runs for real; what
it sends out (status to the UPS, alarms, snapshots) is pickled as the TCP transport would, and
dropped. The scans are made before the clock starts, so the figure is the master's own work.

    python bench/string_master_step.py [--scans 200] [--rounds 5] [--baseline REV | --no-baseline]

By default REV (main) is checked out into a temporary git worktree (bench/revision_tree.py) and
measured in the same run, alternating with this tree, each in a fresh interpreter that imports
only its own tree. This script drives both sides, so REV must have the modules it imports (main
has; a tree laid out otherwise, such as bd70257's, fails with a one-line error). The last line is
one JSON object: this tree's median ms per scan and REV's.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
CELLS = 120
WARMUP_SCANS = 30  # the cell system's first scans create objects that later scans reuse


class _Outbox:
    """Stands in for Thespian's actor reference: whatever the master sends is pickled, then dropped."""

    def __init__(self, address) -> None:
        self.address = address
        self.statuses = 0

    def actor_send(self, target, message) -> None:
        pickle.dumps((self.address, target, message))
        self.statuses += type(message).__name__ == "StringStatus"


def _scans(config, count: int, start: float) -> list:
    from battery.readings import StringScan
    from sim.string_model import SimulatedString

    string = SimulatedString(config, seed=1)
    scans = []
    for i in range(count):
        string.advance(start + i)
        m = string.measure()
        scans.append(
            StringScan(
                config.id,
                i + 1,
                start + i,
                True,
                m.voltage_cv,
                m.current_ca,
                m.hall_ok,
                m.ambient_dc,
                m.humidity_dpct,
                m.relay_closed,
                m.cell_voltage_mv,
                m.cell_resistance_uohm,
                m.cell_temperature_dc,
                m.cell_responded,
            )
        )
    return scans


def measure(root: Path, scans: int) -> float:
    """ms of CPU per scan of one string master of the tree at root (imported from there only)."""
    sys.path.insert(0, str(root))
    import tempfile

    from thespian.actors import ActorAddress, ActorExitRequest

    from actors.messages.down import InitStringMaster
    from actors.string.string_master import StringMaster
    from bench.bench_site import write_site
    from topology.loader import load_topology

    with tempfile.TemporaryDirectory(prefix="btms-step-") as tmp:
        path, _ = write_site(Path(tmp), 1, CELLS, name="String master step", outputs=[])
        config = load_topology(path).upses[0].strings[0]
    work = _scans(config, WARMUP_SCANS + scans, start=time.time() - WARMUP_SCANS - scans)
    master = StringMaster()
    master._myRef = outbox = _Outbox(ActorAddress("string-master"))
    ups, bus, alarms = ActorAddress("ups"), ActorAddress("bus"), ActorAddress("alarms")
    master.receiveMessage(InitStringMaster(config, bus, ups, None, alarms), ups)
    try:
        for scan in work[:WARMUP_SCANS]:
            master.receiveMessage(scan, bus)
        outbox.statuses = 0
        started = time.process_time()
        for scan in work[WARMUP_SCANS:]:
            master.receiveMessage(scan, bus)
        spent = time.process_time() - started
    finally:
        master.receiveMessage(ActorExitRequest(), ups)
    if outbox.statuses != scans:  # every scan must have gone all the way to its status
        raise RuntimeError(f"{outbox.statuses} string statuses sent for {scans} scans")
    return spent * 1000.0 / scans


def measure_in(root: Path, python: str, scans: int) -> float:
    """measure() in a fresh interpreter that imports the tree at root and nothing else."""
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--measure", str(root), "--scans", str(scans)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {root} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)  # medians: a shared machine is noisy
    parser.add_argument("--baseline", default="main", metavar="REV")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--measure", metavar="ROOT", help=argparse.SUPPRESS)  # one side, in its own interpreter
    args = parser.parse_args()
    if args.measure:
        print(f"{measure(Path(args.measure), args.scans):.4f}")
        return 0

    sys.path.insert(0, str(REPO))
    from bench.revision_tree import CompareError, checked_out

    today: list[float] = []
    baseline: list[float] = []
    try:
        if args.no_baseline:
            for _ in range(args.rounds):
                today.append(measure_in(REPO, sys.executable, args.scans))
                print(f"this tree: {today[-1]:.3f} ms/scan", flush=True)
        else:
            with checked_out(REPO, args.baseline) as tree:
                for round_no in range(args.rounds):
                    sides = [(tree.root, tree.python, baseline), (REPO, sys.executable, today)]
                    for root, python, results in sides if round_no % 2 == 0 else reversed(sides):
                        results.append(measure_in(root, python, args.scans))
                        label = args.baseline if results is baseline else "this tree"
                        print(f"{label}: {results[-1]:.3f} ms/scan", flush=True)
    except (CompareError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"string_master_step: {error}", file=sys.stderr)
        return 2
    figures = {
        "bench": "string_master_step",
        "cells": CELLS,
        "scans": args.scans,
        "ms_per_scan": round(median(today), 3),
    }
    if baseline:
        figures |= {"baseline": args.baseline, "baseline_ms": round(median(baseline), 3)}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
