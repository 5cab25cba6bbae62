"""When a string's or UPS's data stops being current: ONE rule for Modbus, SNMP and the web.

A string master scans its string every `scan_period_s` of its bus. Data older than three scan
periods means at least two scans were missed, so it is no longer current; 10 s is the floor so
that a fast bus does not flap to stale on one slow scan (a 120-cell string takes a few seconds).
Ages are counted on the monotonic clock, so a step of the wall clock changes no freshness. The
SCADA servers count from when a status arrived (ticked every second); the web view lets a status
arrive as old as its scan and judges at request time (battery/served_site.py). Both call
`is_stale_by_age`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from battery.site import Topology

MIN_STALE_AFTER_S = 10.0
SCAN_PERIODS_BEFORE_STALE = 3


def stale_after_s(scan_period_s: float) -> float:
    """Age after which the data of a device scanned every `scan_period_s` is stale."""
    if scan_period_s <= 0:
        raise ValueError(f"freshness: scan_period_s must be > 0, got {scan_period_s!r}")
    return max(MIN_STALE_AFTER_S, SCAN_PERIODS_BEFORE_STALE * scan_period_s)


def is_stale_by_age(age_s: float, threshold_s: float) -> bool:
    """True when data of this age must not be served as current."""
    return age_s > threshold_s


def string_thresholds(topology: Topology) -> dict[str, float]:
    """string id -> its stale threshold, from the scan period of the bus it hangs on."""
    return {s.id: stale_after_s(topology.bus(s.bus).scan_period_s) for s in topology.strings}


def ups_thresholds(topology: Topology) -> dict[str, float]:
    """UPS id -> stale threshold: a UPS status comes with its strings' scans, so the slowest
    of its buses decides (a UPS without strings gets the floor)."""
    per_string = string_thresholds(topology)
    return {u.id: max((per_string[s.id] for s in u.strings), default=MIN_STALE_AFTER_S) for u in topology.upses}


class FreshnessTracker:
    """When each device's last status arrived, and whether its data may be served as current.

    Keys are string or UPS ids. A device is stale when nothing arrived yet, when its last status
    itself said stale (the string master did not answer), or when that status is too old.
    `went_stale` is what a server's 1 s tick calls to learn which devices to re-render.
    """

    def __init__(self, thresholds: Mapping[Hashable, float]) -> None:
        self.thresholds = dict(thresholds)
        self._received_at: dict[Hashable, float] = {}
        self._status_fresh: dict[Hashable, bool] = {}
        self._served_stale: set[Hashable] = set(self.thresholds)

    def received(self, key: Hashable, status_fresh: bool, now: float) -> None:
        """A status for `key` arrived at `now` (monotonic); `status_fresh`: it was not stale itself."""
        if key not in self.thresholds:
            raise KeyError(f"freshness: {key!r} is not a configured string or UPS")
        self._received_at[key] = now
        self._status_fresh[key] = status_fresh
        if status_fresh:
            self._served_stale.discard(key)
        else:
            self._served_stale.add(key)

    def is_stale(self, key: Hashable, now: float) -> bool:
        if not self._status_fresh.get(key, False):
            return True
        return is_stale_by_age(now - self._received_at[key], self.thresholds[key])

    def went_stale(self, now: float) -> list[Hashable]:
        """Devices served as fresh until now whose data has become too old (each reported once)."""
        out = [k for k in self.thresholds if k not in self._served_stale and self.is_stale(k, now)]
        self._served_stale.update(out)
        return out

    def stale_count(self, now: float) -> int:
        return sum(1 for k in self.thresholds if self.is_stale(k, now))


def freshness_trackers(
    topology: Topology, stale_after_s: float | None = None
) -> tuple[FreshnessTracker, FreshnessTracker]:
    """The string and UPS trackers a server keeps: each threshold from its bus' scan period, or
    one `stale_after_s` for all (tests)."""
    strings, upses = string_thresholds(topology), ups_thresholds(topology)
    if stale_after_s is not None:
        strings = dict.fromkeys(strings, stale_after_s)
        upses = dict.fromkeys(upses, stale_after_s)
    return FreshnessTracker(strings), FreshnessTracker(upses)
