"""Server-side downsampling: any range becomes at most `max_points` buckets of min/avg/max.

Pure functions on arrays, so a plot of a year costs the same number of points as a plot of
an hour. Buckets are merged from raw samples (short ranges) or from hourly summaries (ranges
whose bucket is an hour or more), which give the same min/max and a count-weighted mean.

Values leave here rounded to two decimals below the quantity's resolution (a cell voltage's
min 13.501, its mean 13.50133): a mean keeps its fraction of a step, and the float noise of
scaling (13501 * 0.001 = 13.501000000000001) goes, so the JSON API and the CSV downloads
print the same short numbers.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import compress
from math import floor, log10

# bucket index -> [min, sum, count, max]
Buckets = dict[int, list[float]]


def bucket_width(start: float, end: float, max_points: int) -> float:
    if not end > start:
        raise ValueError(f"series: end ({end}) must be after start ({start})")
    if max_points < 1:
        raise ValueError(f"series: max_points must be >= 1, got {max_points}")
    return (end - start) / max_points


def add_samples(acc: Buckets, ts_ms: array, values: array, mask: bytes, start: float, width: float, end: float) -> None:
    """Merge samples (ts in ms, mask 1 = real reading) that fall in [start, end) into the buckets."""
    if not len(ts_ms):
        return
    first = max(0, int((ts_ms[0] / 1000 - start) // width))
    last = int((min(ts_ms[-1] / 1000, end) - start) // width)
    lo = bisect_left(ts_ms, start * 1000)
    for i in range(first, last + 1):
        a = max(lo, bisect_left(ts_ms, (start + i * width) * 1000))
        b = bisect_left(ts_ms, min(end, start + (i + 1) * width) * 1000)
        if a >= b:
            continue
        seg = values[a:b]
        m = mask[a:b]
        if m.count(0):
            seg = list(compress(seg, m))
            if not seg:
                continue
        merge(acc, i, min(seg), sum(seg), len(seg), max(seg))


def merge(acc: Buckets, i: int, mn: float, total: float, count: int, mx: float) -> None:
    b = acc.get(i)
    if b is None:
        acc[i] = [mn, total, count, mx]
    else:
        b[0] = min(b[0], mn)
        b[1] += total
        b[2] += count
        b[3] = max(b[3], mx)


EXTRA_DIGITS = 2  # decimals kept below the resolution


def decimals(scale: float) -> int:
    """Decimals a value of this scale is served with: its resolution's, plus EXTRA_DIGITS (0.01 -> 4)."""
    return max(0, -floor(log10(scale) + 1e-9)) + EXTRA_DIGITS


def points(acc: Buckets, start: float, width: float, scale: float) -> list[tuple[float, float, float, float]]:
    """(bucket start time, min, avg, max) in display units, in time order, rounded (see above)."""
    d = decimals(scale)
    return [
        (start + i * width, round(b[0] * scale, d), round(b[1] / b[2] * scale, d), round(b[3] * scale, d))
        for i, b in sorted(acc.items())
    ]


def combine(per_string: list[Buckets], how: str) -> Buckets:
    """UPS buckets from its strings' buckets: 'mean' (voltage, SOC) or 'sum' (current).

    Per bucket the strings' min, mean and max are averaged or added; only strings that have
    data in that bucket take part (a missing string is not a zero).
    """
    if how not in ("mean", "sum"):
        raise ValueError(f"combine: unknown aggregation {how!r}")
    out: Buckets = {}
    keys = sorted(set().union(*per_string)) if per_string else []
    for i in keys:
        rows = [b[i] for b in per_string if i in b]
        mins = [r[0] for r in rows]
        avgs = [r[1] / r[2] for r in rows]
        maxs = [r[3] for r in rows]
        k = len(rows) if how == "mean" else 1
        out[i] = [sum(mins) / k, sum(avgs) / k, 1, sum(maxs) / k]
    return out
