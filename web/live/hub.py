"""The live side of the web server: what changed (ChangeBoard) and each level's present model.

`apply` is told of every message the web server applies and marks the levels it changes. A
level's model is built once per version and shared by every page and stream that asks for it
(twenty browsers on one string cost one build and one serialisation per scan). A model is
rebuilt without a new version once it is older than REBUILD_AFTER_S, so that data going stale
by age (no new scan at all) shows as stale although nothing was applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from battery.alarms.records import AlarmNotice
from battery.status import StringStatus, UpsStatus
from web.live.changes import KIOSK, SITE, ChangeBoard, string_key, ups_key
from web.live.kiosk_model import kiosk_model
from web.live.tables import site_model, string_model, ups_model
from web.live_alarms import AnnouncedAlarms
from web.site_view import SiteView
from web.ui.local_time import local_text
from web.ui.site_settings import SiteSettingsBook

REBUILD_AFTER_S = 1.0
ZONE_READ_EVERY_S = 5.0  # the site's time zone, changed in settings.db by another process


@dataclass(frozen=True)
class Snapshot:
    """One version of a level: its model and the model as the stream sends it."""

    version: int
    changed_at: float  # UNIX time the version was published
    built_at: float  # monotonic
    model: dict[str, Any]
    body: str  # the model as JSON


class LiveHub:
    def __init__(
        self,
        view: SiteView,
        settings: SiteSettingsBook,
        alarms: AnnouncedAlarms | None = None,
        board: ChangeBoard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.view = view
        self.settings = settings
        self.alarms = alarms
        self.board = board or ChangeBoard()
        self.monotonic = monotonic
        self._cache: dict[str, Snapshot] = {}
        self._ups_of = {s.id: s.ups_id for s in view.topology.strings}
        self._zone: tuple[float, ZoneInfo] | None = None

    def apply(self, message: UpsStatus | StringStatus | AlarmNotice) -> None:
        """Mark what `message` changes (call after the view has applied it)."""
        if isinstance(message, StringStatus):
            ups = self._ups_of.get(message.string_id)
            keys = [SITE, KIOSK, string_key(message.string_id)] + ([ups_key(ups)] if ups else [])
            self.board.mark(keys)
        elif isinstance(message, UpsStatus):
            self.board.mark((SITE, ups_key(message.ups_id)))
        elif isinstance(message, AlarmNotice):
            self.board.mark((KIOSK,))

    def snapshot(self, key: str) -> Snapshot:
        """The level's present model: the cached one if still of the current version and young."""
        version = self.board.version(key)
        cached = self._cache.get(key)
        now = self.monotonic()
        if cached is not None and cached.version == version and now - cached.built_at < REBUILD_AFTER_S:
            return cached
        model = self.build(key)
        body = json.dumps(model, ensure_ascii=False, separators=(",", ":"))
        if cached is not None and cached.version == version and cached.body == body:
            snapshot = Snapshot(version, cached.changed_at, now, cached.model, cached.body)
        else:
            snapshot = Snapshot(version, self.board.changed_at(key), now, model, body)
        self._cache[key] = snapshot
        return snapshot

    def build(self, key: str) -> dict[str, Any]:
        """KeyError for a level the topology does not have."""
        local = self._local_time()
        kind, _, ident = key.partition(":")
        if kind == SITE:
            return site_model(self.view, self.view.topology, local)
        if kind == KIOSK:
            return kiosk_model(self.view, self.alarms, local)
        if kind == "ups":
            return ups_model(self.view, ident, local)
        if kind == "string":
            return string_model(self.view, ident, local)
        raise KeyError(key)

    def _local_time(self) -> Callable[[str | None], str]:
        now = self.monotonic()
        if self._zone is None or now - self._zone[0] > ZONE_READ_EVERY_S:
            self._zone = (now, self.settings.read().zone())
        zone = self._zone[1]

        def local(iso_time: str | None) -> str:
            return local_text(datetime.fromisoformat(iso_time).timestamp(), zone) if iso_time else ""

        return local

    def close(self) -> None:
        self.board.close()
