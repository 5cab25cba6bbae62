"""What a serial line reports besides string scans, and the command it executes.

Each event is reported once per change (lost once, recovered once), never once per poll.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceCommunicationLost:
    """FieldBus -> parent: a device missed `misses` scans in a row (BusConfig.miss_limit), those
    its port was lost for included."""

    bus_id: str
    device_address: int
    device: str  # "string s1 (BM-SS)", "BM-LC"
    misses: int
    reason: str  # the last error: "timeout", "Modbus exception 2", ...
    timestamp: float


@dataclass(frozen=True)
class DeviceCommunicationRecovered:
    bus_id: str
    device_address: int
    device: str
    outage_s: float
    timestamp: float


@dataclass(frozen=True)
class BusPortLost:
    """The serial port vanished or failed (cable/USB adapter unplugged); reopened with backoff."""

    bus_id: str
    port: str
    reason: str
    timestamp: float


@dataclass(frozen=True)
class BusPortReopened:
    bus_id: str
    port: str
    outage_s: float
    timestamp: float


@dataclass(frozen=True)
class OutputWritten:
    """FieldBus -> commander: the outcome of a SetOutput (ok=False says why in `error`)."""

    device_address: int
    output: int  # 1..8
    on: bool
    ok: bool
    error: str
    queued_ms: float  # from arrival at the bus to the request going on the wire
    timestamp: float


@dataclass(frozen=True)
class IoModuleScan:
    """FieldBus -> master controller: inputs and outputs of one BM-LC, once per scan."""

    bus_id: str
    device_address: int
    scan_no: int
    timestamp: float
    responded: bool  # False: the module did not answer; inputs/outputs are void
    inputs: tuple[bool, ...] = ()  # input 1 first
    outputs: tuple[bool, ...] = ()
    communication_lost: bool = False  # the bus's verdict: miss_limit scans in a row unanswered


@dataclass(frozen=True)
class SetOutput:
    """Master controller -> its FieldBus: write one relay output (a coil) of a BM-LC."""

    device_address: int
    output: int  # 1..8
    on: bool
    reason: str


BusEvent = DeviceCommunicationLost | DeviceCommunicationRecovered | BusPortLost | BusPortReopened | OutputWritten
