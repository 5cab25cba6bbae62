"""The pure alarm rules: limits, overrides, hysteresis/delay state machine, cells and strings."""

from __future__ import annotations

import random

import pytest

from battery.alarms import (
    CELL_ALARMS_CLEAR,
    INACTIVE,
    OVERRIDABLE_LIMITS,
    STRING_ALARMS_CLEAR,
    AlarmKind,
    Direction,
    Limit,
    cell_limits_for,
    evaluate,
    evaluate_cell,
    evaluate_digital_input,
    evaluate_string,
    string_limits_for,
    to_alarm_message,
    validate_overrides,
)
from battery.alarms.lifecycle import keys_to_close_after_restart, switch_off_decision
from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.codes import CellFault
from battery.site import BatteryType, StringConfig
from protocols.notify.compose import compose, retry_delay_s, to_gsm_text
from storage.notification_settings import (
    NotificationSettings,
    SmtpSettings,
    channel_enabled,
    settings_from_kv,
    settings_to_kv,
)
from storage.notification_store import InboxEvent

HIGH = Limit(AlarmKind.CELL_VOLTAGE_HIGH, Direction.HIGH, 2450, 20, on_delay_s=10, off_delay_s=10)


def _string(nominal: int = 12, count: int = 20, overrides=()) -> StringConfig:
    return StringConfig(
        id="s1",
        index=1,
        name="String 1",
        ups_id="u1",
        bus="b1",
        address=1,
        battery=BatteryType(nominal, 100.0, count),
        hall_range_a=200,
        climate_sensor=False,
        alarm_overrides=tuple(overrides),
    )


def test_defaults_scale_with_battery_type():
    two, twelve = cell_limits_for(BatteryType(2, 1000, 120)), cell_limits_for(BatteryType(12, 100, 20))
    assert (two.voltage_high.threshold, two.voltage_low.threshold) == (2450, 1800)
    assert (twelve.voltage_high.threshold, twelve.voltage_low.threshold) == (14700, 10800)
    assert twelve.temperature_high.threshold == 450  # 45.0 °C in 0.1 °C
    assert cell_limits_for(BatteryType(6, 100, 40)).voltage_high.threshold == 7350


def test_string_defaults_and_overrides():
    s = string_limits_for(_string(12, 20))
    assert s.voltage_high.threshold == pytest.approx(2.45 * 6 * 20)
    assert s.current_low.threshold == pytest.approx(-5.0)  # 5 % of 100 Ah, discharging
    o = string_limits_for(_string(overrides=[("string_current_discharge_high_a", 20.0), ("alarm_on_delay_s", 3)]))
    assert o.current_low.threshold == -20.0 and o.voltage_low.on_delay_s == 3
    c = cell_limits_for(
        BatteryType(12, 100, 20), [("cell_temperature_high_c", 40.0), ("cell_resistance_high_mohm", 6.5)]
    )
    assert c.temperature_high.threshold == 400 and c.resistance_high.threshold == 6500


@pytest.mark.parametrize(
    "overrides, message",
    [
        ([("cell_voltage_hi", 2.4)], "unknown alarm limit 'cell_voltage_hi'"),
        ([("cell_temperature_high_c", 300.0)], "outside -20.0..85.0"),
        ([("cell_soc_low_pct", "low")], "must be a number"),
        ([("cell_voltage_low_v", 2.5), ("cell_voltage_high_v", 2.4)], "must be below"),
    ],
)
def test_bad_overrides_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        validate_overrides(overrides, where="string s1")
    assert "cell_voltage_high_v" in OVERRIDABLE_LIMITS


def test_on_delay_and_hysteresis():
    s, t = evaluate(INACTIVE, 2460, HIGH, now=0)
    assert t is None and s.since == 0
    s, t = evaluate(s, 2460, HIGH, now=9.9)
    assert t is None
    s, t = evaluate(s, 2460, HIGH, now=10)
    assert t is not None and t.raised and t.value == 2460 and t.limit == 2450 and s.active
    # back below the limit but inside the hysteresis band: stays active
    s, t = evaluate(s, 2440, HIGH, now=30)
    assert t is None and s.active and s.since is None
    s, t = evaluate(s, 2420, HIGH, now=40)
    assert t is None and s.since == 40
    s, t = evaluate(s, 2420, HIGH, now=50)
    assert t is not None and not t.raised and not s.active


