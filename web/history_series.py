"""A series of something the site has: empty, not unknown, while nothing of it is stored yet.

A string added to the topology (or a gateway started a minute ago) has no row in the history's
catalog until its first scans are committed; the reader answers UnknownItem for it. For the
API and the plots that is "no data in this range", as for any other range without data: a
plot of a UPS with one new string draws the others. An id or quantity the site does not have
stays a 404.
"""

from __future__ import annotations

from battery.site import Topology
from storage.history.reader import HistoryReader, Point, UnknownItem
from storage.history.schema import CELL_QUANTITIES, STRING_QUANTITIES, UPS_QUANTITIES

QUANTITIES = {"ups": UPS_QUANTITIES, "string": STRING_QUANTITIES, "cell": CELL_QUANTITIES}


def configured(topology: Topology, level: str, ident: str) -> bool:
    """Does the topology have this UPS, string or cell ("STRING_ID/CELL_NO")?"""
    if level == "ups":
        return any(u.id == ident for u in topology.upses)
    string_id, _, cell = ident.rpartition("/") if level == "cell" else (ident, "", "")
    for s in topology.strings:
        if s.id == string_id:
            return level == "string" or (cell.isdigit() and 1 <= int(cell) <= s.battery.count)
    return False


async def site_series(
    reader: HistoryReader,
    topology: Topology,
    level: str,
    ident: str,
    quantity: str,
    start: float,
    end: float,
    points: int,
) -> list[Point]:
    try:
        return await reader.series(level, ident, quantity, start, end, points)
    except UnknownItem:
        if quantity in QUANTITIES.get(level, {}) and configured(topology, level, ident):
            return []
        raise
