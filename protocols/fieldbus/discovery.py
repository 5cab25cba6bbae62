"""Auto-sensing (`btms discover`): find the devices on a bus and draft a topology.yaml.

Every device answers its type and firmware in input registers 0-1 (protocols.fieldbus.device_maps),
so discovery asks each address for those two registers at each baud rate and identifies what
answers. A string master then tells its cell count, battery type, hall range and which
sub-sensors are fitted; the master controller lists its IO modules. What no device can know
(capacity, UPS grouping, names) is filled with placeholders marked CHECK in the draft.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType

from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.rtu_codec import (
    DecodeError,
    StringMasterExtras,
    decode_identity,
    decode_master_controller,
    decode_string_master_extras,
)
from protocols.fieldbus.rtu_timing import frame_time_s, gap_s, read_response_bytes

DEFAULT_BAUDRATES = (115200, 57600, 38400, 19200, 9600)
PLACEHOLDER_CAPACITY_AH = 100

Progress = Callable[[int, int, str], None]  # (done, total, what is being asked)


@dataclass(frozen=True)
class FoundDevice:
    address: int
    kind: dm.DeviceKind | None  # None: answered with a type this gateway does not know
    type_code: int
    firmware: str
    string: StringMasterExtras | None = None
    io_modules: tuple[int, ...] = ()  # for a master controller


@dataclass
class BusSurvey:
    port: str
    baudrate: int
    devices: list[FoundDevice] = field(default_factory=list)


def parse_addresses(text: str) -> tuple[int, ...]:
    """'1-32,100,101' -> (1, ..., 32, 100, 101); every address 1..247."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi if sep else lo)
        except ValueError:
            raise ValueError(f"address range {part!r} is not N or N-M") from None
        if not 1 <= first <= last <= 247:
            raise ValueError(f"address range {part!r} must lie within 1..247")
        out.extend(range(first, last + 1))
    return tuple(dict.fromkeys(out))


def probe_timeout_s(baudrate: int) -> float:
    """Long enough for a header answer at this baud rate plus OS/adapter latency, no longer:
    most addresses are empty and each costs a full timeout."""
    exchange = frame_time_s(8 + read_response_bytes(dm.CELL_BLOCK_START), baudrate) + 2 * gap_s(baudrate)
    return 0.03 + 2 * exchange


async def _identify(client: AsyncModbusSerialClient, address: int) -> FoundDevice | None:
    try:
        rr = await client.read_input_registers(0, count=2, device_id=address)
    except ModbusIOException:
        return None
    if rr.isError():  # something answers at this address, but not with our map
        return FoundDevice(address, None, 0, "?")
    ident = decode_identity(rr.registers)
    where = f"address {address}"
    try:
        if ident.kind is dm.DeviceKind.STRING_MASTER:
            rr = await client.read_input_registers(0, count=dm.CELL_BLOCK_START, device_id=address)
            if not rr.isError():
                return FoundDevice(address, ident.kind, ident.type_code, ident.firmware,
                                   string=decode_string_master_extras(rr.registers, where))  # fmt: skip
        elif ident.kind is dm.DeviceKind.MASTER_CONTROLLER:
            count = dm.MASTER_CONTROLLER.register_count
            rr = await client.read_input_registers(0, count=count, device_id=address)
            if not rr.isError():
                return FoundDevice(address, ident.kind, ident.type_code, ident.firmware,
                                   io_modules=decode_master_controller(rr.registers, where))  # fmt: skip
    except (ModbusIOException, DecodeError):
        pass  # identified, details unreadable: listed without them
    return FoundDevice(address, ident.kind, ident.type_code, ident.firmware)


async def survey(
    port: str,
    addresses: Sequence[int],
    baudrates: Sequence[int] = DEFAULT_BAUDRATES,
    progress: Progress | None = None,
    timeout_s: float | None = None,
) -> list[BusSurvey]:
    """Ask every address at every baud rate; one survey per baud rate that found something."""
    total = len(addresses) * len(baudrates)
    done = 0
    found: list[BusSurvey] = []
    for baudrate in baudrates:
        client = AsyncModbusSerialClient(port, framer=FramerType.RTU, baudrate=baudrate,
                                         timeout=timeout_s or probe_timeout_s(baudrate), retries=0,
                                         reconnect_delay=0)  # fmt: skip
        if not await client.connect():
            raise ConnectionException(f"cannot open {port}")
        result = BusSurvey(port, baudrate)
        try:
            for address in addresses:
                if progress is not None:
                    progress(done, total, f"{baudrate} baud, address {address}: {len(result.devices)} found")
                device = await _identify(client, address)
                if device is not None:
                    result.devices.append(device)
                done += 1
        finally:
            client.close()
        if result.devices:
            found.append(result)
    if progress is not None:
        progress(total, total, f"{sum(len(s.devices) for s in found)} device(s) found")
    return found


