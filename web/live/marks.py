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

from battery.alarms.limits import Direction, Limit
from battery.quantities import Quantity

STALE, FAULT, IMPLAUSIBLE, ALARM = "stale", "fault", "implausible", "alarm"

NO_DATA = "–"  # what a stale value shows: nothing that could be read as a reading


def number_text(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


_DECIMALS: dict[str, int] = {}  # Quantity.decimals is computed from a Decimal on each call


def decimals(q: Quantity) -> int:
    found = _DECIMALS.get(q.key)
    if found is None:
        found = _DECIMALS[q.key] = q.decimals
    return found


def good(value: float | None, q: Quantity, limits: tuple[tuple[Limit, float], ...] = ()) -> list:
    """A measured value, marked when it is at or beyond one of `limits` ((limit, threshold in unit))."""
    if value is None:
        return stale("No present value")
    places = decimals(q)
    text = number_text(value, places)
    for limit, threshold in limits:
        beyond = value >= threshold if limit.direction is Direction.HIGH else value <= threshold
        if beyond:
            side = "high" if limit.direction is Direction.HIGH else "low"
            return [
                text,
                value,
                ALARM,
                f"At or beyond the {side} alarm limit {number_text(threshold, places)} {q.unit}",
            ]
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