def test_short_excursion_does_not_raise():
    s, _ = evaluate(INACTIVE, 2500, HIGH, now=0)
    s, _ = evaluate(s, 2400, HIGH, now=5)  # back before the on-delay ran out
    s, t = evaluate(s, 2500, HIGH, now=9)
    assert t is None and s.since == 9  # the delay restarted


def test_stale_value_never_raises_nor_clears():
    s, _ = evaluate(INACTIVE, 2500, HIGH, now=0)
    s, t = evaluate(s, None, HIGH, now=20)
    assert t is None and not s.active and s.since is None
    s, t = evaluate(s, float("nan"), HIGH, now=40)
    assert t is None and not s.active


def test_hovering_value_raises_exactly_once():
    rng = random.Random(5)
    s, raised, cleared = INACTIVE, 0, 0
    for i in range(600):  # 10 minutes at 1 scan/s, ±15 mV noise around the limit
        s, t = evaluate(s, 2450 + rng.randint(-15, 15), HIGH, now=float(i))
        raised += bool(t and t.raised)
        cleared += bool(t and not t.raised)
    assert (raised, cleared) == (1, 0)


def test_cell_implausible_temperature_raises_sensor_fault_not_temperature_high():
    limits = cell_limits_for(BatteryType(12, 100, 20))
    state, events = CELL_ALARMS_CLEAR, []
    for t in range(0, 15):
        state, ev = evaluate_cell(
            state,
            limits,
            responded=True,
            faults=int(CellFault.TEMPERATURE_IMPLAUSIBLE),
            voltage_mv=13500,
            resistance_uohm=4000,
            temperature_dc=3000,
            soc_pct=95,
            soh_pct=98,
            now=float(t),
        )
        events += ev
    assert [e.kind for e in events] == [AlarmKind.SENSOR_FAULT]
    assert state.active_kinds() == {AlarmKind.SENSOR_FAULT}


def test_cell_no_response_raises_communication_lost_and_holds_limits():
    limits = cell_limits_for(BatteryType(12, 100, 20))
    state = CELL_ALARMS_CLEAR
    for t in range(0, 11):  # over-voltage raised
        state, _ = evaluate_cell(
            state,
            limits,
            responded=True,
            faults=0,
            voltage_mv=15000,
            resistance_uohm=4000,
            temperature_dc=250,
            soc_pct=95,
            soh_pct=98,
            now=float(t),
        )
    assert AlarmKind.CELL_VOLTAGE_HIGH in state.active_kinds()
    events = []
    for t in range(11, 30):
        state, ev = evaluate_cell(
            state,
            limits,
            responded=False,
            faults=int(CellFault.NO_RESPONSE),
            voltage_mv=0,
            resistance_uohm=0,
            temperature_dc=0,
            soc_pct=None,
            soh_pct=None,
            now=float(t),
        )
        events += ev
    assert [e.kind for e in events] == [AlarmKind.COMMUNICATION_LOST]
    assert AlarmKind.CELL_VOLTAGE_HIGH in state.active_kinds()  # a silent cell clears nothing


def test_cell_quiet_scan_returns_same_state_object():
    limits = cell_limits_for(BatteryType(2, 1000, 120))
    state, ev = evaluate_cell(
        CELL_ALARMS_CLEAR,
        limits,
        responded=True,
        faults=0,
        voltage_mv=2250,
        resistance_uohm=300,
        temperature_dc=250,
        soc_pct=100,
        soh_pct=100,
        now=1.0,
    )
    assert state is CELL_ALARMS_CLEAR and ev == []


