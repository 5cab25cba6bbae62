"""The Ups -> StringMaster -> CellSensor tree, driven by real StringScan messages, on both bases.

The test plays the FieldBus and the gateway with a Recorder actor: it receives the string
masters' AttachString and the UPS's UpsUpdate messages.
"""

from __future__ import annotations

import itertools

import pytest

from actors.messages.down import AttachString, InitUps
from actors.messages.service import CellRestarts, CrashForTest, GetCellRestarts
from actors.messages.up import UpsUpdate
from actors.ups.ups import Ups
from battery.codes import CellFault, ChargeState, Health
from battery.readings import StringScan
from tests.recorder import GetRecorded, Recorder
from tests.support import small_topology, wait_for

CELLS = 4
_scan_numbers = itertools.count(1)


def scan(string_id: str, **changes) -> StringScan:
    values = dict(
        string_id=string_id,
        scan_no=next(_scan_numbers),
        timestamp=1_700_000_000.0 + next(_scan_numbers),
        responded=True,
        voltage_cv=5440,  # 4 × 13.6 V
        current_ca=20,  # 0.2 A float current
        hall_ok=True,
        ambient_dc=235,
        humidity_dpct=451,
        relay_closed=True,
        cell_voltage_mv=(13600, 13590, 13610, 13600),
        cell_resistance_uohm=(4000, 4100, 3900, 4000),
        cell_temperature_dc=(250, 251, 249, 250),
        cell_responded=(True,) * CELLS,
    )
    values.update(changes)
    return StringScan(**values)


@pytest.fixture
def tree(actor_system, tmp_path):
    topology = small_topology(tmp_path, upses=1, strings_per_ups=1, cells=CELLS)
    recorder = actor_system.createActor(Recorder)
    ups = actor_system.createActor(Ups)
    actor_system.tell(ups, InitUps(topology.upses[0], (("sim", recorder),), recorder, recorder))
    attach = wait_for(lambda: _first(actor_system, recorder, AttachString), what="the string master to attach")
    return actor_system, recorder, attach.master


def _recorded(asys, recorder) -> tuple:
    return asys.ask(recorder, GetRecorded(), 5).messages


def _first(asys, recorder, kind):
    return next((m for m in _recorded(asys, recorder) if isinstance(m, kind)), None)


def _string_status_of_scan(asys, recorder, scan_no: int):
    for message in _recorded(asys, recorder):
        if isinstance(message, UpsUpdate):
            for status in message.strings:
                if status.scan_no == scan_no:
                    return status
    return None


def send_scan_and_wait(tree, **changes):
    asys, recorder, master = tree
    s = scan("U1S1", **changes)
    asys.tell(master, s)
    return wait_for(lambda: _string_status_of_scan(asys, recorder, s.scan_no), what=f"the status of scan {s.scan_no}")


def send_high_voltage_scans(tree, t0: float, scans: int) -> None:
    """Battery 2 above the 14.7 V limit of a 12 V battery, one scan every 11 s (past the on-delay)."""
    for k in range(scans):
        send_scan_and_wait(tree, cell_voltage_mv=(13600, 15000, 13610, 13600), timestamp=t0 + 11 * k)


def test_healthy_scan_gives_string_values(tree):
    status = send_scan_and_wait(tree)
    assert status.health == Health.OK
    assert status.voltage_v == pytest.approx(54.40)
    assert status.current_a == pytest.approx(0.20)
    assert status.state == ChargeState.FLOAT
    assert status.ambient_c == pytest.approx(23.5)
    assert status.humidity_pct == pytest.approx(45.1)
    assert status.cell_voltage_mv == (13600, 13590, 13610, 13600)
    assert 99.0 < status.balance_pct <= 100.0
    assert status.cell_health == (int(Health.OK),) * CELLS


def test_open_cell_is_flagged_and_puts_the_string_in_error(tree):
    status = send_scan_and_wait(tree, cell_voltage_mv=(13600, 2, 13610, 13600))
    assert status.cell_faults[1] & CellFault.OPEN_CIRCUIT
    assert status.cell_health[1] == Health.ERROR
    assert status.health == Health.ERROR


