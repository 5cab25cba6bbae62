"""UPS aggregates of its strings (seed 000): voltage average, current sum, SOC average.

Only fresh strings count: a string whose master did not answer must not pull the UPS voltage
towards zero nor hide its current. With no fresh string the aggregates are None (unknown), and
the current is unknown while any fresh string's hall sensor is disconnected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from battery.analytics import WeakestCells, ups_runtime_min, ups_weakest
from battery.status import StringStatus


@dataclass(frozen=True)
class UpsAggregate:
    voltage_v: float | None
    current_a: float | None
    soc_pct: float | None


def aggregate(
    voltages_v: Sequence[float], currents_a: Sequence[float | None], socs_pct: Sequence[float]
) -> UpsAggregate:
    """`currents_a` has None for a string whose current is unknown (hall sensor disconnected):
    then the sum is unknown too, rather than quietly smaller than the truth."""
    if not voltages_v:
        return UpsAggregate(None, None, None)
    return UpsAggregate(
        voltage_v=sum(voltages_v) / len(voltages_v),
        current_a=None if any(c is None for c in currents_a) else sum(currents_a),
        soc_pct=sum(socs_pct) / len(socs_pct) if socs_pct else None,
    )


@dataclass(frozen=True)
class UpsDischarge:
    runtime_min: float | None  # the shortest runtime of its discharging strings
    on_battery_since: float | None  # the earliest start of its strings' discharge events
    weakest: WeakestCells | None  # its strings' rankings merged


def discharge_of(fresh: Sequence[StringStatus]) -> UpsDischarge:
    """A UPS's runtime, time on battery and weakest cells from its fresh strings. Its strings
    share one DC bus: the UPS runs as long as its shortest string (analytics.runtime)."""
    starts = [s.discharge_started_at for s in fresh if s.discharge_started_at is not None]
    rankings = [(s.string_id, s.weakest) for s in fresh if s.weakest is not None]
    return UpsDischarge(
        ups_runtime_min([s.runtime_min for s in fresh]),
        min(starts) if starts else None,
        ups_weakest(rankings) if rankings else None,
    )
