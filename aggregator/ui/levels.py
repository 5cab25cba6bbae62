"""The aggregator's tree: site -> gateway -> string, with the gateway's frame (web/ui/frame.py).

A gateway and a string are named by what the gateways sent over MQTT, so every id is quoted
into its URL (a name with '?', '#' or '%' still leads to its own page) and escaped when shown.
"""

from __future__ import annotations

from urllib.parse import quote

from quart import abort

from aggregator.site_view import AggregatedSite
from protocols.uplink.naming import STRING_SEPARATOR
from web.ui.frame import Level, TreeNode

SITE = Level("site", "", "All gateways", "/site")


def _part(text: str) -> str:
    return quote(text, safe="")


def gateway_level(edge_node: str) -> Level:
    return Level("gateway", edge_node, edge_node, f"/gateways/{_part(edge_node)}", SITE)


def string_level(edge_node: str, ups_id: str, string_id: str) -> Level:
    return Level(
        "string",
        f"{ups_id}{STRING_SEPARATOR}{string_id}",
        f"{ups_id} / {string_id}",
        f"/gateways/{_part(edge_node)}/strings/{_part(ups_id)}/{_part(string_id)}",
        gateway_level(edge_node),
    )


def known_gateway(site: AggregatedSite, edge_node: str) -> None:
    """A page of a gateway that never spoke to this aggregator is 404."""
    if edge_node not in site.gateways:
        abort(404)


def strings_of(site: AggregatedSite, edge_node: str) -> list[tuple[str, str]]:
    """(UPS id, string id) of every string the gateway has sent, in order."""
    view = site.gateways.get(edge_node)
    if view is None:
        return []
    found = []
    for device in sorted(view.devices):
        ups_id, sep, string_id = device.partition(STRING_SEPARATOR)
        if sep:
            found.append((ups_id, string_id))
    return found


def tree(site: AggregatedSite) -> TreeNode:
    return TreeNode(
        SITE,
        tuple(
            TreeNode(gateway_level(g), tuple(TreeNode(string_level(g, u, s)) for u, s in strings_of(site, g)))
            for g in sorted(site.gateways)
        ),
    )
