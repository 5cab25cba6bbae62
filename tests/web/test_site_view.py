"""The web view's JSON: implausible cell readings are null, old data is stale (same rules as SCADA)."""

from __future__ import annotations

import dataclasses

from actors.messages.up import UpsUpdate
from battery.codes import CellFault
from battery.site import BusConfig, Topology
from tests.factories import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)
from web.site_view import SiteView

T0 = 1_700_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def slow_bus_site() -> Topology:
    """One UPS, one string, on a bus scanned every 5 s: stale after 15 s."""
    t = sample_topology(upses=1, strings_per_ups=1, cells=3)
    return dataclasses.replace(t, buses=(BusConfig(id="bus1", port="sim://bus1", scan_period_s=5.0),))


def view_with(t: Topology, clock: Clock, **cell_changes: object) -> SiteView:
    view = SiteView(t, wall_clock=clock, monotonic_clock=clock)  # one clock: no step
    s = sample_string_status(t, "s1", timestamp=T0)
    s = dataclasses.replace(s, **cell_changes)  # type: ignore[arg-type]
    ups = dataclasses.replace(sample_ups_status(t, "ups1"), timestamp=T0)
    view.apply(UpsUpdate(ups=ups, strings=(s,)))
    return view


def test_a_300_degree_cell_reads_null_and_its_other_values_stay() -> None:
    t = slow_bus_site()
    view = view_with(
        t,
        Clock(T0 + 1),
        cell_faults=(int(CellFault.TEMPERATURE_IMPLAUSIBLE), int(CellFault.OPEN_CIRCUIT), 0),
        cell_temperature_dc=(3000, 250, 260),
    )
    cells = view.cells_json("s1")["cells"]
    assert cells[0]["temperature_c"] is None and cells[0]["voltage_v"] is not None
    assert cells[0]["faults"] == ["temperature_implausible"] and cells[0]["stale"] is False
    assert cells[1]["resistance_mohm"] is None and cells[1]["temperature_c"] == 25.0
    assert cells[2]["temperature_c"] == 26.0


def test_data_older_than_the_bus_threshold_is_stale() -> None:
    t = slow_bus_site()
    clock = Clock(T0 + 14.9)  # 3 × 5 s scan period = 15 s
    view = view_with(t, clock)
    assert view.string_json("s1")["stale"] is False and view.string_json("s1")["voltage_v"] is not None
    assert view.ups_json("ups1")["stale"] is False
    assert view.cells_json("s1")["cells"][0]["voltage_v"] is not None

    clock.now = T0 + 15.1
    string = view.string_json("s1")
    assert string["stale"] is True and string["health"] == "stale" and string["voltage_v"] is None
    assert string["timestamp"] is not None  # the time of the last scan stays visible
    ups = view.ups_json("ups1")
    assert ups["stale"] is True and ups["voltage_v"] is None and ups["strings"][0]["stale"] is True
    cells = view.cells_json("s1")
    assert cells["stale"] is True and all(c["voltage_v"] is None and c["stale"] for c in cells["cells"])
    assert view.site_json()["strings"][0]["stale"] is True


def test_fast_bus_uses_the_ten_second_floor() -> None:
    t = sample_topology(upses=1, strings_per_ups=1, cells=2)  # 1 s scan period
    clock = Clock(T0 + 9.5)
    view = view_with(t, clock)
    assert view.string_json("s1")["stale"] is False
    clock.now = T0 + 10.5
    assert view.string_json("s1")["stale"] is True


def test_a_disconnected_hall_sensor_serves_no_current(tmp_path):
    import dataclasses
    import time

    from actors.messages.up import UpsUpdate
    from tests.factories import sample_string_status, sample_topology, sample_ups_status
    from web.site_view import SiteView

    topology = sample_topology(upses=1, strings_per_ups=1, cells=2)
    status = dataclasses.replace(sample_string_status(topology, "s1"), hall_ok=False, timestamp=time.time())
    view = SiteView(topology)
    view.apply(UpsUpdate(sample_ups_status(topology, status.ups_id), (status,)))
    body = view.string_json("s1")
    assert body["hall_sensor_ok"] is False and body["current_a"] is None and body["voltage_v"] is not None


def test_the_analytics_are_served_with_the_string_the_ups_and_each_cell() -> None:
    from battery.analytics import WeakestCells

    t = slow_bus_site()
    weakest = WeakestCells(by_resistance_rise=((2, 0.314),), by_temperature=((3, 4.25),))
    view = view_with(
        t,
        Clock(T0 + 1),
        runtime_min=41.6,
        soh_method="capacity",
        soh_at=T0 - 3600,
        runaway=True,
        runaway_cells=(3,),
        weakest=weakest,
        cell_soh_method=("resistance", "capacity", "none"),
        cell_soh_at=(T0, T0 - 3600, None),
        cell_balancing=(False, True, False),
    )
    string = view.string_json("s1")
    assert string["runtime_min"] == 42 and string["soh_method"] == "capacity"
    assert string["soh_time"].startswith("2023-11-14T21:13:20") and string["discharging_since"] is not None
    assert string["thermal_runaway"] and string["runaway_cells"] == [3]
    assert string["weakest_cells"]["by_resistance_rise"] == [{"cell": 2, "rise_pct": 31.4}]
    assert string["insulation_resistance_kohm"] == 501  # the factory's BM-GS reading of string 1
    cells = view.cells_json("s1")["cells"]
    assert [(c["soh_method"], c["balancing"]) for c in cells] == [
        ("resistance", False),
        ("capacity", True),
        ("none", False),
    ]
    ups = view.ups_json("ups1", with_strings=False)
    assert ups["runtime_min"] is not None and ups["on_battery_since"] is not None
    stale = view_with(t, Clock(T0 + 60)).string_json("s1")  # too old: every analytics value null
    assert stale["runtime_min"] is None and stale["soh_method"] is None and stale["weakest_cells"] is None
