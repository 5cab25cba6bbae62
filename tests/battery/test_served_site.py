"""ServedSite: the one state the Modbus server, the SNMP agent and the web view serve (pure, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.served_site import LastFresh, LinkState, ServedSite, UplinkLink
from battery.site import ServicesConfig, Topology, UplinkConfig
from tests.factories import sample_string_status, sample_topology, sample_ups_status

T0 = 1_700_000_000.0  # UNIX seconds of the sample scans


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def site() -> Topology:
    """ups1 (s1, s2), ups2 (s3, s4), 4 cells each, every bus scanned each second: stale after 10 s."""
    return sample_topology(upses=2, strings_per_ups=2, cells=4)


def served(clock: Clock, **options: object) -> tuple[Topology, ServedSite]:
    t = site()
    return t, ServedSite(t, clock, **options)  # type: ignore[arg-type]


def notice(alarm_id: int, event: str = "raised", **changes: object) -> AlarmNotice:
    base = AlarmNotice(
        event=event,
        alarm_id=alarm_id,
        kind="cell_temperature_high",
        title="Temperature high",
        ups_id="ups1",
        string_id="s1",
        cell_index=2,
        value=61.0,
        limit=55.0,
        from_time=T0,
        to_time=None,
        acknowledged_by=None,
        acknowledged_at=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_nothing_received_is_stale_and_a_status_of_an_unknown_device_is_refused() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    assert s.string("s1") is None and s.is_string_stale("s1") and s.is_ups_stale("ups1")
    foreign = dataclasses.replace(sample_string_status(t, "s1"), string_id="s9")
    assert s.apply_string(foreign) is False
    assert s.apply_ups(dataclasses.replace(sample_ups_status(t, "ups1"), ups_id="ups9")) is False
    assert s.take_unrendered() == ()
    with pytest.raises(KeyError):
        s.string("s9")


def test_a_status_is_fresh_until_its_bus_threshold_after_arrival() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    status = sample_string_status(t, "s1", timestamp=T0)  # the scan's own time plays no part here
    assert s.apply_string(status) is True
    assert s.string("s1") is status
    assert not s.is_string_stale("s1", now=110.0) and s.is_string_stale("s1", now=110.5)
    assert s.string_stale_after_s("s1") == 10.0


def test_went_stale_reports_each_string_and_ups_once_and_takes_it_off_the_unrendered() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    s.apply_string(sample_string_status(t, "s1"))
    s.apply_ups(sample_ups_status(t, "ups1"))
    assert s.went_stale(105.0).strings == ()
    went = s.went_stale(111.0)
    assert went.strings == ("s1",) and went.upses == ("ups1",)
    assert s.went_stale(112.0).strings == () and s.went_stale(112.0).upses == ()
    assert s.take_unrendered() == ()  # rendered as stale by the tick already


def test_take_unrendered_names_each_changed_string_once() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    for string_id in ("s1", "s3", "s1"):
        s.apply_string(sample_string_status(t, string_id))
    assert sorted(s.take_unrendered()) == ["s1", "s3"]
    assert s.take_unrendered() == ()
    s.apply_string(sample_string_status(t, "s2", health=Health.STALE))
    assert s.take_unrendered() == ("s2",)  # a stale status is news to render too


def test_a_stale_status_is_stale_at_once_and_the_last_fresh_scan_stays() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    s.apply_string(sample_string_status(t, "s1", scan_no=7, timestamp=T0))
    s.apply_string(sample_string_status(t, "s1", scan_no=8, timestamp=T0 + 1, health=Health.STALE))
    assert s.is_string_stale("s1", now=100.0)
    assert s.string("s1").scan_no == 8  # type: ignore[union-attr]
    assert s.string_last_fresh("s1") == LastFresh(T0, 7)
    assert s.string_last_fresh("s2") is None
    assert s.went_stale(200.0).strings == ()  # stale since it arrived: no news for the tick
    s.apply_ups(dataclasses.replace(sample_ups_status(t, "ups1"), timestamp=T0 + 2))
    s.apply_ups(dataclasses.replace(sample_ups_status(t, "ups1", health=Health.STALE), timestamp=T0 + 3))
    assert s.is_ups_stale("ups1", now=100.0) and s.ups_last_fresh("ups1") == T0 + 2
    assert s.ups_last_fresh("ups2") is None


def test_with_a_wall_clock_a_status_arrives_as_old_as_its_scan() -> None:
    monotonic, wall = Clock(500.0), Clock(T0 + 9.9)
    t, s = served(monotonic, wall_clock=wall)
    s.apply_string(sample_string_status(t, "s1", timestamp=T0))
    s.apply_ups(dataclasses.replace(sample_ups_status(t, "ups1"), timestamp=T0))
    assert not s.is_string_stale("s1") and not s.is_ups_stale("ups1")
    monotonic.now += 0.2
    assert s.is_string_stale("s1") and s.is_ups_stale("ups1")
    s.apply_string(sample_string_status(t, "s2", timestamp=T0 - 60))  # arrives now, scanned a minute ago
    assert s.is_string_stale("s2")


@pytest.mark.parametrize("step_s", [3600.0, -3600.0])
def test_a_step_of_the_wall_clock_neither_ages_nor_refreshes_data(step_s: float) -> None:
    monotonic, wall = Clock(500.0), Clock(T0 + 1)
    t, s = served(monotonic, wall_clock=wall)
    s.apply_string(sample_string_status(t, "s1", timestamp=T0))
    wall.now += step_s  # NTP corrects the clock, or a virtual machine resumes
    assert not s.is_string_stale("s1")
    assert s.went_stale().strings == ()
    monotonic.now += 9.5  # 10.5 s after the scan: past the 10 s threshold, whatever the wall says
    assert s.is_string_stale("s1")
    s.apply_string(sample_string_status(t, "s1", scan_no=2, timestamp=wall.now - 1))  # scanned after the step
    assert not s.is_string_stale("s1")


def test_a_scan_stamped_ahead_of_the_wall_clock_is_new_not_younger() -> None:
    monotonic, wall = Clock(500.0), Clock(T0)
    t, s = served(monotonic, wall_clock=wall)
    s.apply_string(sample_string_status(t, "s1", timestamp=T0 + 3600))  # the wall clock stepped back since
    monotonic.now += 10.1
    assert s.is_string_stale("s1")


def test_one_threshold_for_all_replaces_the_bus_ones() -> None:
    t, s = served(Clock(0.0), stale_after_s=0.5)
    s.apply_string(sample_string_status(t, "s1"))
    assert s.string_stale_after_s("s1") == 0.5 and s.is_string_stale("s1", now=0.6)


def test_gateway_status_is_ok_only_while_every_string_is_fresh_and_healthy() -> None:
    clock = Clock(100.0)
    t, s = served(clock)
    gateway = s.gateway_status()
    assert gateway.health == Health.ERROR and gateway.stale_strings == 4  # nothing heard yet
    assert (gateway.string_count, gateway.ups_count, gateway.last_update) == (4, 2, 0.0)
    for string in t.strings:
        s.apply_string(sample_string_status(t, string.id, timestamp=T0 + string.index))
    gateway = s.gateway_status()
    assert gateway.health == Health.OK and gateway.stale_strings == 0 and gateway.last_update == T0 + 4
    s.apply_string(sample_string_status(t, "s2", health=Health.ERROR, timestamp=T0 + 10))
    assert s.gateway_status().health == Health.ERROR and s.gateway_status().stale_strings == 0
    s.apply_string(sample_string_status(t, "s2", timestamp=T0 + 11))
    assert s.gateway_status().health == Health.OK
    assert s.gateway_status(now=111.0).stale_strings == 4  # every string went quiet
    s.apply_string(sample_string_status(t, "s3", health=Health.STALE, timestamp=T0 + 20))
    assert s.gateway_status().last_update == T0 + 11  # a stale status is not an update


def test_active_alarms_by_string_and_cell() -> None:
    t, s = served(Clock(100.0))
    assert s.apply_alarm(notice(1)) is True
    assert s.apply_alarm(notice(2, kind="string_soc_low", cell_index=None)) is True
    assert s.apply_alarm(notice(3, cell_index=9)) is True  # s1 has 4 cells: no cell's alarm
    assert s.apply_alarm(notice(4, string_id="s3", ups_id="ups2", cell_index=1)) is True
    alarms = s.string_alarms("s1")
    assert alarms.string_kinds == {"string_soc_low"}
    assert alarms.cell_kinds == (frozenset(), frozenset({"cell_temperature_high"}), frozenset(), frozenset())
    assert alarms.any_cell_alarm and not s.string_alarms("s2").any_cell_alarm
    assert s.string_alarms("s3").cell_kinds[0] == {"cell_temperature_high"}
    gateway = s.gateway_status()
    assert (gateway.active_alarms, gateway.unacknowledged_alarms) == (4, 4)

    assert s.apply_alarm(notice(1, "acknowledged", acknowledged_by="op", acknowledged_at=T0 + 5)) is True
    assert s.gateway_status().unacknowledged_alarms == 3
    assert s.apply_alarm(notice(1, "cleared", to_time=T0 + 9)) is True
    assert not s.string_alarms("s1").any_cell_alarm and s.gateway_status().active_alarms == 3
    assert s.apply_alarm(notice(1, "cleared", to_time=T0 + 9)) is False  # nothing left to remove


def test_a_notice_with_an_unknown_event_changes_nothing() -> None:
    t, s = served(Clock(100.0))
    with pytest.raises(ValueError, match="unknown AlarmNotice event 'exploded'"):
        s.apply_alarm(notice(1, "exploded"))
    assert len(s.alarms) == 0 and not s.string_alarms("s1").any_cell_alarm


def test_the_uplink_state_is_served_only_where_one_is_configured():
    without = ServedSite(sample_topology(), clock=lambda: 0.0)
    link = UplinkLink(LinkState.CONNECTED, 3, 0, "mqtts://broker:8883")
    assert not without.apply_uplink(link)
    assert without.gateway_status().uplink.state is LinkState.NOT_CONFIGURED
    uplink = UplinkConfig(broker="broker:8883", group_id="site1")
    topology = dataclasses.replace(sample_topology(), services=ServicesConfig(uplink=uplink))
    served = ServedSite(topology, clock=lambda: 0.0)
    assert served.gateway_status().uplink.state is LinkState.DOWN  # until the uplink reports
    assert served.apply_uplink(link)
    assert served.gateway_status().uplink == link
