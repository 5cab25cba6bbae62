"""The weakest cells of a string or a UPS, by three criteria, each ranked on its own:
- resistance rise over the cell's baseline (IEEE 1188: +20–30 % warns, +50 % replace);
- voltage sag under discharge: how far below the string's median cell voltage it is;
- temperature above the string's median cell temperature (a hot cell ages fastest).
A cell without a value for a criterion (no baseline yet, no answer) is left out of that ranking.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WeakestCells:
    """Each ranking: (cell key, amount), worst first. The key is the cell index from 1 for a
    string and (string id, cell index) for a UPS."""

    by_resistance_rise: tuple[tuple[Hashable, float], ...] = ()  # rise as a fraction (0.2 = +20 %)
    by_voltage_sag: tuple[tuple[Hashable, float], ...] = ()  # mV below the median under discharge
    by_temperature: tuple[tuple[Hashable, float], ...] = ()  # K above the string's median


def ranked(values: Sequence[tuple[Hashable, float | None]], count: int) -> tuple[tuple[Hashable, float], ...]:
    """The `count` largest positive values, largest first; ties by key so the order is stable."""
    known = [(k, float(v)) for k, v in values if v is not None and v > 0]
    return tuple(sorted(known, key=lambda kv: (-kv[1], str(kv[0])))[:count])


def above_median(values: Sequence[float | None]) -> list[float | None]:
    """Each value minus the median of the known ones (None stays None)."""
    known = [v for v in values if v is not None]
    if not known:
        return [None] * len(values)
    median = statistics.median(known)
    return [None if v is None else v - median for v in values]


def string_weakest(
    resistance_rise: Sequence[float | None],
    voltage_mv: Sequence[int | None],
    temperature_c: Sequence[float | None],
    discharging: bool,
    count: int = 5,
) -> WeakestCells:
    """The rankings of one string's cells (index 1 first in each sequence). Voltage sag is
    ranked only during a discharge: in float a low voltage says little about a cell."""
    indices = range(1, len(resistance_rise) + 1)
    sag: list[float | None] = [None] * len(voltage_mv)
    if discharging:
        sag = [None if d is None else -d for d in above_median([v or None for v in voltage_mv])]
    hot = above_median(list(temperature_c))
    return WeakestCells(
        ranked(list(zip(indices, resistance_rise)), count),
        ranked(list(zip(range(1, len(sag) + 1), sag)), count),
        ranked(list(zip(range(1, len(hot) + 1), hot)), count),
    )


def ups_weakest(strings: Sequence[tuple[str, WeakestCells]], count: int = 5) -> WeakestCells:
    """A UPS's rankings from its strings' (each string judged against its own medians)."""

    def merged(pick) -> tuple[tuple[Hashable, float], ...]:
        return ranked([((sid, k), v) for sid, w in strings for k, v in pick(w)], count)

    return WeakestCells(
        merged(lambda w: w.by_resistance_rise),
        merged(lambda w: w.by_voltage_sag),
        merged(lambda w: w.by_temperature),
    )
