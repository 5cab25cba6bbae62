"""Hourly min/avg/max of a day of samples: what long-range plots read instead of every scan.

A year of one cell at a 10 s scan is 3.2 million samples; at 1 hour it is 8,760 points, which
is more than any plot shows. Stale samples (a string that did not answer, a cell with no
response) are left out, so an hour with no real reading has a count of 0 and no value.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import compress

from storage.history import codec

HOUR_MS = 3_600_000
HOURS = 24
_STATS = 4  # count, min, avg x AVG_STEPS, max
AVG_STEPS = 10  # the hourly mean is kept to a tenth of a stored step


@dataclass(frozen=True)
class HourStat:
    hour: int  # 0..23 of the UTC day
    count: int
    min: int
    avg: float  # in stored units (not rounded to a step)
    max: int


def summarize(offsets_ms: array, series: list[array], present: list[bytes]) -> list[list[HourStat]]:
    """Per series, the 24 hours of a day.

    offsets_ms: the scans' times from the start of the day, ascending.
    present[q][i] is 1 when series q's sample i is a real reading.
    """
    bounds = [bisect_left(offsets_ms, h * HOUR_MS) for h in range(HOURS + 1)]
    out: list[list[HourStat]] = []
    for values, mask in zip(series, present):
        hours = []
        for h in range(HOURS):
            a, b = bounds[h], bounds[h + 1]
            seg = values[a:b]
            m = mask[a:b]
            if m.count(0):
                seg = list(compress(seg, m))
            if seg:
                hours.append(HourStat(h, len(seg), min(seg), sum(seg) / len(seg), max(seg)))
            else:
                hours.append(HourStat(h, 0, 0, 0.0, 0))
        out.append(hours)
    return out


def pack_hours(stats: list[list[HourStat]]) -> bytes:
    cols: list[bytes] = []
    for hours in stats:
        cols.append(codec.to_lanes([s.count for s in hours]))
        cols.append(codec.to_lanes([s.min for s in hours]))
        cols.append(codec.to_lanes([_clamp(round(s.avg * AVG_STEPS)) for s in hours]))
        cols.append(codec.to_lanes([s.max for s in hours]))
    return codec.pack_series(cols)


def unpack_hours(blob: bytes, quantities: int, which: int | None = None) -> list:
    """All quantities' hours (list of lists), or with `which` only that quantity's hours."""
    only = None if which is None else tuple(range(which * _STATS, (which + 1) * _STATS))
    cols = [codec.from_lanes(c) for c in codec.unpack_series(blob, quantities * _STATS, only)]
    out = []
    for q in range(quantities) if which is None else (which,):
        cnt, mn, avg10, mx = cols[q * _STATS : (q + 1) * _STATS]
        out.append([HourStat(h, cnt[h], mn[h], avg10[h] / AVG_STEPS, mx[h]) for h in range(len(cnt))])
    return out if which is None else out[0]


def _clamp(v: int) -> int:
    return max(-(2**31), min(2**31 - 1, v))
