"""Soak: the 3,840-cell data center for hours, polled by a SCADA, an NMS and a dashboard at once.

Left out of the default test run (marker `slow`); run it on purpose, for as long as you like:

    BTMS_SOAK_SECONDS=7200 python -m pytest -m slow tests/soak -s

It fails when the memory or the open files of the gateway's process tree grow, when the field
bus misses a scan, or when a poller's request is not answered; it prints a JSON summary line.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from bench.bench_site import IO_MODULE, write_site
from bench.scale import bus_stats, pss_by_pid, tree_pids
from tests.e2e_support import log_tail, running_gateway
from tests.gateway_process import GatewayProcess
from tests.soak.pollers import Poller, api_request, modbus_request, snmp_request, stop_all

STRINGS, CELLS = 32, 120
SCAN_PERIOD_S = 1.0
DEFAULT_SECONDS = 7200.0
MIN_SECONDS = 120.0  # a warm-up of 60 s and two measuring windows must fit
MARGIN_S = 300.0  # start-up at 3,840 cells (token, actors, every string fresh), pollers' last tick, stop
SERVING_WITHIN_S = 120.0
SAMPLE_PERIOD_S = 5.0  # the process-tree sampler's period
WINDOW_S = 30.0  # "after warm-up" and "at the end" are each the median of this many seconds of samples
GROWTH_LIMIT = 0.05
MIB = 1024 * 1024


def soak_seconds(raw: str | None) -> tuple[float, str | None]:
    """BTMS_SOAK_SECONDS, or a problem the test reports (not collection: the default run imports this file)."""
    try:
        seconds = DEFAULT_SECONDS if raw is None else float(raw)
    except ValueError:
        return DEFAULT_SECONDS, f"BTMS_SOAK_SECONDS={raw!r} is not a number of seconds"
    if not MIN_SECONDS <= seconds < float("inf"):
        return DEFAULT_SECONDS, f"BTMS_SOAK_SECONDS={raw!r}: the soak needs at least {MIN_SECONDS:.0f} s"
    return seconds, None


SOAK_S, SOAK_PROBLEM = soak_seconds(os.environ.get("BTMS_SOAK_SECONDS"))


@dataclass(frozen=True)
class TreeSample:
    """The gateway's whole process tree (main program and every actor process) at one time."""

    at_s: float  # since the pollers started
    pids: frozenset[int]
    rss_bytes: int
    fds: int
    pss_mib: float  # reported: the tree's real memory (summed RSS counts shared pages once per process)


def sample_tree(gateway: GatewayProcess, at_s: float) -> TreeSample:
    pids = frozenset(tree_pids(gateway))
    rss = fds = 0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                rss += process.memory_info().rss
                fds += process.num_fds()
        except psutil.NoSuchProcess:
            pass  # an actor that ended between the listing and the reading: the pid sets show it
    return TreeSample(at_s, pids, rss, fds, sum(pss_by_pid(set(pids)).values()) / 1024.0)


def window(samples: list[TreeSample], start_s: float, end_s: float) -> TreeSample:
    """Medians (low: measured values) of the samples from start_s to end_s; pids: those in every one."""
    chosen = [s for s in samples if start_s <= s.at_s <= end_s]
    assert chosen, f"no sample of the process tree between {start_s:.0f} s and {end_s:.0f} s"
    return TreeSample(
        start_s,
        frozenset.intersection(*(s.pids for s in chosen)),
        statistics.median_low(s.rss_bytes for s in chosen),
        statistics.median_low(s.fds for s in chosen),
        statistics.median_low(s.pss_mib for s in chosen),
    )


