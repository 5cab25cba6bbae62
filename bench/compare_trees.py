"""`bench/scale.py --compare REV`: the scale benchmark of REV and of this tree, run alternately.

Each side runs its own bench/scale.py (without --compare) as a subprocess, with its tree's root as
working directory and as PYTHONPATH, so that it imports its own packages and starts its own
`btms run`; both get the same --seconds/--strings/--cells. The sides alternate and their order
flips every round (REV then this tree, this tree then REV, ...): a load that drifts on a shared
machine then weighs on both sides, not on whichever always runs second. The result is each side's
median over the rounds, and the ratios this tree / REV of those medians. A run that fails (on a
loaded machine a niced gateway can miss its start-up deadline) is run again, five runs at most, 20 s apart.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from bench.revision_tree import CompareError, checked_out, last_line, sigint_held

FIGURES = ("cells", "scans_expected", "scans_done", "worst_lag_ms", "cpu_s_per_s", "pss_mib")
TODAY = "today"
MIN_ROUNDS = 2  # one round cannot tell a difference from the machine's noise
POLL_S = 0.5  # how often a running side's output is echoed
START_MARGIN_S = 240  # token, start-up (up to 60 s), warm-up and stop of a side, around its --seconds
STOP_GRACE_S = 60  # for an interrupted side to stop its gateway
STDERR_TAIL_LINES = 15
# A side whose gateway did not start is run again: on a loaded machine a niced `btms run` can miss
# its services' start-up deadline (8 s) and exit before it measures anything. Bounded: a tree that
# cannot run at all still ends the comparison.
SIDE_ATTEMPTS = 5
RETRY_PAUSE_S = 20.0  # between two runs of a side: a burst of load on a shared machine passes


def last_json_object(stdout: str, label: str) -> dict:
    """The figures on the last non-empty line of a side's output, checked for every key we use."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise CompareError(f"{label} printed nothing on stdout")
    try:
        figures = json.loads(lines[-1])
    except json.JSONDecodeError:
        raise CompareError(f"{label}'s last line is not JSON: {lines[-1][:120]!r}") from None
    if not isinstance(figures, dict):
        raise CompareError(f"{label}'s last line is not a JSON object: {lines[-1][:120]!r}")
    missing = [key for key in FIGURES if key not in figures]
    if missing:
        raise CompareError(f"{label}'s last line lacks {', '.join(missing)}: {lines[-1][:120]!r}")
    wrong = [key for key in FIGURES if isinstance(figures[key], bool) or not isinstance(figures[key], int | float)]
    if wrong:
        raise CompareError(f"{label}'s last line has non-numbers for {', '.join(wrong)}")
    return figures


def ratio(today: float, baseline: float) -> float | None:
    """today / baseline, or None when the baseline is zero and no ratio exists."""
    return None if baseline == 0 else round(today / baseline, 3)


def summarize(rev: str, today: list[dict], baseline: list[dict]) -> dict:
    """The last line of a comparison: today's figures (medians, worst cases) and the ratios to REV."""
    if not today or not baseline:
        raise CompareError("a side has no completed run to summarize")
    cells = sorted({run["cells"] for run in today + baseline})
    if len(cells) != 1:
        raise CompareError(
            f"the two sides measured different sites (cells {cells}): does {rev} honour --strings/--cells?"
        )
    fewest = min(today, key=lambda run: run["scans_done"])  # first of the worst, with its own expectation
    cpu, pss = median(r["cpu_s_per_s"] for r in today), median(r["pss_mib"] for r in today)
    base_cpu, base_pss = median(r["cpu_s_per_s"] for r in baseline), median(r["pss_mib"] for r in baseline)
    return {
        "bench": "scale",
        "cells": cells[0],
        "scans_expected": fewest["scans_expected"],
        "scans_done": fewest["scans_done"],
        "worst_lag_ms": max(r["worst_lag_ms"] for r in today),
        "cpu_s_per_s": round(cpu, 3),
        "pss_mib": round(pss, 1),
        "baseline": rev,
        "cpu_ratio": ratio(cpu, base_cpu),
        "pss_ratio": ratio(pss, base_pss),
        "baseline_cpu_s_per_s": round(base_cpu, 3),
        "baseline_pss_mib": round(base_pss, 1),
        "baseline_scans_done": min(r["scans_done"] for r in baseline),
        "baseline_worst_lag_ms": max(r["worst_lag_ms"] for r in baseline),
        "rounds": len(today),
    }


def side_order(round_no: int, rev: str) -> list[str]:
    """REV first in odd rounds, this tree first in even ones."""
    return [rev, TODAY] if round_no % 2 == 1 else [TODAY, rev]


def figures_line(label: str, run: dict) -> str:
    return (
        f"{label:>12}  cpu {run['cpu_s_per_s']:.3f} s/s  pss {run['pss_mib']:7.1f} MiB  "
        f"scans {run['scans_done']}/{run['scans_expected']}  worst lag {run['worst_lag_ms']:.1f} ms"
    )


