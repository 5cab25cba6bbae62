"""A running demo gateway with stored history, discharge events, a user and a site time zone.

For the tests of the History and Discharge pages and their downloads: the history is written
into the storage before `btms run` starts, as a gateway that ran for a while leaves it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.factories import write_discharge, write_past_days
from tests.gateway_process import REPO, GatewayProcess, kill_all, wait_serving, write_demo_topology
from tests.ui_support import browser_log_in

A1, A2, B1, B2 = ("A1", 1, "UPS-A"), ("A2", 2, "UPS-A"), ("B1", 3, "UPS-B"), ("B2", 4, "UPS-B")
CELLS = 8
ZONE = "Europe/Ljubljana"  # an offset that is not zero, and a daylight-saving change within a year
USER, PASSWORD = "ana", "a long enough password 1"


def discharges(now: float) -> tuple[tuple[tuple[str, int, str], float, float], ...]:
    """Two events in the last hours (days that are never compacted before the gateway starts)."""
    return ((A2, now - 5 * 3600, now - 3.5 * 3600), (B1, now - 2 * 3600, now - 1.5 * 3600))


@contextmanager
def history_gateway(folder: Path, days: int, step_s: float, strings=(A1, A2)) -> Iterator[GatewayProcess]:
    """`btms run` on the demo site (8 batteries a string) with `days` of history of `strings`."""
    from web.ui.site_settings import SiteSettingsBook

    storage = folder / "var"
    write_past_days(storage, list(strings), days, step_s=step_s, cells=CELLS, hot_days=1)
    for string, start, end in discharges(time.time()):
        write_discharge(storage, string, start, end, step_s=20.0, cells=CELLS)
    SiteSettingsBook(storage).write({"time_zone": ZONE, "project_name": "History test site"})
    topology, data = write_demo_topology(folder, cells=CELLS, scan_period_s=1.0)
    added = subprocess.run(
        [sys.executable, "-m", "btms.cli", "user", "add", USER, "--admin", "--topology", str(topology)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    gateway = GatewayProcess.start(folder, topology, data)
    try:
        wait_serving(gateway, timeout=30)
        yield gateway
    finally:
        pids = gateway.actor_pids()
        try:
            gateway.stop(signal.SIGTERM)
        finally:
            kill_all(pids)


def log_in(page, gateway: GatewayProcess, path: str) -> None:
    """Log in with the form, as a person does, and land on `path`."""
    browser_log_in(page, gateway, USER, PASSWORD, path)