def growth(before: float, after: float) -> float:
    return (after - before) / before


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(SOAK_S + MARGIN_S)
def test_gateway_holds_steady_under_modbus_snmp_and_api_polling(tmp_path: Path) -> None:
    if SOAK_PROBLEM:
        pytest.fail(SOAK_PROBLEM)
    warm_up_s = max(60.0, 0.1 * SOAK_S)
    topology, data = write_site(tmp_path, STRINGS, CELLS, name="Soak test", scan_period_s=SCAN_PERIOD_S,
                                outputs=[{"module": IO_MODULE, "output": 1, "function": "siren"}])  # fmt: skip
    services = data["services"]
    string_ids = [s["id"] for ups in data["upses"] for s in ups["strings"]]
    with running_gateway(tmp_path, topology, data, serving_within_s=SERVING_WITHIN_S) as gateway:
        pollers = [
            Poller("modbus", modbus_request(services["modbus"]["port"], STRINGS, CELLS)),
            Poller("snmp", snmp_request(services["snmp"]["port"], services["snmp"]["read_community"], STRINGS, CELLS)),
            Poller("api", api_request(gateway, string_ids, CELLS)),
        ]
        samples: list[TreeSample] = []
        started = time.monotonic()
        first_stats = bus_stats(gateway.admin_port)
        for poller in pollers:
            poller.start()
        try:
            while (at_s := time.monotonic() - started) < SOAK_S:
                assert gateway.process.poll() is None, (
                    f"btms run exited with {gateway.process.returncode} after {at_s:.0f} s: {log_tail(gateway.stderr, 20)}"
                )
                samples.append(sample_tree(gateway, at_s))
                time.sleep(min(SAMPLE_PERIOD_S, max(0.0, SOAK_S - at_s)))  # the sampler's period
            samples.append(sample_tree(gateway, time.monotonic() - started))
            last_stats = bus_stats(gateway.admin_port)
            elapsed_s = time.monotonic() - started
        finally:
            still_running = stop_all(pollers)
    assert not still_running, f"pollers that did not stop: {still_running}"

    # End against after warm-up, not against start-up: in its first minutes the gateway fills what it
    # keeps by design (imported code, every string's latest status, SQLite page caches and history
    # buffers, the web server's, Modbus server's and SNMP agent's first-request allocations, Python's
    # memory arenas), so RSS rises without a leak. A leak is growth that goes on once that is done.
    # Medians over 30 s keep one sample caught mid garbage collection or history flush from deciding.
    warm = window(samples, warm_up_s, warm_up_s + WINDOW_S)
    end = window(samples, samples[-1].at_s - WINDOW_S, samples[-1].at_s)
    replaced = warm.pids - end.pids
    scans_done = last_stats.scans_done - first_stats.scans_done
    scans_expected = int(elapsed_s / SCAN_PERIOD_S)  # scan starts scheduled in the window
    summary = {
        "soak": "gateway", "seconds": round(elapsed_s, 1), "warm_up_s": warm_up_s, "cells": STRINGS * CELLS,
        "processes": len(end.pids), "replaced_processes": len(replaced),
        "rss_mib_warm": round(warm.rss_bytes / MIB, 1), "rss_mib_end": round(end.rss_bytes / MIB, 1),
        "rss_growth_pct": round(100 * growth(warm.rss_bytes, end.rss_bytes), 2),
        "fds_warm": warm.fds, "fds_end": end.fds, "fds_growth_pct": round(100 * growth(warm.fds, end.fds), 2),
        "pss_mib_warm": round(warm.pss_mib, 1), "pss_mib_end": round(end.pss_mib, 1),
        "pss_growth_pct": round(100 * growth(warm.pss_mib, end.pss_mib), 2),
        "scans_expected": scans_expected, "scans_done": scans_done, "worst_lag_ms": round(last_stats.worst_lag_ms, 1),
        **{p.label: {"requests": p.requests, "errors": p.errors, "first_errors": p.first_errors} for p in pollers},
    }  # fmt: skip
    print(json.dumps(summary))

    # An actor that died and came back would start its memory afresh and hide a leak (and is a fault).
    assert not replaced, f"processes replaced during the soak: {sorted(replaced)}"
    assert growth(warm.rss_bytes, end.rss_bytes) <= GROWTH_LIMIT, f"RSS of the tree grew: {summary}"
    assert growth(warm.fds, end.fds) <= GROWTH_LIMIT, f"open files of the tree grew: {summary}"
    assert scans_done >= scans_expected - 1, f"the field bus missed scans: {summary}"
    # Zero failures tolerated: every request is on loopback with a timeout of seconds, against a
    # gateway scanning at its nominal size; one unanswered request is what a soak is there to find.
    for poller in pollers:
        assert poller.errors == 0, f"{poller.label}: {poller.errors} of {poller.requests} failed: {poller.first_errors}"
        assert poller.requests >= 0.9 * SOAK_S / poller.period_s, f"{poller.label} fell behind: {summary}"