def test_implausible_temperature_is_a_sensor_fault_not_a_temperature(tree):
    status = send_scan_and_wait(tree, cell_temperature_dc=(250, 3000, 249, 250))
    assert status.cell_faults[1] & CellFault.TEMPERATURE_IMPLAUSIBLE
    assert not status.cell_faults[0]
    assert status.health == Health.ERROR


def test_silent_string_master_gives_a_stale_status(tree):
    status = send_scan_and_wait(tree, responded=False)
    assert status.health == Health.STALE
    assert status.stale
    assert set(status.cell_health) == {int(Health.STALE)}


def test_discharge_lowers_cell_soc(tree):
    send_scan_and_wait(tree)
    first = send_scan_and_wait(tree, current_ca=-20000, timestamp=1_800_000_000.0)
    later = send_scan_and_wait(tree, current_ca=-20000, timestamp=1_800_000_600.0)  # 10 min at 200 A
    assert first.state == ChargeState.DISCHARGE
    assert later.soc_pct < first.soc_pct - 20  # 33 Ah of 100 Ah


def test_crashing_cell_sensor_is_recreated_with_its_last_good_state(tree):
    asys, recorder, master = tree
    send_scan_and_wait(tree)
    before = asys.ask(master, GetCellRestarts(1, "U1S1"), 5)
    assert isinstance(before, CellRestarts)
    asys.tell(master, CrashForTest(cell_index=2, string_id="U1S1"))
    after = wait_for(
        lambda: (r := asys.ask(master, GetCellRestarts(2, "U1S1"), 5)) and r.counts[1] == 1 and r,
        what="cell 2 to be re-created",
    )
    assert after.counts == (0, 1, 0, 0)
    assert after.snapshots[1].reference_resistance_uohm == before.snapshots[1].reference_resistance_uohm == 4100
    status = send_scan_and_wait(tree)
    assert status.cell_health[1] == Health.OK


def _lost_alarms(asys, recorder, kind):
    return [
        m
        for m in _recorded(asys, recorder)
        if isinstance(m, kind) and m.kind == "communication_lost" and m.cell_index is None
    ]


def test_communication_lost_is_raised_at_the_miss_limit_th_silent_scan(actor_system, tmp_path):
    from actors.site.gateway import communication_lost_after_s
    from battery.alarms.records import AlarmRaised
    from protocols.fieldbus.outages import DeviceWatch

    topology = small_topology(tmp_path, upses=1, strings_per_ups=1, cells=CELLS, scan_period_s=0.5)
    bus = topology.buses[0]
    assert bus.miss_limit == 3
    recorder = actor_system.createActor(Recorder)
    ups = actor_system.createActor(Ups)
    actor_system.tell(
        ups,
        InitUps(
            topology.upses[0],
            (("sim", recorder),),
            recorder,
            recorder,
            communication_lost_after_s=(("sim", communication_lost_after_s(bus)),),
        ),
    )
    master = wait_for(lambda: _first(actor_system, recorder, AttachString), what="the master").master
    t0 = 1_900_000_000.0
    watch = DeviceWatch("sim", 1, "string U1S1 (BM-SS)", bus.miss_limit)  # the field bus's one miss counter

    def silent_scan(timestamp: float) -> StringScan:
        watch.missed(timestamp, "timeout")
        return scan("U1S1", responded=False, timestamp=timestamp, communication_lost=watch.lost)

    for k in range(2):  # two silent scans: not yet (counted in scans: a slow bus must not shorten it)
        s = silent_scan(t0 + k * 30.0)
        actor_system.tell(master, s)
        wait_for(lambda s=s: _string_status_of_scan(actor_system, recorder, s.scan_no), what="a stale status")
    assert _lost_alarms(actor_system, recorder, AlarmRaised) == []
    actor_system.tell(master, silent_scan(t0 + 2 * bus.scan_period_s))
    raised = wait_for(lambda: _lost_alarms(actor_system, recorder, AlarmRaised), what="lost at the third silent scan")
    assert raised[0].string_id == "U1S1"


