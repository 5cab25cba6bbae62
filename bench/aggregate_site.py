"""The aggregator benchmark's site (bench/aggregate.py): real processes on loopback.

A Mosquitto (tests/mqtt_support.py, persistence on, unlimited queue), a PostgreSQL cluster in a
temporary directory (tests/postgres_support.py), N real `btms run` gateways of the benchmarks'
data center (bench/bench_site.py) publishing through their uplink, one real `btms aggregate`.
Readers of the evidence: each gateway's outbox (what it stored and what is left) and the
aggregator's PostgreSQL (each row's scan time `ts` and the time it was written, `stored_at`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

from bench.bench_site import write_site
from storage.outbox import OUTBOX_FILE
from tests.aggregator_process import AggregatorProcess, write_aggregator_config
from tests.gateway_process import GatewayProcess, wait_serving
from tests.mqtt_support import Broker
from tests.postgres_support import PostgresCluster

GROUP, HOST_ID = "bench", "bench-agg"


@dataclass
class Site:
    directory: Path
    broker: Broker
    postgres: PostgresCluster
    aggregator: AggregatorProcess | None = None
    gateways: dict[str, GatewayProcess] = field(default_factory=dict)

    @classmethod
    def start(
        cls, directory: Path, gateways: int, strings: int, cells: int, scan_s: float, broker_inflight: int
    ) -> Site:
        broker = Broker.start(directory / "broker", max_inflight=broker_inflight)
        postgres = PostgresCluster.create()
        site = cls(directory, broker, postgres)
        try:
            postgres.start()
            config = write_aggregator_config(
                directory, {"host": "127.0.0.1", "port": broker.port}, postgres.dsn, host_id=HOST_ID, group_id=GROUP
            )
            site.aggregator = AggregatorProcess.start(config)
            site.aggregator.wait_serving(120)
            for n in range(1, gateways + 1):
                node = f"gw{n}"
                site.gateways[node] = _start_gateway(directory / node, node, broker, strings, cells, scan_s)
            for gateway in site.gateways.values():
                wait_serving(gateway, timeout=180)
        except BaseException:
            site.stop()
            raise
        return site

    def stop(self) -> None:
        for gateway in self.gateways.values():
            try:
                gateway.stop(timeout=30)
            except Exception:  # a stop that hangs: its processes are killed below
                pass
            for pid in gateway.processes():
                os.kill(pid, signal.SIGKILL)
        if self.aggregator is not None:
            self.aggregator.end()
        self.broker.stop()
        self.postgres.remove()

    # -- evidence -------------------------------------------------------------------------------

    def outboxes(self) -> dict[str, tuple[int, int, int]]:
        """Per gateway: (records its outbox ever stored, records left in it, records it dropped)."""
        return {node: outbox_counts(self.directory / node) for node in self.gateways}

    def stored_per_node(self) -> dict[str, int]:
        """Rows per edge node: data records and gateway alarm events (one outbox record each)."""
        rows = self.postgres.psql(
            "SELECT edge_node, count(*) FROM (SELECT edge_node FROM record UNION ALL "
            "SELECT edge_node FROM gateway_alarm_event) r GROUP BY edge_node"
        ).split()
        return {node: int(n) for node, n in (r.split("|") for r in rows)}

    def lag_ms(self, from_s: float, to_s: float) -> tuple[float, float, int]:
        """(p50, p99, records) of stored_at - ts over the records scanned in [from_s, to_s)."""
        row = self.postgres.psql(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), count(*) FROM "
            "(SELECT extract(epoch FROM stored_at - ts) * 1000 AS lag FROM record "
            f"WHERE ts >= to_timestamp({from_s}) AND ts < to_timestamp({to_s})) l"
        ).strip()
        p50, p99, n = row.split("|")
        return float(p50 or "nan"), float(p99 or "nan"), int(n)

    def stored_span(self, from_s: float, to_s: float) -> tuple[int, float | None, float | None]:
        """Records scanned in [from_s, to_s): how many, the first and the last stored_at (UNIX s)."""
        row = self.postgres.psql(
            "SELECT count(*), extract(epoch FROM min(stored_at)), extract(epoch FROM max(stored_at)) FROM record "
            f"WHERE ts >= to_timestamp({from_s}) AND ts < to_timestamp({to_s})"
        ).strip()
        n, first, last = row.split("|")
        return int(n), float(first) if first else None, float(last) if last else None

    def stored_span_per_node(self, from_s: float, to_s: float) -> dict[str, tuple[int, float, float]]:
        """stored_span per edge node: {node: (records, first stored_at, last stored_at)}."""
        rows = self.postgres.psql(
            "SELECT edge_node, count(*), extract(epoch FROM min(stored_at)), extract(epoch FROM max(stored_at)) "
            f"FROM record WHERE ts >= to_timestamp({from_s}) AND ts < to_timestamp({to_s}) GROUP BY edge_node"
        ).split()
        return {node: (int(n), float(a), float(b)) for node, n, a, b in (r.split("|") for r in rows)}

    def duplicated(self) -> int:
        """Rows whose (node, device, scan time, metric names) another row has too."""
        return int(
            self.postgres.psql("SELECT count(*) - count(DISTINCT (edge_node, device, ts, layout)) FROM record").strip()
        )


def outbox_counts(directory: Path) -> tuple[int, int, int]:
    path = directory / "var" / OUTBOX_FILE
    if not path.exists():
        return 0, 0, 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        found = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        (left,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
        (dropped,) = db.execute("SELECT COALESCE(SUM(value), 0) FROM counters WHERE name LIKE 'dropped%'").fetchone()
    return (found[0] if found else 0), left, dropped


def _start_gateway(directory: Path, node: str, broker: Broker, strings: int, cells: int, scan_s: float):
    directory.mkdir(parents=True, exist_ok=True)
    path, data = write_site(directory, strings, cells, name=node, outputs=[], scan_period_s=scan_s)
    data["services"]["modbus"]["enabled"] = False
    data["services"]["snmp"]["enabled"] = False
    data["services"]["uplink"] = {
        "broker": f"127.0.0.1:{broker.port}",
        "group_id": GROUP,
        "edge_node_id": node,
        "primary_host_id": HOST_ID,
        "data_period_s": scan_s,
        "outbox_max_mb": 1024,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return GatewayProcess.start(directory, path, data)


class TreeCpu:
    """CPU seconds of a process and every process of its actor system (children come and go)."""

    def __init__(self, pids_now) -> None:
        self.pids_now = pids_now
        self.seen: dict[int, float] = {}

    def total_s(self) -> float:
        for pid in self.pids_now():
            try:
                times = psutil.Process(pid).cpu_times()
                self.seen[pid] = times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return sum(self.seen.values())
