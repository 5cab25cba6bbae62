"""What the gateway sends down when the runtime settings in settings.db change (read by polling)."""

from __future__ import annotations

import asyncio
import sqlite3

from actors.messages.down import SetAlarmLimits
from actors.site.runtime_settings import RuntimeSettings
from storage.limit_overrides import set_overrides
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path
from tests.factories import sample_topology


def test_a_change_goes_to_its_string_once_and_a_bad_stored_value_is_not_applied(tmp_path):
    topology = sample_topology()
    db = settings_path(tmp_path)
    set_overrides(db, topology.string("s2"), {"string_soc_low_pct": 40.0}, "ada")
    watch = RuntimeSettings(topology, db)
    changes, moved = watch.poll()  # at start: the UPSes get them in their Init, nothing to send
    assert not moved and [c.string_id for c in changes] == ["s2"]
    assert watch.ups_config(topology.ups("ups1")).strings[1].alarm_overrides == (("string_soc_low_pct", 40.0),)
    assert watch.poll() == ([], False)  # nothing changed since

    set_overrides(db, topology.string("s3"), {"cell_temperature_high_c": 40.0}, "ada")
    assert watch.poll() == ([SetAlarmLimits("s3", (("cell_temperature_high_c", 40.0),))], True)

    async def switch() -> None:  # a notification switch moves the version too: the notifier re-reads
        store = await NotificationStore.open(db)
        await store.set_switch("s1", "cell_voltage_high", False, True)
        await store.close()

    asyncio.run(switch())
    assert watch.poll() == ([], True)

    with sqlite3.connect(db) as raw:  # written behind the rules' back (or topology.yaml changed since)
        raw.execute("UPDATE alarm_limit_overrides SET value = 500 WHERE string_id = 's3'")
        raw.execute("UPDATE settings_version SET version = version + 1")
    assert watch.poll() == ([SetAlarmLimits("s3", ())], True)  # topology.yaml's limits, not 500 °C
