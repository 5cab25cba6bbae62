"""SNMP agent pieces without a network: value functions, the OID store, the generated MIB."""

from __future__ import annotations

from pysnmp.proto import rfc1905

from battery.codes import CellFault, Health
from protocols.scada import snmp_oids as so
from protocols.scada.snmp_rows import string_row, ups_battery_group, ups_row
from protocols.scada.snmp_store import OidStore
from tests.factories import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)
from tests.support import REPO


def test_string_row_scales_and_stale_rows_have_no_values() -> None:
    t = sample_topology()
    s = sample_string_status(t, "s1")
    row = string_row(s, stale=False)
    assert row["btmsStringVoltage"] == round(s.voltage_v * 100) and row["btmsStringCurrent"] < 0
    assert row["btmsStringAmbientTemperature"] == round(s.ambient_c * 10) and row["btmsStringRelayClosed"] == 1
    stale = string_row(s, stale=True)
    assert stale["btmsStringStatus"] == Health.STALE
    assert all(v is None for k, v in stale.items() if k != "btmsStringStatus")
    assert ups_row(None, stale=True)["btmsUpsVoltage"] is None


def test_ups_battery_group() -> None:
    t = sample_topology(cells=3)
    ups = sample_ups_status(t, "ups1")  # -101.5 A: discharging
    strings = [sample_string_status(t, "s1"), sample_string_status(t, "s2")]
    g = ups_battery_group(ups, False, strings, on_battery_since=1000.0, now=1060.0)
    assert g["upsBatteryStatus"] == 2 and g["upsSecondsOnBattery"] == 60
    assert g["upsEstimatedMinutesRemaining"] == round(ups.runtime_min)  # Peukert's, not SOC × C / I
    assert g["upsBatteryVoltage"] == round(ups.voltage_v * 10) and g["upsBatteryCurrent"] == round(ups.current_a * 10)
    assert g["upsBatteryTemperature"] == round(max(max(s.cell_temperature_dc) for s in strings) / 10)
    unknown = ups_battery_group(ups, True, strings, None, 0.0)
    assert unknown["upsBatteryStatus"] == 1 and unknown["upsBatteryVoltage"] is None


def test_oid_store_next_skips_absent_values_and_get_distinguishes_instance_from_object() -> None:
    col = so.column("btmsCellVoltage").oid
    store = OidStore((so.ENTERPRISE,))
    store.define(col + (1, 1), "Integer32", 2150)
    store.define(col + (1, 2), "Integer32", None)
    store.define(col + (1, 3), "Integer32", 2170)
    nxt = store.next_after(col + (1, 1))
    assert nxt is not None and nxt[0] == col + (1, 3) and int(nxt[1]) == 2170
    assert store.next_after(col + (1, 3)) is None
    assert store.syntax(col + (1, 2)) is rfc1905.noSuchInstance
    assert store.syntax(so.ENTERPRISE + (9, 9)) is rfc1905.noSuchObject
    store.remove(col + (1, 3))
    assert store.next_after(col + (1, 1)) is None


def test_oids_are_unique_and_under_the_enterprise() -> None:
    oids = [c.oid for c in so.ALL_COLUMNS]
    assert len(set(oids)) == len(oids)
    assert all(o[: len(so.ENTERPRISE)] == so.ENTERPRISE for o in oids)
    assert all(c.units.isascii() and c.description.isascii() for c in so.ALL_COLUMNS)


def test_shipped_mib_is_generated_from_the_oid_table() -> None:
    shipped = (REPO / "docs" / "mibs" / "BTMS-GATEWAY-MIB.txt").read_text(encoding="ascii")
    assert shipped == so.mib_text(), (
        "stale MIB: run `python -m protocols.scada.snmp_oids > docs/mibs/BTMS-GATEWAY-MIB.txt`"
    )


def test_ups_battery_temperature_ignores_implausible_and_unanswered_cells() -> None:
    t = sample_topology(cells=3)
    ups = sample_ups_status(t, "ups1")
    s1 = sample_string_status(t, "s1")
    s1 = type(s1)(
        **{
            **s1.__dict__,
            "cell_faults": (int(CellFault.TEMPERATURE_IMPLAUSIBLE), 0, 0),
            "cell_temperature_dc": (3000, 251, 240),
        }
    )  # a 300.0 °C sensor fault
    s2 = sample_string_status(t, "s2")
    s2 = type(s2)(
        **{**s2.__dict__, "cell_faults": (0, int(CellFault.NO_RESPONSE), 0), "cell_temperature_dc": (230, 2800, 262)}
    )
    g = ups_battery_group(ups, False, [s1, s2], None, 0.0)
    assert g["upsBatteryTemperature"] == 26  # 26.2 °C, the hottest measured cell
    only_faults = type(s1)(**{**s1.__dict__, "cell_faults": (int(CellFault.TEMPERATURE_IMPLAUSIBLE),) * 3})
    assert ups_battery_group(ups, False, [only_faults], None, 0.0)["upsBatteryTemperature"] is None


def test_unknown_ups_current_and_a_hall_less_string_serve_no_current():
    import dataclasses

    from protocols.scada.snmp_rows import string_row, ups_battery_group, ups_row
    from tests.factories import sample_string_status, sample_topology, sample_ups_status

    topology = sample_topology(upses=1, strings_per_ups=1, cells=2)
    string = dataclasses.replace(sample_string_status(topology, "s1"), hall_ok=False)
    ups = dataclasses.replace(sample_ups_status(topology, string.ups_id), current_a=None, runtime_min=None)
    assert string_row(string, stale=False)["btmsStringCurrent"] is None
    assert ups_row(ups, stale=False)["btmsUpsCurrent"] is None
    group = ups_battery_group(ups, False, [string], None, 0.0)
    assert group["upsBatteryCurrent"] is None and group["upsEstimatedMinutesRemaining"] is None
