"""What refusing other local users costs (actors/runtime/same_user_only.py).

1. Per accept: `check_peer` on real loopback connections of our own uid (the accepted path:
   /proc/net/tcp only) and on connections whose other end already closed (the refused path:
   tcp and tcp6), N each; median and 95th percentile in microseconds, and the number of
   sockets the host lists (the kernel walks all of them for each read).
2. How often it is paid: with --gateway, starts the demo gateway (`btms run` on the simulator)
   and counts the connections its actor processes accepted (inbound loopback connections they
   hold) once it serves, and again after --seconds more.

    python bench/peer_check.py [--count 200] [--gateway] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from actors.runtime.same_user_only import SOCKET_TABLES, check_peer  # noqa: E402


def _rows(path: str) -> int:
    try:
        with open(path) as table:
            return sum(1 for _ in table) - 1
    except FileNotFoundError:
        return 0


def time_checks(count: int, close_first: bool) -> list[float]:
    """Microseconds of check_peer per accepted connection."""
    times = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(count)
        port = listener.getsockname()[1]
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port))
            if close_first:
                client.close()
            connection, _ = listener.accept()
            start = time.perf_counter()
            verdict = check_peer(connection, os.geteuid())
            times.append((time.perf_counter() - start) * 1e6)
            assert verdict.allowed is not close_first, verdict
            connection.close()
            client.close()
    return times


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_us": round(statistics.median(times)), "p95_us": round(times[int(len(times) * 0.95) - 1])}


def accepted_connections(admin_port: int) -> int:
    import psutil

    from tests.gateway_process import actor_system_pids

    pids = actor_system_pids(admin_port)
    connections = [c for c in psutil.net_connections(kind="tcp") if c.pid in pids]
    listening = {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return sum(1 for c in connections if c.status == psutil.CONN_ESTABLISHED and c.laddr.port in listening)


def gateway_accepts(seconds: float) -> dict:
    from tests.gateway_process import GatewayProcess, kill_all, wait_serving, write_demo_topology

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        topology, data = write_demo_topology(tmp_path)
        gateway = GatewayProcess.start(tmp_path, topology, data)
        pids = set()
        try:
            wait_serving(gateway, timeout=60)
            pids = gateway.actor_pids()
            at_start = accepted_connections(gateway.admin_port)
            time.sleep(seconds)  # a measurement window, not synchronisation
            later = accepted_connections(gateway.admin_port)
        finally:
            gateway.stop()
            kill_all(pids)
        return {
            "actor_processes": len(pids),
            "accepted_when_serving": at_start,
            f"accepted_after_{seconds:g}_s_more": later,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--gateway", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    result = {
        "host_sockets": {path: _rows(path) for path in SOCKET_TABLES},
        "accepted_own_uid": summary(time_checks(args.count, close_first=False)),
        "refused_other_end_closed": summary(time_checks(args.count, close_first=True)),
    }
    if args.gateway:
        result["gateway"] = gateway_accepts(args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