def test_the_string_master_counts_no_misses_itself_the_field_bus_verdict_decides(tree):
    """Silent scans without the field bus's verdict hold the alarm however many there are; the
    verdict raises it at the first silent scan the master sees, and answers clear it."""
    from battery.alarms.records import AlarmCleared, AlarmRaised

    asys, recorder, _ = tree
    t0 = 2_200_000_000.0
    for k in range(10):
        send_scan_and_wait(tree, responded=False, timestamp=t0 + 30.0 * k)
    assert _lost_alarms(asys, recorder, AlarmRaised) == []
    send_scan_and_wait(tree, responded=False, communication_lost=True, timestamp=t0 + 300.0)
    raised = wait_for(lambda: _lost_alarms(asys, recorder, AlarmRaised), what="communication lost on the verdict")
    assert [(r.string_id, r.time) for r in raised] == [("U1S1", t0 + 300.0)]
    for k in range(3):  # answers, past the alarms' off-delay
        send_scan_and_wait(tree, timestamp=t0 + 301.0 + 6.0 * k)
    cleared = wait_for(lambda: _lost_alarms(asys, recorder, AlarmCleared), what="the alarm to clear")
    assert len(cleared) == 1 and len(_lost_alarms(asys, recorder, AlarmRaised)) == 1


def test_a_battery_in_alarm_still_counts_for_the_string_soh_and_soc(tmp_path):
    """String SOH is the weakest battery's, and a weak battery is the one in alarm."""
    from battery.status import CellSnapshot, CellStatus
    from battery.string_values import cell_batch, string_status

    config = small_topology(tmp_path, upses=1, strings_per_ups=1, cells=CELLS).strings[0]
    snap = CellSnapshot(100.0, 100.0, 4000)
    cells = [CellStatus(i + 1, Health.OK, CellFault.NONE, 90, 100, snap) for i in range(CELLS)]
    cells[2] = CellStatus(3, Health.ERROR, CellFault.NONE, 40, 20, snap)  # in "SOH low" alarm
    s = scan("U1S1")
    status = string_status(config, s, cell_batch(s, CELLS), cells, 100.0)
    assert status.soh_pct == 20 and status.soc_pct == 40
    faulty = list(cells)
    faulty[1] = CellStatus(2, Health.ERROR, CellFault.TEMPERATURE_IMPLAUSIBLE, 10, 10, snap)
    assert string_status(config, s, cell_batch(s, CELLS), faulty, 100.0).soc_pct == 40  # a sensor fault does not count


def test_a_recreated_cell_resumes_its_alarm_and_clears_it_when_the_condition_ends(tree):
    """Without its alarm state a re-created cell would never clear an alarm that ended."""
    from battery.alarms.records import AlarmCleared, AlarmRaised

    asys, recorder, master = tree
    t0 = 2_000_000_000.0
    send_high_voltage_scans(tree, t0, scans=2)

    def events(kind):
        return [m for m in _recorded(asys, recorder) if isinstance(m, kind) and m.kind == "cell_voltage_high"]

    wait_for(lambda: events(AlarmRaised), what="cell 2's voltage alarm")
    asys.tell(master, CrashForTest(cell_index=2, string_id="U1S1"))
    wait_for(
        lambda: (r := asys.ask(master, GetCellRestarts(3, "U1S1"), 5)) and r.counts[1] == 1, what="cell 2 re-created"
    )
    for k in range(3):
        send_scan_and_wait(tree, timestamp=t0 + 40 + 12 * k)
    cleared = wait_for(lambda: events(AlarmCleared), what="the alarm to clear after the restart")
    assert cleared[0].cell_index == 2


