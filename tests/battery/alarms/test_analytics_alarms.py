"""The analytics' alarms: thermal-runaway warning (a switch-off alarm) and insulation low."""

from __future__ import annotations

from battery.alarms import STRING_ALARMS_CLEAR, AlarmKind, evaluate_string, string_limits_for
from battery.alarms.kinds import DEFAULT_SWITCH_OFF_KINDS
from battery.alarms.lifecycle import switch_off_decision
from battery.alarms.records import AlarmRaised
from battery.site import BatteryType, StringConfig


def _string(insulation_sensor: bool = True, overrides=()) -> StringConfig:
    return StringConfig(
        id="s1",
        index=1,
        name="S1",
        ups_id="u1",
        bus="b",
        address=1,
        battery=BatteryType(12, 100.0, 20),
        hall_range_a=300,
        climate_sensor=True,
        insulation_sensor=insulation_sensor,
        alarm_overrides=tuple(overrides),
    )


def run(limits, scans):
    state, events = STRING_ALARMS_CLEAR, []
    for t, kwargs in enumerate(scans):
        values = dict(voltage_v=270.0, current_a=0.2, soc_pct=100.0, hall_ok=True, relay_closed=True)
        values.update(kwargs)
        state, ev = evaluate_string(state, limits, responded=True, sensor_fault=False, now=float(t * 5), **values)
        events += ev
    return state, events


def test_insulation_below_its_limit_raises_and_clears_past_the_hysteresis():
    limits = string_limits_for(_string(overrides=(("string_insulation_low_kohm", 50.0),)))
    readings = [500.0] * 3 + [40.0] * 4 + [55.0] * 4 + [70.0] * 4  # 55 kΩ: inside the 20 % band
    _, events = run(limits, [{"insulation_kohm": r} for r in readings])
    assert [(e.kind, e.raised) for e in events] == [(AlarmKind.INSULATION_LOW, True), (AlarmKind.INSULATION_LOW, False)]
    assert events[0].value == 40.0 and events[0].limit == 50.0
    assert events[1].time >= 11 * 5  # cleared only once above 60 kΩ


def test_a_string_without_a_bm_gs_never_raises_insulation_low():
    _, events = run(string_limits_for(_string(insulation_sensor=False)), [{"insulation_kohm": 1.0}] * 5)
    assert events == []


def test_the_runaway_warning_is_raised_at_once_and_switches_the_string_off():
    _, events = run(
        string_limits_for(_string()), [{"runaway": False}, {"runaway": True}, {"runaway": False}] + [{}] * 4
    )
    raised = [e for e in events if e.raised]
    assert [e.kind for e in raised] == [AlarmKind.THERMAL_RUNAWAY] and raised[0].time == 5.0
    assert AlarmKind.THERMAL_RUNAWAY in DEFAULT_SWITCH_OFF_KINDS
    event = AlarmRaised("thermal_runaway", "u1", "s1", None, 1.0, None, 5.0)
    decision = switch_off_decision(event, True, [k.value for k in DEFAULT_SWITCH_OFF_KINDS], frozenset({"s1"}))
    assert decision.switch_off and "thermal_runaway" in decision.reason
