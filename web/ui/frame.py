"""The manual's frame: the data-center tree on the left, the same five tabs at every level.

A level is the data center, one UPS or one string; its pages live under its URL prefix
(/site, /ups/<id>, /strings/<id>) followed by the tab's name, so every page can be bookmarked.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.site import Topology

TABS = (
    ("realtime", "Real-time"),
    ("history", "History"),
    ("discharge", "Discharge"),
    ("alarm", "Alarm"),
    ("settings", "Settings"),
)
TAB_NAMES = tuple(name for name, _ in TABS)


@dataclass(frozen=True)
class Level:
    kind: str  # "site", "ups" or "string"
    id: str  # "" for the site
    title: str
    prefix: str  # the URL every tab of this level starts with
    parent: Level | None = None

    def url(self, tab: str) -> str:
        return f"{self.prefix}/{tab}"


@dataclass(frozen=True)
class TreeNode:
    level: Level
    children: tuple[TreeNode, ...] = ()


def site_level(topology: Topology) -> Level:
    return Level("site", "", topology.gateway.name or "Data center", "/site")


def ups_level(topology: Topology, ups_id: str) -> Level:
    ups = topology.ups(ups_id)  # KeyError for an unknown id
    return Level("ups", ups.id, ups.name or ups.id, f"/ups/{ups.id}", site_level(topology))


def string_level(topology: Topology, string_id: str) -> Level:
    string = topology.string(string_id)
    ups = next(u for u in topology.upses if string in u.strings)
    return Level("string", string.id, f"String {string.id}", f"/strings/{string.id}", ups_level(topology, ups.id))


def level_of(topology: Topology, kind: str, level_id: str = "") -> Level:
    """The level named in a URL, or KeyError."""
    if kind == "site":
        return site_level(topology)
    if kind == "ups":
        return ups_level(topology, level_id)
    if kind == "string":
        return string_level(topology, level_id)
    raise KeyError(kind)


def tree(topology: Topology) -> TreeNode:
    return TreeNode(
        site_level(topology),
        tuple(
            TreeNode(ups_level(topology, u.id), tuple(TreeNode(string_level(topology, s.id)) for s in u.strings))
            for u in topology.upses
        ),
    )


def breadcrumb(level: Level) -> list[Level]:
    chain = []
    at: Level | None = level
    while at is not None:
        chain.append(at)
        at = at.parent
    return chain[::-1]