def test_a_silent_string_ages_out_of_its_ups_aggregates(actor_system, tmp_path):
    topology = small_topology(tmp_path, upses=1, strings_per_ups=2, cells=CELLS)
    recorder = actor_system.createActor(Recorder)
    ups = actor_system.createActor(Ups)
    actor_system.tell(ups, InitUps(topology.upses[0], (("sim", recorder),), recorder, recorder, stale_after_s=10.0))

    def masters():
        found = {m.string_id: m.master for m in _recorded(actor_system, recorder) if isinstance(m, AttachString)}
        return len(found) == 2 and found

    found = wait_for(masters, what="both string masters")
    t0 = 2_100_000_000.0
    for string_id, volts in (("U1S1", 5440), ("U1S2", 5400)):
        actor_system.tell(found[string_id], scan(string_id, timestamp=t0, voltage_cv=volts))

    def ups_statuses():
        return [m.ups for m in _recorded(actor_system, recorder) if isinstance(m, UpsUpdate)]

    wait_for(lambda: any(u.voltage_v and abs(u.voltage_v - 54.20) < 0.01 for u in ups_statuses()), what="both counted")
    actor_system.tell(found["U1S1"], scan("U1S1", timestamp=t0 + 30, voltage_cv=5440))  # U1S2's master is silent
    latest = wait_for(lambda: [u for u in ups_statuses() if u.timestamp == t0 + 30], what="the next UPS status")[-1]
    assert latest.voltage_v == pytest.approx(54.40) and latest.health == Health.ERROR


def test_a_cell_alarm_is_raised_once_while_its_condition_lasts(tree):
    """A cell re-sends an unchanged status; one that carried a transition must not be re-sent."""
    from battery.alarms.records import AlarmRaised

    asys, recorder, _ = tree
    send_high_voltage_scans(tree, 2_100_000_000.0, scans=5)
    raised = [m for m in _recorded(asys, recorder) if isinstance(m, AlarmRaised) and m.kind == "cell_voltage_high"]
    assert [m.cell_index for m in raised] == [2]


def test_an_implausible_string_voltage_raises_sensor_fault_not_voltage_low(tree):
    """0.00 V is outside the BM-SS measuring range: a broken sense lead, not a flat string."""
    from battery.alarms.records import AlarmRaised

    asys, recorder, _ = tree
    t0 = 2_200_000_000.0
    for k in range(4):  # one scan every 11 s: past every 10 s delay
        send_scan_and_wait(tree, voltage_cv=0, timestamp=t0 + 11 * k)
    raised = [m for m in _recorded(asys, recorder) if isinstance(m, AlarmRaised)]
    kinds = {(m.kind, m.cell_index) for m in raised}
    assert ("string_voltage_low", None) not in kinds, raised
    assert ("sensor_fault", None) in kinds


def test_a_discharge_gives_a_runtime_and_its_start_and_ends_when_charging_resumes(tree):
    float_status = send_scan_and_wait(tree, timestamp=1_900_000_000.0)
    assert float_status.runtime_min is None and float_status.discharge_started_at is None
    assert float_status.cell_soh_method == ("resistance",) * CELLS and float_status.soh_method == "resistance"
    first = send_scan_and_wait(tree, current_ca=-5000, voltage_cv=4880, timestamp=1_900_000_001.0)
    second = send_scan_and_wait(tree, current_ca=-5000, voltage_cv=4880, timestamp=1_900_000_002.0)
    assert first.state == second.state == ChargeState.DISCHARGE
    assert second.discharge_started_at == 1_900_000_001.0  # detected by the next scan, back-dated
    # 100 Ah C10 at 50 A (5 × I_rated), k = 1.15: Peukert's runtime is below the linear 120 min
    assert 80.0 < second.runtime_min < 120.0
    charging = send_scan_and_wait(tree, current_ca=1000, voltage_cv=5440, timestamp=1_900_000_003.0)
    assert charging.discharge_started_at is None and charging.runtime_min is None


def test_a_voltage_hovering_at_the_float_threshold_does_not_flicker_the_state(tree):
    # 4 × 12 V batteries: float from 2.18 V per cell = 52.32 V; ±40 mV of noise around it, no current
    states = {
        send_scan_and_wait(tree, current_ca=0, voltage_cv=5232 + (4 if i % 2 else -4), timestamp=2e9 + i).state
        for i in range(6)
    }
    assert states == {ChargeState.FLOAT}


