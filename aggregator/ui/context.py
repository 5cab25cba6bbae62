"""What the aggregator's pages need, in one object: the gateway's users, sessions and log-in
throttle (web/users, web/session) kept in the aggregator's own storage (settings.db), its site
of gateways and its reader of PostgreSQL. It has the attributes web/pages/login.py and
web/ui/render.py read from a gateway's UiContext, so both serve the aggregator unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from aggregator.site_view import AggregatedSite
from aggregator.store import RecordStore
from web.session.login_throttle import LoginThrottle
from web.session.store import SessionStore
from web.ui.site_settings import SiteSettings, SiteSettingsBook
from web.users.book import UserBook

DEFAULT_NAME = "BTMS aggregator"


class AggregatorSettings(SiteSettingsBook):
    """The site settings of settings.db (time zone, project name), named as an aggregator's by default."""

    def read(self) -> SiteSettings:
        found = super().read()
        return found if found.project_name else replace(found, project_name=DEFAULT_NAME)


@dataclass
class AggregatorUi:
    site: AggregatedSite
    reader: RecordStore | None
    storage_dir: Path
    users: UserBook
    sessions: SessionStore
    site_settings: SiteSettingsBook
    tls: bool = False
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @classmethod
    def open(
        cls, site: AggregatedSite, reader: RecordStore | None, storage: Path, idle_min: int, tls: bool = False
    ) -> AggregatorUi:
        return cls(
            site=site,
            reader=reader,
            storage_dir=storage,
            users=UserBook(storage),
            sessions=SessionStore(storage, idle_s=idle_min * 60.0),
            site_settings=AggregatorSettings(storage),
            tls=tls,
        )
