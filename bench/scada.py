"""SCADA/NMS benchmark: Modbus TCP server vs a bare pymodbus server, SNMP bulk walk, trap latency.

Site: 32 strings × 120 cells = 3,840 cells. Servers run in child processes (this script with
--serve), clients in this process, so client and server do not share an interpreter.
Last line: one JSON object with the keys the SCADA targets name.

    python bench/scada.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battery.alarms.records import AlarmNotice  # noqa: E402
from battery.site import ModbusTcpConfig, SnmpConfig  # noqa: E402
from protocols.scada import snmp_oids as so  # noqa: E402
from tests.factories import sample_string_status, sample_topology, sample_ups_status  # noqa: E402
from tests.scada_support import start_snmptrapd  # noqa: E402
from tests.support import free_port, free_udp_port  # noqa: E402

STRINGS, CELLS = 32, 120
REGS_PER_REQUEST = 125


def site(modbus_port: int = 0, snmp_port: int = 0, trap_port: int | None = None) -> Any:
    return sample_topology(
        upses=8,
        strings_per_ups=STRINGS // 8,
        cells=CELLS,
        modbus=ModbusTcpConfig(host="127.0.0.1", port=modbus_port),
        snmp=SnmpConfig(
            enabled=True,
            host="127.0.0.1",
            port=snmp_port,
            read_community="public",
            trap_receivers=(f"127.0.0.1:{trap_port}",) if trap_port else (),
        ),
    )


# -- servers (child processes) ----------------------------------------------------------------


async def serve(kind: str, port: int, trap_port: int) -> None:
    t = site(port, port, trap_port or None)
    if kind == "modbus":
        from protocols.scada.modbus_tcp_server import ScadaModbusServer

        server: Any = ScadaModbusServer(t, lambda m: None)
    elif kind == "snmp":
        from protocols.scada.snmp_agent import BtmsSnmpAgent

        server = BtmsSnmpAgent(t, lambda m: None)
    else:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        size = 100 * CELLS + 9
        devices = [
            SimDevice(id=100 + i, simdata=[SimData(0, count=size, values=0, datatype=DataType.REGISTERS)])
            for i in range(1, STRINGS + 1)
        ]
        bare = ModbusTcpServer(devices, address=("127.0.0.1", port))
        await bare.serve_forever(background=True)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return
    await server.start()
    for s in t.strings:
        server.apply(sample_string_status(t, s.id))
    for u in t.upses:
        server.apply(sample_ups_status(t, u.id))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if not line:
            break
        alarm_id = int(line)
        server.apply(
            AlarmNotice(
                event="raised",
                alarm_id=alarm_id,
                kind="cell_temperature_high",
                title="Temperature high",
                ups_id="ups1",
                string_id="s1",
                cell_index=5,
                value=61.2,
                limit=55.0,
                from_time=time.time(),
                to_time=None,
                acknowledged_by=None,
                acknowledged_at=None,
            )
        )
    await server.stop()


def start(kind: str, port: int, trap_port: int = 0) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port), str(trap_port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    # The server's own log lines (structlog prints to stdout unless configured) come first.
    seen = []
    for line in p.stdout:
        if line.strip() == "ready":
            return p
        seen.append(line)
    raise RuntimeError(f"{kind} server did not start: {''.join(seen)!r}")


def stop(p: subprocess.Popen[str]) -> None:
    assert p.stdin is not None
    p.stdin.close()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()


# -- clients --------------------------------------------------------------------------------


async def modbus_load(port: int, clients: int, seconds: float) -> float:
    from pymodbus.client import AsyncModbusTcpClient

    done = 0
    stop_at = time.perf_counter() + seconds

    async def one(k: int) -> None:
        nonlocal done
        c = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
        await c.connect()
        unit = 101 + k % STRINGS
        try:
            while time.perf_counter() < stop_at:
                r = await c.read_holding_registers(100 * (1 + done % 90), count=REGS_PER_REQUEST, device_id=unit)
                if r.isError():
                    raise RuntimeError(f"Modbus read failed: {r}")
                done += 1
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(clients)))
    return done / (time.perf_counter() - t0)


def bulkwalk_s(port: int) -> tuple[float, int]:
    table = ".".join(map(str, so.CELL_ENTRY[:-1]))
    t0 = time.perf_counter()
    out = subprocess.run(
        ["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr64", f"127.0.0.1:{port}", table],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - t0
    # The cell table is the last thing the agent serves: the walk ends with an endOfMibView line.
    return elapsed, sum(1 for line in out.splitlines() if "No more variables left" not in line)


def trap_latency_ms(agent: subprocess.Popen[str], log: Path, samples: int) -> float:
    assert agent.stdin is not None
    raised = ".".join(map(str, so.ALARM_RAISED))
    latencies = []
    for n in range(1, samples + 1):
        marker = f".{'.'.join(map(str, so.column('btmsAlarmKind').oid))}.{1000 + n} "
        t0 = time.perf_counter()
        agent.stdin.write(f"{1000 + n}\n")
        agent.stdin.flush()
        deadline = t0 + 5
        while time.perf_counter() < deadline:
            text = log.read_text() if log.exists() else ""
            if marker in text and raised in text:
                latencies.append((time.perf_counter() - t0) * 1000)
                break
            time.sleep(0.002)
        else:
            raise RuntimeError("trap not received within 5 s")
    latencies.sort()
    return latencies[len(latencies) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--serve", nargs=3)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1]), int(args.serve[2])))
        return

    results: dict[str, float] = {}
    for kind in ("modbus", "bare"):
        port = free_port()
        p = start(kind, port)
        try:
            for n in (1, 16):
                rps = asyncio.run(modbus_load(port, n, args.seconds))
                results[f"{kind}_{n}"] = rps
                print(
                    f"{kind:6} Modbus TCP, {n:2} client(s): {rps:8.0f} req/s, {rps * REGS_PER_REQUEST / 1e6:5.2f} M registers/s"
                )
        finally:
            stop(p)

    trap_port = free_udp_port()
    snmp_port = free_udp_port()
    with tempfile.TemporaryDirectory() as tmp:
        trapd, log = start_snmptrapd(trap_port, Path(tmp))
        agent = None
        try:  # snmptrapd is stopped even when the agent does not start
            agent = start("snmp", snmp_port, trap_port)
            walk_s, varbinds = bulkwalk_s(snmp_port)
            print(f"snmpbulkwalk -Cr64 of the cell table: {walk_s:.2f} s for {varbinds} varbinds")
            latency = trap_latency_ms(agent, log, samples=10)
            print(f"alarm -> trap logged by snmptrapd: median {latency:.1f} ms (10 alarms)")
        finally:
            if agent is not None:
                stop(agent)
            trapd.terminate()
            trapd.wait(timeout=5)

    print(
        json.dumps(
            {
                "bench": "scada",
                "modbus_req_per_s_1": round(results["modbus_1"]),
                "modbus_req_per_s_16": round(results["modbus_16"]),
                "bare_req_per_s_1": round(results["bare_1"]),
                "ratio_1": round(results["modbus_1"] / results["bare_1"], 3),
                "snmp_bulkwalk_s": round(walk_s, 2),
                "trap_latency_ms": round(latency, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