def test_insulation_resistance_and_balancing_bits_reach_the_string_status(tree):
    status = send_scan_and_wait(tree, insulation_kohm=40, cell_balancing=(False, True, False, False))
    assert status.insulation_kohm == 40.0 and status.insulation_low  # below the 100 kΩ default
    assert status.cell_balancing == (False, True, False, False)
    healthy = send_scan_and_wait(tree, insulation_kohm=20_000)
    assert not healthy.insulation_low and healthy.cell_balancing == ()


def test_a_battery_sagging_below_the_others_under_load_is_shown_emptier(tree):
    """The master hands its cells the string's median voltage under load; a battery whose voltage
    falls ever further below it (less capacity than its count assumes) reads a lower SOC."""
    send_scan_and_wait(tree, timestamp=2_100_000_000.0)
    for k in range(1, 49):  # 48 minutes at 50 A (0.5 C): 40 % of C drawn
        mv = 12600 - 9 * k
        status = send_scan_and_wait(
            tree,
            current_ca=-5000,
            voltage_cv=4 * mv // 10,
            cell_voltage_mv=(mv, mv - 3 * k, mv + 2, mv - 2),
            timestamp=2_100_000_000.0 + 60 * k,
        )
    others = (status.cell_soc_pct[0], status.cell_soc_pct[2], status.cell_soc_pct[3])
    assert max(others) - min(others) <= 1
    assert status.cell_soc_pct[1] <= min(others) - 3  # the count alone gives all four 60 %


def test_a_string_master_that_fails_is_recreated_in_process_from_its_last_snapshot(tree):
    """The UPS hosts its string masters in-process: one that fails is re-created by the UPS's
    string host from the snapshot it saved, and the UPS's next scan is served by the new one."""
    from actors.messages.up import StringMasterStarted

    asys, recorder, ups = tree
    send_scan_and_wait(tree)  # the first scan saves a snapshot
    before = asys.ask(ups, GetCellRestarts(4, "U1S1"), 5)
    asys.tell(ups, CrashForTest(string_id="U1S1"))

    def started() -> list:
        return [m for m in _recorded(asys, recorder) if isinstance(m, StringMasterStarted)]

    wait_for(lambda: len(started()) == 2, what="the string master to start again")
    assert all(m.address == ups for m in started())  # where its scans go: the UPS's process
    status = send_scan_and_wait(tree)
    assert status.health == Health.OK
    after = asys.ask(ups, GetCellRestarts(5, "U1S1"), 5)
    assert [c.reference_resistance_uohm for c in after.snapshots] == [
        c.reference_resistance_uohm for c in before.snapshots
    ]


def test_a_recreated_string_master_keeps_the_limits_changed_at_run_time(tree):
    """The string host re-creates a string master from how it was created: with the limits an
    operator changed since, not topology.yaml's (14.7 V for a 12 V battery)."""
    from actors.messages.down import SetAlarmLimits
    from actors.messages.up import StringMasterStarted
    from battery.alarms.records import AlarmRaised

    asys, recorder, ups = tree
    asys.tell(ups, SetAlarmLimits("U1S1", (("cell_voltage_high_v", 14.0),)))
    send_scan_and_wait(tree)
    asys.tell(ups, CrashForTest(string_id="U1S1"))
    wait_for(
        lambda: sum(isinstance(m, StringMasterStarted) for m in _recorded(asys, recorder)) == 2,
        what="the string master to start again",
    )
    t0 = 2_300_000_000.0
    for k in range(3):  # battery 2 at 14.2 V, one scan every 11 s: past the on-delay
        send_scan_and_wait(tree, cell_voltage_mv=(13600, 14200, 13610, 13600), timestamp=t0 + 11 * k)
    raised = [m for m in _recorded(asys, recorder) if isinstance(m, AlarmRaised) and m.kind == "cell_voltage_high"]
    assert [m.cell_index for m in raised] == [2]
