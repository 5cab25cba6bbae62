"""Clients asking a running gateway once per period, as a SCADA, an NMS and a dashboard would.

Every tool call and HTTP request has its own timeout; a poller counts requests and failures and
keeps the first few failure texts (a failed soak says what went wrong, in bounded memory).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable

from protocols.scada import snmp_oids as so
from tests.e2e_support import mbpoll
from tests.gateway_process import GatewayProcess

KEPT_ERRORS = 5
GATEWAY_UNIT = 100  # docs/modbus.md: gateway unit; a string's unit is 100 + its index
GATEWAY_REGISTERS, STRING_REGISTERS, CELL_REGISTERS = 13, 22, 7  # up to map_version, cell_alarm_count, cell_soh
STRING_COUNT_REGISTER, STRING_CELLS_REGISTER, STRING_STALE_REGISTER = 10, 10, 15
SNMP_STRING_STATUS_COLUMN, SNMP_CELL_VOLTAGE_COLUMN = 4, 3
SNMP_STALE = "INTEGER: 3"  # HEALTH_ENUM stale(3)

Request = Callable[[int], str | None]  # one tick's request(s): None if answered as expected, else what was wrong


class Poller(threading.Thread):
    """Runs `request(tick)` every `period_s` until stopped (no catch-up burst after a slow tick)."""

    def __init__(self, label: str, request: Request, period_s: float = 1.0) -> None:
        super().__init__(name=f"poller-{label}", daemon=True)
        self.label, self.request, self.period_s = label, request, period_s
        self.requests = self.errors = 0
        self.first_errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        tick, next_at = 0, time.monotonic()
        while not self.stopping.wait(max(0.0, next_at - time.monotonic())):  # the poller's period
            try:
                problem = self.request(tick)
            except Exception as error:  # counted and kept: a poller thread that died would hide failures
                problem = f"{type(error).__name__}: {error}"
            self.requests += 1
            if problem is not None:
                self.errors += 1
                if len(self.first_errors) < KEPT_ERRORS:
                    self.first_errors.append(f"tick {tick}: {problem}")
            tick += 1
            next_at = max(next_at + self.period_s, time.monotonic())


def stop_all(pollers: list[Poller], timeout: float = 90.0) -> list[str]:
    """Stop every poller at once (each ends its tick, bounded by its tools' timeouts); those still running."""
    for poller in pollers:
        poller.stopping.set()
    deadline = time.monotonic() + timeout
    for poller in pollers:
        poller.join(max(0.0, deadline - time.monotonic()))
    return [p.label for p in pollers if p.is_alive()]


def modbus_request(port: int, strings: int, cells: int) -> Request:
    """mbpoll (libmodbus): the gateway unit, one string's registers and one of its cells, in turn."""

    def request(tick: int) -> str | None:
        string, cell = tick % strings + 1, tick % cells + 1
        gateway = mbpoll(port, GATEWAY_UNIT, 0, GATEWAY_REGISTERS)
        head = mbpoll(port, GATEWAY_UNIT + string, 0, STRING_REGISTERS)
        battery = mbpoll(port, GATEWAY_UNIT + string, 100 * cell, CELL_REGISTERS)
        for what, read, count in (
            ("gateway", gateway, GATEWAY_REGISTERS),
            (f"string {string}", head, STRING_REGISTERS),
            (f"string {string} cell {cell}", battery, CELL_REGISTERS),
        ):
            if read.returncode != 0 or len(read.registers) != count:
                return f"{what}: exit {read.returncode}, {len(read.registers)} registers: {read.stderr or read.stdout}"
        counted = gateway.registers[STRING_COUNT_REGISTER], head.registers[STRING_CELLS_REGISTER]
        if counted != (strings, cells):
            return f"string {string}: (strings, cells) read {counted}, not {(strings, cells)}"
        return f"string {string} is stale" if head.registers[STRING_STALE_REGISTER] else None

    return request


def _snmp(tool: str, community: str, port: int, *oids: str) -> list[str]:
    """net-snmp without MIB files (-m ''; numeric OIDs): the `OID = TYPE: value` lines, or raises."""
    done = subprocess.run(
        [tool, "-v2c", "-c", community, "-m", "", "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}", *oids],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{tool} exit {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return [line for line in done.stdout.splitlines() if " = " in line]


def snmp_request(port: int, community: str, strings: int, cells: int) -> Request:
    """snmpget of the gateway scalars and a string's status, snmpbulkwalk of its cell voltages."""
    gateway = [f"{'.'.join(map(str, so.GATEWAY))}.{n}.0" for n in range(1, 8)]
    entry, cell_entry = ".".join(map(str, so.STRING_ENTRY)), ".".join(map(str, so.CELL_ENTRY))

    def request(tick: int) -> str | None:
        string = tick % strings + 1
        got = _snmp("snmpget", community, port, *gateway, f"{entry}.{SNMP_STRING_STATUS_COLUMN}.{string}")
        voltages = _snmp("snmpbulkwalk", community, port, f"{cell_entry}.{SNMP_CELL_VOLTAGE_COLUMN}.{string}")
        if len(got) != len(gateway) + 1 or any("No Such" in line for line in got):
            return f"snmpget string {string}: {got}"
        if len(voltages) != cells:
            return f"string {string}: {len(voltages)} cell voltages, not {cells}"
        return f"string {string} is stale" if got[-1].endswith(SNMP_STALE) else None

    return request


def api_request(gateway: GatewayProcess, string_ids: list[str], cells: int) -> Request:
    """The JSON API: the site (every string fresh) and one string's cells, in turn."""

    def request(tick: int) -> str | None:
        string = string_ids[tick % len(string_ids)]
        status, site = gateway.get("/api/v1/site")
        if status != 200 or len(site["strings"]) != len(string_ids):
            return f"/api/v1/site: HTTP {status}, {site}"
        stale = [s["id"] for s in site["strings"] if s["stale"]]
        if stale:
            return f"stale strings: {stale}"
        status, answer = gateway.get(f"/api/v1/strings/{string}/cells")
        if status != 200 or len(answer["cells"]) != cells:
            return f"/api/v1/strings/{string}/cells: HTTP {status}, {len(answer.get('cells', []))} cells"
        return None

    return request
