"""How one value is shown: its text, the number behind it, and why it is marked, if it is.

ONE rule for the tables, the bar graph, the kiosk and their CSV files: a value that is not a
good present measurement is never shown as a number that looks good. It is marked
- "stale": no present data (the device did not answer, or the last scan is too old);
- "fault": the sensor's reading is outside what it can measure (a 300.0 °C cell temperature is
  a sensor fault, not a temperature), so it is not a measurement;
- "implausible": nothing was measured although the sensor answered (an open circuit has no
  resistance reading);
- "alarm": a good measurement at or beyond its alarm limit (shown, in the alarm colour).
The reason goes with the mark, for the page's tooltip. Which readings are measurements is the
site view's rule (battery/plausibility.py through web/site_view.py): a value it serves as null
is never turned back into a number here.

A shown value is a list, to keep a 120-cell event small: [text, number] when good,
[text, number or None, mark, reason] when marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from battery.alarms.limits import Direction, Limit
from battery.quantities import Quantity

STALE, FAULT, IMPLAUSIBLE, ALARM = "stale", "fault", "implausible", "alarm"

NO_DATA = "–"  # what a stale value shows: nothing that could be read as a reading


def number_text(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


@dataclass(frozen=True, slots=True)
class Check:
    """One alarm limit as a shown value is compared with it (in the unit shown)."""

    high: bool  # at or above `threshold` is beyond it; else at or below
    threshold: float
    reason: str  # the tooltip of a value beyond it


def check(limit: Limit, threshold: float, q: Quantity) -> Check:
    high = limit.direction is Direction.HIGH
    side = "high" if high else "low"
    return Check(high, threshold, f"At or beyond the {side} alarm limit {number_text(threshold, q.decimals)} {q.unit}")


_FORMATS: dict[str, Callable[[float], str]] = {}  # Quantity.decimals costs a Decimal on each call


def formatter(q: Quantity) -> Callable[[float], str]:
    found = _FORMATS.get(q.key)
    if found is None:
        found = _FORMATS[q.key] = f"{{:.{q.decimals}f}}".format
    return found


def good(value: float | None, q: Quantity, checks: tuple[Check, ...] = ()) -> list:
    """A measured value, marked when it is at or beyond one of its alarm limits."""
    if value is None:
        return stale("No present value")
    text = formatter(q)(value)
    for c in checks:
        if (value >= c.threshold) if c.high else (value <= c.threshold):
            return [text, value, ALARM, c.reason]
    return [text, value]


def stale(reason: str) -> list:
    return [NO_DATA, None, STALE, reason]


def sensor_fault(q: Quantity) -> list:
    return [
        "sensor fault",
        None,
        FAULT,
        f"{q.label} sensor fault: its reading is outside what it can measure ({q.range_text()}), so it is not shown",
    ]


def not_measured(reason: str) -> list:
    return ["not measured", None, IMPLAUSIBLE, reason]


def text(value: str, mark: str = "", reason: str = "") -> list:
    """A text value (a state, a name); marked when `mark` is given."""
    return [value, None, mark, reason] if mark else [value, None]
