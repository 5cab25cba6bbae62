"""`btms run` notices when its actor tree goes away from outside, and exits non-zero.

Before, killing Thespian's admin process left the main program waiting with nothing to serve and
no error, so a service manager never restarted it; the actors kept running as orphans. Now the
main program exchanges heartbeats with the watchdog and the gateway (actors/runtime/tree_monitor.py),
says in one line what was lost, ends what is left and exits non-zero. A hung gateway actor is
tested with the service manager's watchdog pings (test_systemd_service.py).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.gateway_process import (
    GatewayProcess,
    kill_all,
    wait_serving,
    write_demo_topology,
)

pytestmark = pytest.mark.integration

NOTICED_WITHIN_S = 10  # the heartbeat allows 5 s of silence; the rest is the shutdown


@pytest.fixture
def gateway(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    process = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(process, timeout=15)
        yield process
    finally:
        try:
            process.stop(signal.SIGTERM)
        finally:
            kill_all(process.processes())


def ended_with_reason(gateway: GatewayProcess, since: float) -> str:
    returncode = gateway.process.wait(NOTICED_WITHIN_S)
    assert time.monotonic() - since < NOTICED_WITHIN_S
    stderr = gateway.stderr.read_text()
    assert returncode != 0, stderr
    assert "Traceback" not in stderr, stderr
    reasons = [line for line in stderr.splitlines() if line.startswith("gateway gw1 stopped: ")]
    assert len(reasons) == 1, stderr
    assert gateway.processes() == set(), "processes left behind"
    return reasons[0]


def test_a_killed_admin_process_ends_btms_run_non_zero_with_the_reason(gateway):
    admin = gateway.admin_pid()
    os.kill(admin, signal.SIGKILL)
    reason = ended_with_reason(gateway, time.monotonic())
    assert f"admin process (pid {admin}) is gone" in reason
