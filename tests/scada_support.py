"""Harnesses of the SCADA/NMS tests: the Modbus server and the SNMP agent on a loop thread, and
reading net-snmp's and mbpoll's output.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from battery.site import Topology
from protocols.scada.modbus_tcp_server import ScadaModbusServer
from protocols.scada.snmp_agent import BtmsSnmpAgent, SnmpV3User

USER = SnmpV3User("nms", "auth-pass-1", "priv-pass-1")


class AgentThread:
    def __init__(self, topology: Topology, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.agent = BtmsSnmpAgent(topology, lambda m: None, **kwargs)
        self.call(self.agent.start())
        self.port = self.agent.port

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=15)

    def apply(self, *messages: Any) -> None:
        async def go() -> None:
            for m in messages:
                self.agent.apply(m)

        self.call(go())

    def close(self) -> None:
        self.call(self.agent.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def varbinds(text: str) -> dict[str, str]:
    """net-snmp's `-On` output as {OID: "TYPE: value"}, without the line a walk prints when it
    reaches the end of what the agent serves ("No more variables left in this MIB View")."""
    return dict(re.findall(r"^\.(\S+) = (?!No more variables left)(.*)$", text, re.MULTILINE))


class ServerThread:
    """A ScadaModbusServer in a daemon thread's loop; commands land in `self.commands`."""

    def __init__(self, topology: Topology, stale_after_s: float | None = 10.0) -> None:
        self.commands: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = ScadaModbusServer(topology, self.commands.append, stale_after_s=stale_after_s)
        self.call(self.server.start())
        self.port = self.server.port

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def apply(self, *messages: Any) -> None:
        async def go() -> None:
            for m in messages:
                self.server.apply(m)

        self.call(go())

    def do(self, fn: Callable[[], Any]) -> None:
        async def go() -> None:
            fn()

        self.call(go())

    def close(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def mbpoll(port: int, unit: int, ref: int, count: int, kind: str = "4") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "mbpoll",
            "-m",
            "tcp",
            "-a",
            str(unit),
            "-0",
            "-r",
            str(ref),
            "-c",
            str(count),
            "-t",
            kind,
            "-1",
            "-o",
            "2",
            "-p",
            str(port),
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )


def mbpoll_values(out: str) -> dict[int, int]:
    """`[12]: 	65535 (-1)` lines -> {12: 65535} (the first number, as mbpoll prints it)."""
    return {int(a): int(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", out, re.MULTILINE)}


def start_snmptrapd(trap_port: int, folder: Path) -> tuple[subprocess.Popen, Path]:
    """net-snmp's trap receiver on 127.0.0.1:trap_port, logging numeric OIDs to the returned file;
    community "public" only. The caller terminates it."""
    conf, log = folder / "snmptrapd.conf", folder / "traps.log"
    conf.write_text("authCommunity log,execute,net public\n")
    command = ["snmptrapd", "-f", "-n", "-On", "-C", "-c", str(conf), "-m", "", "-Lf", str(log)]
    trapd = subprocess.Popen(
        [*command, f"udp:127.0.0.1:{trap_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return trapd, log
