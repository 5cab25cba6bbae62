"""One tab at every level: registers /site/<tab>, /ups/<id>/<tab> and /strings/<id>/<tab>.

The handler gets the Level (web/ui/frame.py) the URL names; an unknown UPS or string id is a
404 page, not an exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Blueprint, abort

from battery.site import Topology
from web.ui.frame import Level, level_of

LevelHandler = Callable[[Level], Awaitable]


def level_pages(blueprint: Blueprint, topology: Topology, tab: str, handler: LevelHandler, **route_options) -> None:
    """Serve `handler` as the `tab` page of the site, of every UPS and of every string."""

    async def at_site():
        return await handler(level_of(topology, "site"))

    async def at_ups(ups_id: str):
        return await handler(_known(topology, "ups", ups_id))

    async def at_string(string_id: str):
        return await handler(_known(topology, "string", string_id))

    blueprint.add_url_rule(f"/site/{tab}", f"{tab}_site", at_site, **route_options)
    blueprint.add_url_rule(f"/ups/<ups_id>/{tab}", f"{tab}_ups", at_ups, **route_options)
    blueprint.add_url_rule(f"/strings/<string_id>/{tab}", f"{tab}_string", at_string, **route_options)


def _known(topology: Topology, kind: str, level_id: str) -> Level:
    try:
        return level_of(topology, kind, level_id)
    except KeyError:
        abort(404)
