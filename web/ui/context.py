"""Everything the pages need from the gateway, handed to each page's blueprint in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from battery.site import Topology
from web.session.login_throttle import LoginThrottle
from web.session.store import SessionStore
from web.site_view import SiteView
from web.ui.site_settings import SiteSettingsBook
from web.users.book import UserBook

if TYPE_CHECKING:
    from storage.history.reader import HistoryReader
    from web.live.hub import LiveHub
    from web.routes_alarms import AlarmAccess
    from web.tree_bridge import TreeBridge


@dataclass
class UiContext:
    topology: Topology
    view: SiteView
    storage_dir: Path
    users: UserBook
    sessions: SessionStore
    site_settings: SiteSettingsBook
    tls: bool = False
    history: HistoryReader | None = None
    alarms: AlarmAccess | None = None
    bridge: TreeBridge | None = None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    live: LiveHub | None = None  # create_app makes one when not given