def draft_topology(surveys: Sequence[BusSurvey], bus_id: str = "bus1", note: str = "") -> str:
    """topology.yaml text for the best survey (the baud rate where most devices answered)."""
    lines = ["# Draft topology written by `btms discover`." + (f" {note}" if note else "")]
    if not surveys:
        lines += ["# No device answered: check wiring, termination, address range and baud rates.", ""]
        return "\n".join(lines)
    best = max(surveys, key=lambda s: len(s.devices))
    others = [s for s in surveys if s is not best]
    strings = [d for d in best.devices if d.kind is dm.DeviceKind.STRING_MASTER and d.string is not None]
    controllers = [d for d in best.devices if d.kind is dm.DeviceKind.MASTER_CONTROLLER]
    unknown = [d for d in best.devices if d.kind is None]
    lines += [
        f"# Found on {best.port} at {best.baudrate} baud: {len(strings)} string master(s), "
        f"{len(controllers)} master controller(s), "
        f"{sum(1 for d in best.devices if d.kind is dm.DeviceKind.IO_MODULE)} IO module(s).",
        "# CHECK every line marked CHECK: capacities, names and UPS grouping cannot be read from devices.",
        "# Then: btms check topology.yaml",
    ]
    for d in unknown:
        lines.append(f"# Address {d.address} answered with an unknown device type 0x{d.type_code:04X}: left out.")
    for s in others:
        lines.append(f"# Also answering at {s.baudrate} baud: addresses {', '.join(str(d.address) for d in s.devices)}"
                     " (one bus runs at one baud rate: CHECK).")  # fmt: skip
    lines += [
        "",
        "gateway:",
        "  id: gw1",
        "  name: Discovered site            # CHECK",
        "",
        "buses:",
        f"  - id: {bus_id}",
        f"    port: {_quote(best.port)}",
        f"    baudrate: {best.baudrate}",
        "    parity: N",
        "",
        "upses:",
        "  - id: UPS-1",
        "    index: 1",
        "    name: UPS 1                    # CHECK: which strings belong to which UPS",
        "    strings:",
    ]
    for n, d in enumerate(strings, start=1):
        extras = d.string
        assert extras is not None
        nominal = extras.nominal_voltage if extras.nominal_voltage in (2, 6, 12) else 12
        lines += [
            f"      - id: S{n}",
            f"        index: {n}",
            f"        name: String {n}             # CHECK",
            f"        bus: {bus_id}",
            f"        address: {d.address}",
            f"        battery: {{nominal_voltage: {nominal}, capacity_ah: {PLACEHOLDER_CAPACITY_AH}, "
            f"count: {extras.cell_count}}}   # CHECK capacity_ah",
            f"        hall_range_a: {max(1, extras.hall_range_a)}",
            f"        climate_sensor: {'true' if extras.climate_fitted else 'false'}",
            f"        insulation_sensor: {'true' if extras.insulation_fitted else 'false'}",
        ]
    if not strings:
        lines.append("      []   # CHECK: no string master found; a UPS needs at least one string")
    if controllers:
        mc = controllers[0]
        present = {d.address for d in best.devices if d.kind is dm.DeviceKind.IO_MODULE}
        lines += ["", "master_controller:", f"  bus: {bus_id}", f"  address: {mc.address}"]
        if mc.io_modules:
            lines.append("  io_modules:")
            for n, address in enumerate(mc.io_modules, start=1):
                mark = "" if address in present else "   # CHECK: listed by the BM-MC but did not answer"
                lines += [f"    - id: lc{n}", f"      address: {address}{mark}"]
    lines.append("")
    return "\n".join(lines)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def discover(
    port: str,
    addresses: Sequence[int] = tuple(range(1, 248)),
    baudrates: Sequence[int] = DEFAULT_BAUDRATES,
    progress: Progress | None = None,
    timeout_s: float | None = None,
) -> str:
    """Scan a bus and return a draft topology.yaml (text)."""
    surveys = asyncio.run(survey(port, addresses, baudrates, progress, timeout_s))
    return draft_topology(surveys, note=time.strftime("%Y-%m-%d %H:%M:%S"))


def _progress_bar(stream=sys.stderr, width: int = 30) -> Progress:
    def show(done: int, total: int, text: str) -> None:
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {text[:50]:<50}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def run_discover(
    port: str,
    addresses: str = "1-247",
    baudrates: Sequence[int] = DEFAULT_BAUDRATES,
    timeout_s: float | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """`btms discover --port PORT`: progress bar on stderr, the draft topology on stdout."""
    try:
        text = discover(port, parse_addresses(addresses), baudrates, _progress_bar(), timeout_s)
    except (ValueError, ConnectionException) as exc:
        out(f"error: {exc}")
        return 1
    out(text)
    return 0
