"""Web benchmark: the operator's pages and live streams on a full gateway (3,840 cells on the simulator).

Builds the benchmark data center of bench/bench_site.py (32 strings x 120 batteries, 1 s scan,
Modbus TCP on, SNMP off), with a year of history ending yesterday written as bench/storage.py
writes it, starts `btms run` as a user would, and measures:
- string_page_ms: the median time of GET /strings/S01/realtime (120 cells) with a log-in session,
  request to last byte on loopback, its model built for the request (target <= 50 ms);
- year_plot_ms: the median time of GET /api/v1/series for one cell's voltage over a year, 1000
  points (target <= 300 ms);
- live_lag_ms: the 95th percentile, over 20 clients each on its own string's stream (the worst
  case: 20 models built per scan; --levels N spreads them over N strings), of the time
  from the web server applying a scan to the client having read its event; the lag of the last
  quarter of the window against the first shows whether a queue grows (target <= 500 ms);
- cpu_ratio_20_clients: CPU seconds of the gateway's whole process tree over the window with the
  20 clients, divided by the same without clients (target <= 1.3).

    python bench/web.py [--seconds 30] [--strings 32] [--cells 120] [--clients 20] [--levels N] [--history DIR]

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_site import IO_MODULE, write_site  # noqa: E402
from bench.scale import cpu_seconds, tree_pids  # noqa: E402
from bench.web_support import Browser, StreamReader, listening_process, median, percentile, write_year  # noqa: E402
from tests.gateway_process import GatewayProcess, kill_all, wait_serving  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"


def cpu_over(gateway: GatewayProcess, seconds: float) -> float:
    pids = tree_pids(gateway)
    before, t0 = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)  # the measuring window, not synchronisation
    after = cpu_seconds(pids | tree_pids(gateway))
    return sum(after.get(p, 0.0) - before.get(p, 0.0) for p in after) / (time.monotonic() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="each CPU window (without, then with clients)")
    parser.add_argument("--strings", type=int, default=32)
    parser.add_argument("--cells", type=int, default=120)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--levels", type=int, help="strings the clients watch, spread evenly (default: one string per client)"
    )
    parser.add_argument(
        "--history", type=Path, help="keep the written year of history in this folder and reuse it on the next run"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="btms-web-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path, data = write_site(
            tmp, args.strings, args.cells, name="Web benchmark",
            outputs=[{"module": IO_MODULE, "output": 1, "function": "siren"}],
        )  # fmt: skip
        # SNMP off: this bench does not use it, and on a loaded 2-core machine its start-up misses
        # the gateway's 8 s deadline for a 3,840-cell site (the whole start fails, on the base tree too).
        data["services"]["snmp"]["enabled"] = False
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        t = time.monotonic()
        yesterday = year_of_history(tmp / "var", args)
        print(f"a year of history ready in {time.monotonic() - t:.0f} s")
        added = subprocess.run(
            [sys.executable, "-m", "btms.cli", "user", "add", USER, "--topology", str(path)],
            input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if added.returncode != 0:
            print(f"btms user add failed: {added.stderr.strip()}", file=sys.stderr)
            return 2
        gateway = start_gateway(tmp, path, data)
        if gateway is None:
            return 1
        port = data["services"]["web"]["port"]
        pids: set[int] = set()
        readers: list[StreamReader] = []
        try:
            pids = tree_pids(gateway)
            time.sleep(5)  # benchmark pacing: let start-up work settle
            browser = Browser(port)
            browser.log_in(USER, PASSWORD)
            # 1.1 s apart: each page builds its model afresh (web/live/hub.py caches one for 1 s)
            web = listening_process(port)
            page, page_cpu = browser.timed("/strings/S01/realtime", 15, pause_s=1.1, server=web)
            print(
                f"string page ({args.cells} cells): median {median(page):.1f} ms, p90 {percentile(page, 90):.1f} ms;"
                f" web server CPU per page: median {median(page_cpu):.1f} ms"
            )
            end = (yesterday + 1) * 86_400
            query = (
                f"/api/v1/series?level=cell&id=S01/7&quantity=voltage&from={iso(end - 365 * 86_400)}"
                f"&to={iso(end)}&points=1000"
            )
            auth = {"Authorization": f"Bearer {gateway.token}"}
            _, body = browser.request("GET", query, headers=auth)
            points = len(json.loads(body)["points"])
            year, year_cpu = browser.timed(query, 5, auth, server=web)
            print(
                f"one cell, one year ({points} points): median {median(year):.1f} ms; web server CPU {median(year_cpu):.1f} ms"
            )

            idle_cpu = cpu_over(gateway, args.seconds)
            print(f"CPU of the tree without live clients: {idle_cpu:.3f} s/s")
            levels = min(args.levels or args.clients, args.strings)
            readers = [
                StreamReader(port, f"/live/strings/S{(i % levels) + 1:02d}", gateway.token) for i in range(args.clients)
            ]
            for r in readers:
                r.start()
            time.sleep(3)  # the clients connect and receive their first event
            started = time.time()
            live_cpu = cpu_over(gateway, args.seconds)
            ended = time.time()
            pids |= tree_pids(gateway)
        finally:
            for r in readers:
                r.stop.set()
            pids |= tree_pids(gateway)
            gateway.stop(signal.SIGTERM)
            kill_all(pids)

    errors = [r.error for r in readers if r.error]
    window = [(at, lag) for r in readers for at, lag in r.lags_ms if started <= at <= ended]
    lags = [lag for _, lag in window]
    quarter = (ended - started) / 4
    first = [lag for at, lag in window if at < started + quarter]
    last = [lag for at, lag in window if at >= ended - quarter]
    events = [sum(1 for at, _ in r.lags_ms if started <= at <= ended) for r in readers]
    ratio = live_cpu / idle_cpu if idle_cpu else float("nan")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times include waiting for a core)")
    print(f"CPU of the tree with {args.clients} live clients: {live_cpu:.3f} s/s (ratio {ratio:.2f}, target <= 1.3)")
    print(f"events per client in {ended - started:.0f} s: min {min(events, default=0)}, max {max(events, default=0)}")
    print(f"live lag: median {median(lags):.0f} ms, p95 {percentile(lags, 95):.0f} ms, max {max(lags, default=0):.0f} ms;"
          f" first quarter median {median(first):.0f} ms, last quarter {median(last):.0f} ms")  # fmt: skip
    if errors:
        print(f"stream errors: {errors[:3]}")
    print(
        json.dumps(
            {
                "bench": "web",
                "string_page_ms": round(median(page), 1),
                "year_plot_ms": round(median(year), 1),
                "live_clients": args.clients,
                "live_lag_ms": round(percentile(lags, 95), 1),
                "cpu_ratio_20_clients": round(ratio, 3),
            }
        )
    )
    return 0


def start_gateway(tmp: Path, path: Path, data: dict, attempts: int = 3) -> GatewayProcess | None:
    """A serving gateway; on a loaded machine its services may miss their start-up deadline, so
    it is started again (each failure is printed)."""
    token = ""
    for attempt in range(1, attempts + 1):
        if token:
            gateway = GatewayProcess.launch(tmp, path, data, token, name=f"run{attempt}")
        else:
            gateway = GatewayProcess.start(tmp, path, data)
            token = gateway.token
        try:
            wait_serving(gateway, timeout=90)
            return gateway
        except AssertionError as error:
            print(f"start {attempt} failed: {error}; {gateway.stderr.read_text().strip().splitlines()[-1:]}")
            gateway.stop(signal.SIGKILL)
            kill_all(gateway.processes())
    return None


def year_of_history(storage_dir: Path, args) -> int:
    """Written into storage_dir, or copied from --history when it holds yesterday's year."""
    from storage.history import schema

    yesterday = schema.day_of(time.time()) - 1
    kept = args.history / f"{args.strings}x{args.cells}-{yesterday}" if args.history else None
    if kept is not None and kept.is_dir():
        shutil.copytree(kept, storage_dir)
        return yesterday
    written = write_year(storage_dir, args.strings, args.cells)
    if kept is not None:
        shutil.copytree(storage_dir, kept)
    return written


def iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z").replace(":", "%3A")


if __name__ == "__main__":
    sys.exit(main())
