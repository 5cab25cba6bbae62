"""Runtime alarm-limit overrides in settings.db: checked by the topology's rules before anything is
written, merged over topology.yaml's, and every change moves the settings version the gateway polls."""

from __future__ import annotations

from dataclasses import replace

import pytest

from battery.alarms.runtime_limits import effective_values, limit_rows, with_runtime_overrides
from storage.limit_overrides import read_overrides, replace_overrides, reset_overrides, set_overrides
from storage.settings_db import settings_path
from tests.factories import sample_topology


@pytest.fixture
def string():
    s = sample_topology().string("s1")  # 4 x 12 V
    return replace(s, alarm_overrides=(("cell_voltage_high_v", 14.2),))


def test_set_reset_and_the_version(tmp_path, string):
    db = settings_path(tmp_path)
    assert read_overrides(db) == (0, {})  # no file yet: nothing, and nothing created
    assert not db.exists()
    set_overrides(db, string, {"string_voltage_high_v": 50.0}, "ada")
    set_overrides(db, string, {"cell_temperature_high_c": 40.0}, "ada")
    version, stored = read_overrides(db)
    assert version == 2 and stored == {"s1": {"string_voltage_high_v": 50.0, "cell_temperature_high_c": 40.0}}
    effective = effective_values(with_runtime_overrides(string, stored["s1"].items()))
    assert effective["cell_voltage_high_v"] == 14.2  # topology.yaml's stays under the runtime ones
    assert effective["string_voltage_high_v"] == 50.0 and effective["cell_temperature_high_c"] == 40.0
    rows = {r.name: r for r in limit_rows(string, stored["s1"])}
    assert (rows["cell_voltage_high_v"].source, rows["string_voltage_high_v"].source) == ("topology.yaml", "runtime")
    assert rows["cell_soc_low_pct"].source == "default"
    assert reset_overrides(db, string, ["string_voltage_high_v"]) == {"cell_temperature_high_c": 40.0}
    assert replace_overrides(db, string, {}, "ada") == {}
    assert read_overrides(db) == (4, {})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cell_soc_low_pct": 120.0}, "string s1: cell_soc_low_pct = 120.0 % is outside 0.0..100.0 %"),
        ({"volts": 1.0}, "string s1: unknown alarm limit 'volts'"),
        ({"cell_voltage_low_v": 14.5}, "cell_voltage_low_v (14.5) must be below cell_voltage_high_v (14.2)"),
        ({"string_voltage_low_v": 60.0}, "string voltage low limit 60.0 V must be below the high limit 58.8 V"),
        ({"alarm_on_delay_s": float("nan")}, "alarm_on_delay_s must be a number"),
    ],
)
def test_a_value_the_topology_would_refuse_is_refused_and_nothing_is_written(tmp_path, string, values, message):
    db = settings_path(tmp_path)
    set_overrides(db, string, {"string_soc_low_pct": 40.0}, "ada")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        set_overrides(db, string, values, "ada")
    assert read_overrides(db) == (1, {"s1": {"string_soc_low_pct": 40.0}})
