"""The alarm table's times are shown in the site's time zone, with their offset."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from storage.alarm_store import format_time

WINTER = 1_796_256_000.0  # 2026-12-03 00:00:00 UTC
SUMMER = 1_782_864_000.0  # 2026-07-01 00:00:00 UTC


def test_times_carry_the_site_zone_and_its_daylight_saving_offset():
    zone = ZoneInfo("Europe/Ljubljana")
    assert format_time(WINTER, zone) == "2026-12-03T01:00:00+01:00"
    assert format_time(SUMMER, zone) == "2026-07-01T02:00:00+02:00"
    assert format_time(WINTER, ZoneInfo("UTC")) == "2026-12-03T00:00:00+00:00"
    assert format_time(None, zone) == ""
