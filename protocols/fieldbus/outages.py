"""Outage bookkeeping of a field bus: each device's misses in a row and the port's state.

Pure logic, no I/O: the scheduler feeds it what happened and reports what it returns. Every
event comes once per change (lost once, recovered once), never once per poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.fieldbus.bus_messages import (
    BusPortLost,
    BusPortReopened,
    DeviceCommunicationLost,
    DeviceCommunicationRecovered,
)

REOPEN_BACKOFF_FIRST_S = 0.1
REOPEN_BACKOFF_MAX_S = 5.0


@dataclass
class DeviceWatch:
    """Unanswered scans in a row of one device against the bus's miss_limit: the gateway's one
    miss counter. `lost` is the verdict each of the device's scans carries up, and the string
    master and master controller raise or clear "communication lost" on it alone.

    A scan the device could not get because the port was lost counts toward the verdict (the
    string is as blind either way, and "communication lost" is the alarm the operator gets), but
    the DeviceCommunicationLost report waits for a silence of the device's own: while the port is
    out, its BusPortLost stands for every device on it.
    """

    bus_id: str
    address: int
    label: str  # "string s1 (BM-SS)", "BM-LC"
    miss_limit: int
    misses: int = 0
    lost_at: float | None = None  # when the outage was reported (None: not reported)

    @property
    def lost(self) -> bool:
        """The verdict: at least miss_limit scans in a row without an answer."""
        return self.misses >= self.miss_limit

    def answered(self, now: float) -> DeviceCommunicationRecovered | None:
        self.misses = 0
        if self.lost_at is None:
            return None
        event = DeviceCommunicationRecovered(self.bus_id, self.address, self.label, now - self.lost_at, now)
        self.lost_at = None
        return event

    def missed(self, now: float, reason: str) -> DeviceCommunicationLost | None:
        """The device itself did not answer (timeout, exception response...)."""
        self.misses += 1
        if self.lost_at is None and self.lost:
            self.lost_at = now
            return DeviceCommunicationLost(self.bus_id, self.address, self.label, self.misses, reason, now)
        return None

    def unreachable(self) -> None:
        """No request could go out to the device: its port is lost."""
        self.misses += 1


@dataclass
class PortWatch:
    """The port of a bus: lost once, reopened once, and reopening attempts with exponential
    backoff (a missing USB adapter must not be hammered every scan)."""

    bus_id: str
    port: str
    lost_at: float | None = None  # wall-clock time the loss was reported
    retry_delay_s: float = REOPEN_BACKOFF_FIRST_S
    next_attempt: float = 0.0  # monotonic time before which no reopening is tried

    def may_try_to_open(self, monotonic_now: float) -> bool:
        return monotonic_now >= self.next_attempt

    def lost(self, now: float, reason: str) -> BusPortLost | None:
        if self.lost_at is not None:
            return None
        self.lost_at = now
        return BusPortLost(self.bus_id, self.port, reason, now)

    def open_failed(self, now: float, monotonic_now: float, reason: str) -> BusPortLost | None:
        self.next_attempt = monotonic_now + self.retry_delay_s
        self.retry_delay_s = min(self.retry_delay_s * 2, REOPEN_BACKOFF_MAX_S)
        return self.lost(now, reason)

    def opened(self, now: float) -> BusPortReopened | None:
        self.retry_delay_s = REOPEN_BACKOFF_FIRST_S
        if self.lost_at is None:
            return None
        event = BusPortReopened(self.bus_id, self.port, now - self.lost_at, now)
        self.lost_at = None
        return event
