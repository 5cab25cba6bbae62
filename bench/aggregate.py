"""Aggregator benchmark: N real gateways publishing to one real aggregator, all on loopback.

Site (bench/aggregate_site.py): a Mosquitto, a PostgreSQL cluster in a temporary directory,
`--gateways` (4) real `btms run` of `--strings` × `--cells` (8 × 120 = 960 batteries) on the
simulator scanning every `--scan-s` (1 s), each publishing every scan through its uplink
(cells by exception, with the default deadbands), and one `btms aggregate`.

Measured:
- lag from scan to stored: PostgreSQL's `stored_at - ts` of every record scanned during
  `--steady-s` of steady state, p50 and p99;
- the aggregator's CPU: its main program and every actor process, over the steady state, in
  % of one core;
- replay after a broker outage of `--outage-s` (600; shorter for a quick run): the broker is
  stopped, the gateways keep their records in their outboxes, the broker is started again;
  replay rate = records scanned during the outage / the time from the first to the last of
  them stored, and × real time = outage duration / that time. The gateways' reconnection
  back-off (up to 30 s) comes before the first record and is reported apart;
- lost and duplicated: what each gateway's outbox stored and sent (stored - left - dropped,
  its dropped records counting as lost) against PostgreSQL's rows of that gateway, and rows
  sharing a key.

The machine runs the gateways, their simulators, the broker and PostgreSQL too: the figures
are for all of it on one box. Last line: one JSON object.

    python bench/aggregate.py [--gateways 4] [--outage-s 600] [--steady-s 60] [--broker-inflight 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.aggregate_site import Site, TreeCpu  # noqa: E402
from tests.gateway_process import actor_system_pids  # noqa: E402
from tests.support import wait_for  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=4)
    parser.add_argument("--strings", type=int, default=8)
    parser.add_argument("--cells", type=int, default=120, help="batteries per string")
    parser.add_argument("--scan-s", type=float, default=1.0)
    parser.add_argument("--steady-s", type=float, default=60.0)
    parser.add_argument("--outage-s", type=float, default=600.0)
    parser.add_argument(
        "--broker-inflight",
        type=int,
        default=1000,
        help="the broker's max_inflight_messages: QoS 1 messages sent to the aggregator before its PUBACKs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="btms-bench-aggregate-"))
    try:
        cells = args.strings * args.cells
        print(f"starting: broker, PostgreSQL, aggregator, {args.gateways} gateways of {cells} batteries")
        site = Site.start(tmp, args.gateways, args.strings, args.cells, args.scan_s, args.broker_inflight)
        try:
            result = measure(site, args)
        finally:
            site.stop()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


def measure(site: Site, args: argparse.Namespace) -> dict:
    nodes = set(site.gateways)
    try:
        wait_for(lambda: set(site.stored_per_node()) >= nodes, timeout=300, interval=2, what="records of every gateway")
    except AssertionError:
        print(f"stored per gateway: {site.stored_per_node()}; outboxes: {site.outboxes()}; in {site.directory}")
        raise
    warm_until = time.time() + 10
    wait_for(lambda: time.time() >= warm_until, timeout=15, interval=0.5, what="warm-up")

    # steady state
    assert site.aggregator is not None
    aggregator = site.aggregator
    cpu = TreeCpu(lambda: actor_system_pids(aggregator.admin_port) | {aggregator.process.pid})
    start, cpu_start = time.time(), cpu.total_s()
    sampled = [start]

    def steady_over() -> bool:
        cpu.total_s()  # note short-lived processes while they live
        sampled.append(time.time())
        return sampled[-1] - start >= args.steady_s

    wait_for(steady_over, timeout=args.steady_s + 10, interval=1.0, what="the steady state")
    end, cpu_end = time.time(), cpu.total_s()
    settle_until = time.time() + 5  # the last scans of the window reach PostgreSQL
    wait_for(lambda: time.time() >= settle_until, timeout=10, interval=0.5, what="settling")
    p50, p99, steady_records = site.lag_ms(start, end)
    cpu_percent = 100.0 * (cpu_end - cpu_start) / (end - start)
    print(
        f"steady state {end - start:.0f} s: {steady_records} records ({steady_records / (end - start):.0f}/s), "
        f"lag p50 {p50:.0f} ms, p99 {p99:.0f} ms; aggregator CPU {cpu_percent:.0f} % of one core"
    )

    # broker outage and replay
    site.broker.stop()
    cut = time.time()
    print(f"broker stopped for {args.outage_s:.0f} s")
    wait_for(lambda: time.time() - cut >= args.outage_s, timeout=args.outage_s + 30, interval=1.0, what="the outage")
    site.broker.restart()
    back = time.time()
    held = sum(left for _, left, _ in site.outboxes().values())
    print(f"broker started again; {held} records held in the outboxes")

    def replayed() -> bool:
        """Every outbox sent, and every record it sent stored (the broker queues for the aggregator)."""
        outboxes = site.outboxes()
        if any(left >= 100 for _, left, _ in outboxes.values()):
            return False
        stored = site.stored_per_node()
        return all(stored.get(n, 0) >= s - left - d - 100 for n, (s, left, d) in outboxes.items())

    wait_for(replayed, timeout=max(900.0, args.outage_s * 2), interval=2.0, what="the replay stored")
    drained = time.time()
    wait_for(lambda: time.time() - drained >= 5, timeout=10, interval=0.5, what="the last of the replay stored")
    replay_records, first_s, last_s = site.stored_span(cut, back)
    assert first_s is not None and last_s is not None
    replay_s = max(last_s - first_s, 0.001)
    outage_s = back - cut
    print(
        f"replay: {replay_records} records scanned during the outage stored in {replay_s:.1f} s "
        f"({replay_records / replay_s:.0f}/s, {outage_s / replay_s:.1f}× real time); "
        f"first stored {first_s - back:.1f} s after the broker was back (gateway reconnection back-off)"
    )

    for node, (n, first, last) in sorted(site.stored_span_per_node(cut, back).items()):
        print(
            f"  {node}: {n} records stored from {first - back:.1f} s to {last - back:.1f} s after the broker was back"
        )

    # lost and duplicated: stop the gateways, then compare what their outboxes sent
    for gateway in site.gateways.values():
        gateway.stop(timeout=60)
    outboxes = site.outboxes()
    sent = {node: stored - left - dropped for node, (stored, left, dropped) in outboxes.items()}
    dropped = sum(d for _, _, d in outboxes.values())

    def caught_up() -> dict | None:
        stored = site.stored_per_node()
        return stored if all(stored.get(n, 0) >= sent[n] for n in nodes) else None

    try:
        stored = wait_for(caught_up, timeout=60, interval=1.0, what="every sent record stored")
    except AssertionError:
        stored = site.stored_per_node()
    # A record left in an outbox at the stop may be stored already (its PUBACK was on the way):
    # a gateway's rows are at least what it sent and at most what its outbox ever held.
    ever = {node: stored_ever for node, (stored_ever, _, _) in outboxes.items()}
    lost = dropped + sum(max(0, sent[n] - stored.get(n, 0)) for n in nodes)
    duplicated = site.duplicated() + sum(max(0, stored.get(n, 0) - ever[n]) for n in nodes)
    print(f"sent {sum(sent.values())} records, stored {sum(stored.values())}; lost {lost}, duplicated {duplicated}")
    return {
        "bench": "aggregate",
        "gateways": len(nodes),
        "broker_inflight": args.broker_inflight,
        "cells_per_gateway": args.strings * args.cells,
        "scan_s": args.scan_s,
        "steady_s": round(end - start, 1),
        "records_per_s": round(steady_records / (end - start), 1),
        "lag_p50_ms": round(p50, 1),
        "lag_p99_ms": round(p99, 1),
        "aggregator_cpu_percent": round(cpu_percent, 1),
        "outage_s": round(outage_s, 1),
        "replay_records": replay_records,
        "replay_records_per_s": round(replay_records / replay_s, 1),
        "replay_x_realtime": round(outage_s / replay_s, 1),
        "reconnect_s": round(first_s - back, 1),
        "lost": lost,
        "duplicated": duplicated,
    }


if __name__ == "__main__":
    sys.exit(main())