class Echo:
    """Prints what a side has written to its output file so far, line by line, with its label."""

    def __init__(self, path: Path, label: str) -> None:
        self.reader, self.prefix, self.pending = open(path), f"  [{label}] ", ""

    def __call__(self, final: bool = False) -> None:
        self.pending += self.reader.read()
        *complete, self.pending = self.pending.split("\n")
        if final and self.pending:
            complete, self.pending = [*complete, self.pending], ""
        for line in complete:
            print(self.prefix + line, flush=True)

    def close(self) -> None:
        self.reader.close()


def run_side(label: str, python: str, root: Path, bench_args: list[str], seconds: float, work: Path) -> dict:
    """One run of the tree at root's own bench/scale.py; its figures, or a CompareError."""
    slug = "".join(c if c.isalnum() else "_" for c in label)
    out, err = work / f"{slug}.out", work / f"{slug}.err"
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
    with open(out, "w") as o, open(err, "w") as e:
        # Its own session: a Ctrl-C reaches only us, and we stop the side once, in order.
        process = subprocess.Popen(
            [python, str(root / "bench" / "scale.py"), *bench_args],
            cwd=root,
            env=env,
            stdout=o,
            stderr=e,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    echo = Echo(out, label)
    deadline = time.monotonic() + seconds + START_MARGIN_S
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise CompareError(f"{label} ran longer than {seconds + START_MARGIN_S:.0f} s and was stopped")
            echo()
            time.sleep(POLL_S)  # pacing of the echo; the loop ends on the process's exit
        echo(final=True)
    finally:
        echo.close()
        with sigint_held():
            stop(process, label)
    if process.returncode != 0:
        for line in err.read_text().splitlines()[-STDERR_TAIL_LINES:]:
            print(f"  [{label} stderr] {line}", file=sys.stderr)
        raise CompareError(f"{label}'s run failed with exit status {process.returncode}: {last_line(err.read_text())}")
    return last_json_object(out.read_text(), label)


def run_side_attempts(
    label: str,
    python: str,
    root: Path,
    bench_args: list[str],
    seconds: float,
    work: Path,
    attempts: int = SIDE_ATTEMPTS,
    pause_s: float = RETRY_PAUSE_S,
) -> dict:
    """run_side, run again after a failure up to `attempts` runs in all; the last failure is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return run_side(
                label if attempt == 1 else f"{label} try {attempt}", python, root, bench_args, seconds, work
            )
        except CompareError as error:
            if attempt == attempts:
                raise
            print(f"  [{label}] {error}; running it again ({attempt + 1} of {attempts})", flush=True)
            time.sleep(pause_s)  # pacing between runs, not a synchronisation
    raise AssertionError("unreachable")


def stop(process: subprocess.Popen, label: str) -> None:
    """Interrupt a side still running so that its own clean-up stops its gateway; kill it if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        print(
            f"  [{label}] did not stop in {STOP_GRACE_S} s and was killed; its actor processes may remain",
            file=sys.stderr,
        )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def compare(
    repo: Path, rev: str, rounds: int, seconds: float, strings: int, cells: int, by_process: bool = False
) -> int:
    """Run both sides alternately for `rounds` rounds; print per-round figures, medians, and the JSON line.
    by_process adds --by-process to this tree's runs only: REV's bench may not know the option."""
    bench_args = ["--seconds", str(seconds), "--strings", str(strings), "--cells", str(cells)]
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a SIGTERM cleans up as a Ctrl-C does
    runs: dict[str, list[dict]] = {rev: [], TODAY: []}
    try:
        with tempfile.TemporaryDirectory(prefix="btms-compare-runs-") as work, checked_out(repo, rev) as tree:
            sides = {rev: (tree.python, tree.root), TODAY: (sys.executable, repo)}
            for round_no in range(1, rounds + 1):
                for side in side_order(round_no, rev):
                    print(f"round {round_no}/{rounds}: {side}", flush=True)
                    python, root = sides[side]
                    extra = ["--by-process"] if by_process and side == TODAY else []
                    label = f"{side} r{round_no}"
                    run = run_side_attempts(label, python, root, [*bench_args, *extra], seconds, Path(work))
                    runs[side].append(run)
                    print(figures_line(side, run), flush=True)
        summary = summarize(rev, runs[TODAY], runs[rev])
    except CompareError as error:
        print(f"scale --compare {rev}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scale --compare {rev}: interrupted; the temporary worktree was removed", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_rounds(rev, runs, summary)
    print(json.dumps(summary))
    return 0


def print_rounds(rev: str, runs: dict[str, list[dict]], summary: dict) -> None:
    print(f"scale: {rev} against this tree, {summary['rounds']} rounds")
    for index, (theirs, ours) in enumerate(zip(runs[rev], runs[TODAY], strict=True), start=1):
        print(f"round {index}")
        print(figures_line(rev, theirs))
        print(figures_line(TODAY, ours))
    print(
        f"median {rev:>12}  cpu {summary['baseline_cpu_s_per_s']:.3f} s/s  pss {summary['baseline_pss_mib']:7.1f} MiB"
    )
    print(f"median {TODAY:>12}  cpu {summary['cpu_s_per_s']:.3f} s/s  pss {summary['pss_mib']:7.1f} MiB")
    print(f"{TODAY} / {rev}: cpu x{summary['cpu_ratio']}, pss x{summary['pss_ratio']}")
