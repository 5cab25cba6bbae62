"""A page in the aggregator's frame: the gateway's frame.html over the tree of gateways and strings."""

from __future__ import annotations

from aggregator.ui.context import AggregatorUi
from aggregator.ui.levels import tree
from web.ui.frame import TABS, Level
from web.ui.render import render_in_frame


async def in_frame(ui: AggregatorUi, template: str, level: Level, tab: str, **context) -> str:
    """`template` (one of the gateway's or aggregator/ui/templates) at `level`, under `tab` ("" for none)."""
    return await render_in_frame(ui, template, tree(ui.site), level, tab, TABS, **context)