def test_string_discharge_hall_and_breaker():
    limits = string_limits_for(_string(12, 20))
    state, events = STRING_ALARMS_CLEAR, []
    for t in range(0, 12):
        state, ev = evaluate_string(
            state,
            limits,
            responded=True,
            voltage_v=250.0,
            current_a=-40.0,
            soc_pct=80,
            hall_ok=True,
            relay_closed=False,
            sensor_fault=False,
            now=float(t),
        )
        events += ev
    kinds = {e.kind for e in events}
    assert kinds == {AlarmKind.STRING_CURRENT_LOW, AlarmKind.STRING_SWITCHED_OFF}
    events = []
    for t in range(12, 30):  # hall sensor fails: the current is no longer trusted, nothing clears
        state, ev = evaluate_string(
            state,
            limits,
            responded=True,
            voltage_v=250.0,
            current_a=0.0,
            soc_pct=80,
            hall_ok=False,
            relay_closed=False,
            sensor_fault=False,
            now=float(t),
        )
        events += ev
    assert [e.kind for e in events] == [AlarmKind.HALL_SENSOR]
    assert state.current_low.active


def test_digital_input_and_message_wrapping():
    s, t = evaluate_digital_input(INACTIVE, True, "leakage", now=0.0, delay_s=0.0)
    assert t is not None and t.kind is AlarmKind.DIGITAL_INPUT and t.detail == "leakage"
    m = to_alarm_message(t, ups_id=None, string_id=None)
    assert isinstance(m, AlarmRaised) and m.kind == "digital_input" and m.detail == "leakage"
    s, t = evaluate_digital_input(s, False, "leakage", now=5.0, delay_s=0.0)
    assert isinstance(to_alarm_message(t, ups_id="u1", string_id="s1", cell_index=3), AlarmCleared)


def test_switch_off_decision():
    e = AlarmRaised("cell_voltage_high", "u1", "s1", 7, 15000, 14700, 1.0)
    kinds = ("cell_voltage_high",)
    assert switch_off_decision(e, True, kinds, frozenset({"s1"})).switch_off
    assert not switch_off_decision(e, False, kinds, frozenset({"s1"})).switch_off
    no_output = switch_off_decision(e, True, kinds, frozenset())
    assert not no_output.switch_off and "no BM-LC disconnect output" in no_output.reason
    string_level = AlarmRaised("cell_voltage_high", "u1", "s1", None, 1, 1, 1.0)
    assert not switch_off_decision(string_level, True, kinds, frozenset({"s1"})).switch_off
    assert keys_to_close_after_restart([("a", "", "", "", 0), ("b", "", "", "", 0)], [("b", "", "", "", 0)]) == [
        ("a", "", "", "", 0)
    ]


def test_compose_batches_and_sms_text():
    ev = [
        InboxEvent(i, "email", 1000.0 + i * 60, "raised", i, title, "u1", "s1", None, 1.0)
        for i, title in enumerate(["Voltage high", "Current high (charging)", "Current low (discharging)"], 1)
    ]
    c = compose(ev, "DC1")
    assert c.alarm_label.startswith("3 events from ") and " to " in c.alarm_label
    assert c.string_id == "s1" and c.cell_index is None
    assert "Current low (discharging)" in c.body
    assert len(c.sms_text) <= 160
    single = compose(ev[:1])
    assert single.alarm_label == "Voltage high"
    assert to_gsm_text("45 °C_x@y") == "45  deg C-x(at)y"
    assert len(to_gsm_text("x" * 500)) == 160


def test_retry_backoff():
    assert [retry_delay_s(n, 10, 600) for n in (1, 2, 3, 7, 50)] == [10, 20, 40, 600, 600]


def test_settings_round_trip_and_errors():
    s = NotificationSettings(smtp=SmtpSettings(host="mail.example", port=465, sender="a@b", security="tls"))
    assert settings_from_kv(settings_to_kv(s)) == s
    assert not NotificationSettings().smtp.configured and NotificationSettings().smtp.password == ""
    with pytest.raises(ValueError, match="smtp.port"):
        settings_from_kv({"smtp.port": "x"})
    with pytest.raises(ValueError, match="smtp.security"):
        settings_from_kv({"smtp.security": "ssl3"})
    with pytest.raises(ValueError, match="unknown notification setting"):
        settings_from_kv({"smtp.hots": "x"})
    sw = {("s1", "cell_soc_low"): (False, True)}
    assert not channel_enabled(sw, "s1", "cell_soc_low", "email") and channel_enabled(sw, "s1", "cell_soc_low", "sms")
    assert channel_enabled(sw, "s2", "cell_soc_low", "email")
