"""Render docs/fieldbus.md from the register maps in `protocols.fieldbus.device_maps`.

The document is generated so that it cannot disagree with the code; a unit test compares the
file in the repository with this rendering (regenerate: `python scripts/gen_fieldbus_doc.py`).
"""

from __future__ import annotations

from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.rtu_timing import reads_wire_time_s

_HEADER = """# Field bus: Modbus RTU register maps of the BTMS devices

<!-- Generated from protocols/fieldbus/device_maps.py by scripts/gen_fieldbus_doc.py. Do not edit. -->

The gateway talks to its devices over RS-485 (Modbus RTU, 8 data bits, parity and stop bits
as configured per bus, 1200..115200 baud). One FieldBus actor owns each serial line and its
scheduler polls the devices round-robin (see "Polling" at the end); the simulator (`btms sim`)
serves exactly these maps.

## Conventions

- Measurements are **input registers** (function code 4). Function code 3 (holding
  registers) reads the same values, for tools that only read holding registers.
- Relay outputs are **coils** (FC 1 read, FC 5/15 write); digital inputs are **discrete
  inputs** (FC 2).
- Every device answers register 0 = **device type** (two ASCII letters of the order code)
  and register 1 = **firmware version** (major x 256 + minor). Discovery (`btms discover`)
  identifies devices by them.
- "long" values take two registers, **high word first**. Current and temperatures are
  **signed** (two's complement); everything else is unsigned.
- Addresses inside a device's range that carry nothing read 0. A read beyond the range gets
  Modbus **exception 2** (illegal data address); an unknown function code gets exception 1.
- A device that is not on the line stays silent (no exception), as on any RS-485 bus.

## Device types

| device | type register | what it is |
|---|---|---|
"""

_SUBDEVICES = """
## Sub-devices relayed by the string master

A string's BM-HS hall sensor, BM-TH climate sensor and BM-GS insulation sensor have no bus
address of their own: the string master relays each of them in a fixed window of its own
register map (below), and the window's device-type register reads 0 when the sensor is not
fitted. A whole string is therefore read as one contiguous block.
"""

_POLLING = """
## Polling

- One scheduler per bus (protocols/fieldbus/scheduler.py) drives every kind of bus alike:
  Modbus RTU on a serial line (`/dev/tty...`, a pty, `socket://host:port` for an
  RS-485/Ethernet converter) and the in-process simulator (`sim://NAME`). It runs in its own
  thread, so a slow line never holds up the FieldBus actor's messages.
- Scans start on a fixed grid: scan k at start + k x `scan_period_s`, so the time a scan takes
  does not shift the next one. A scan that takes longer than its period skips the slots it
  overran instead of catching up in a burst; that is logged once when it starts and once when
  the period is kept again. The bus's `BusStats` give the scans done and the latest start
  behind its slot (`worst_lag_ms`).
- A scan reads every string master, then each BM-LC (one request).
- An output command (a coil write) goes on the line before the next request, also between the
  requests of one string: it waits at most for the request already on the line.
- A device that does not answer (no valid reply after one retry, an exception response,
  registers that do not fit its map, a cell count other than the topology's) gives a stale
  reading for that scan, never old values. The bus counts each device's unanswered scans in a
  row, the one miss counter of the gateway: from the `miss_limit`-th on, the device's scans
  say `communication_lost`, and its string master or master controller raises "Communication
  lost" on that verdict (and clears it when the device answers). The outage is logged once
  with the last reason, and the recovery once.
- A lost port (adapter unplugged, converter down) is logged once and reopened with
  exponential backoff (0.1 s, doubling up to 5 s); meanwhile every device reads as stale. That
  silence counts toward each device's verdict (its data is as missing), but the port's log
  line stands for the devices' own outage lines.
"""


def _field_rows(fields: tuple[dm.Field, ...], base: int = 0) -> list[str]:
    rows = ["| address | name | type | scale | meaning |", "|---|---|---|---|---|"]
    for f in fields:
        addr = f"{base + f.address}" if f.words == 1 else f"{base + f.address},{base + f.address + 1}"
        kind = ("long" if f.words == 2 else "int") + (" signed" if f.signed else "")
        rows.append(f"| {addr} | {f.name} | {kind} | {f.scale} | {f.meaning} |")
    return rows


def _bit_rows(title: str, bits: tuple[dm.Bit, ...]) -> list[str]:
    rows = ["", f"{title}:", "", "| address | name | meaning |", "|---|---|---|"]
    rows += [f"| {b.address} | {b.name} | {b.meaning} |" for b in bits]
    return rows


def render() -> str:
    out = [_HEADER.rstrip("\n")]
    for m in dm.ALL_MAPS:
        out.append(f'| {m.kind.value} | 0x{m.type_code:04X} ("{m.kind.value[-2:]}") | {m.title} |')
    out.append(_SUBDEVICES.rstrip("\n"))
    windows = ", ".join(
        f"{sub.kind.value} at {base}..{base + sub.register_count - 1}" for base, sub in dm.SUB_DEVICE_WINDOWS
    )
    out.append(f"\nWindows in the string master's registers: {windows}.")
    for m in dm.ALL_MAPS:
        out += ["", f"## {m.title}", "", m.purpose, ""]
        if m.kind is dm.DeviceKind.STRING_MASTER:
            out += ["Header:", ""]
        else:
            out += [f"Input registers (0..{m.register_count - 1}):", ""]
        out += _field_rows(m.registers)
        if m.kind is dm.DeviceKind.STRING_MASTER:
            out += [
                "",
                f"Cell n (1..{dm.MAX_CELLS}): registers {dm.CELL_BLOCK_START} + {dm.CELL_BLOCK_SIZE} x (n - 1) + offset:",
                "",
            ]
            out += _field_rows(dm.CELL_FIELDS)
            out[-len(dm.CELL_FIELDS) - 2] = "| offset | name | type | scale | meaning |"
        if m.coils:
            out += _bit_rows("Coils", m.coils)
        if m.discrete_inputs:
            out += _bit_rows("Discrete inputs", m.discrete_inputs)
    out += ["", "## Reading a string", ""]
    out.append(
        f"A string master with n cells has {dm.CELL_BLOCK_START} + {dm.CELL_BLOCK_SIZE} x n registers, read in "
        f"requests of at most {dm.MAX_REGISTERS_PER_READ} registers. Wire time at 115200 baud, 8N1, "
        "request + response + two 3.5-character gaps (1.75 ms each above 19200 baud):"
    )
    out += ["", "| cells | requests | wire time at 115200 baud |", "|---|---|---|"]
    for cells in (1, 20, 40, 120):
        plan = dm.read_plan(dm.string_master_register_count(cells))
        ms = reads_wire_time_s((c for _, c in plan), 115200) * 1000
        out.append(f"| {cells} | {len(plan)} | {ms:.1f} ms |")
    out.append(_POLLING.rstrip("\n"))
    return "\n".join(out) + "\n"
