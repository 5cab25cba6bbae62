"""Thermal-runaway early warning on a synthetic trace; insulation low limit."""

from __future__ import annotations

from battery.analytics import InsulationParams, RunawayParams, RunawayState, insulation_low, params_for, step_runaway

BATTERY = params_for(12, 100.0)
PARAMS = RunawayParams()
TEMPERATURE_LIMIT_C = 45.0  # the default "cell temperature high" alarm


def trace(seconds: int, heating: bool, current_rises: bool):
    """One scan per 10 s: ambient 25 °C, cell 7 heats by 1 K a minute, float current 0.1 A."""
    for step in range(seconds // 10):
        t = step * 10.0
        minutes = t / 60.0
        temps = [25.5 + 0.1 * (i % 3) for i in range(12)]
        if heating:
            temps[6] += minutes
        current = 0.1 * (1.0 + minutes / 5.0) if current_rises else 0.1
        yield t, current, temps


def run(samples, ambient=25.0):
    state, warned_at, hottest = RunawayState(), None, []
    for t, current, temps in samples:
        state = step_runaway(state, t, 10.0, current, True, temps, ambient, BATTERY, PARAMS)
        hottest.append(max(temps))
        if state.active and warned_at is None:
            warned_at = t
            warned_temperature = max(temps)
            assert state.hot_cells == (7,)
    return state, warned_at, (warned_temperature if warned_at is not None else None)


def test_a_heating_cell_with_a_rising_float_current_is_warned_before_its_temperature_limit():
    state, warned_at, temperature = run(trace(3600, heating=True, current_rises=True))
    assert warned_at is not None, "no warning at all"
    assert temperature < TEMPERATURE_LIMIT_C, f"warned only at {temperature:.1f} °C"


def test_a_hot_cell_with_a_steady_current_is_not_a_runaway():
    _, warned_at, _ = run(trace(3600, heating=True, current_rises=False))
    assert warned_at is None


def test_a_rising_current_without_a_hot_cell_is_not_a_runaway():
    _, warned_at, _ = run(trace(3600, heating=False, current_rises=True))
    assert warned_at is None


def test_a_discharge_clears_and_resets_the_warning():
    state, warned_at, _ = run(trace(1800, heating=True, current_rises=True))
    assert state.active
    after = step_runaway(state, 2000.0, 10.0, -50.0, False, [25.0] * 12, 25.0, BATTERY, PARAMS)
    assert not after.active and after.currents == ()


def test_insulation_low_limit_with_hysteresis():
    params = InsulationParams(low_limit_kohm=100.0, hysteresis=0.2)
    assert not insulation_low(150.0, False, params)
    assert insulation_low(99.0, False, params)
    assert insulation_low(110.0, True, params), "cleared inside the hysteresis band"
    assert not insulation_low(121.0, True, params)
    assert insulation_low(None, True, params), "no reading must not clear an alarm"


def test_the_current_window_stays_small_at_any_scan_rate():
    state = RunawayState()
    for k in range(3600):  # an hour of 1 s scans
        state = step_runaway(state, float(k), 1.0, 0.1, True, [25.0] * 12, 25.0, BATTERY, PARAMS)
    assert len(state.currents) <= 70 and state.currents[-1] == (3599.0, 0.1)  # not 900


def slow_runaway(hours: float, current_to: float, step_s: float = 30.0):
    """A VRLA runaway as it builds: over `hours` cell 7 warms from 2 K to 12 K above the room
    and the float current climbs smoothly from 0.12 A to `current_to`, never ×1.5 in 15 min."""
    steps = int(hours * 3600 / step_s)
    for k in range(steps + 1):
        x = k / steps
        temps = [25.5 + 0.1 * (i % 3) for i in range(12)]
        temps[6] = 27.0 + 10.0 * x
        yield k * step_s, 0.12 * (current_to / 0.12) ** x, temps


def test_a_runaway_building_over_hours_is_warned_while_the_cell_is_still_far_from_its_limit():
    state = RunawayState()
    warned = None
    for t, current, temps in slow_runaway(4.5, 0.53):
        state = step_runaway(state, t, 30.0, current, True, temps, 25.0, BATTERY, PARAMS)
        if state.active and warned is None:
            warned = temps[6]
    assert warned is not None, "a float current rising ×4 over 4.5 h with a hot cell raised nothing"
    assert warned < 40.0


def test_a_recharge_after_a_discharge_is_not_a_runaway():
    """The recharge current falls from the charger's limit to float while the cells, warmed by
    the discharge, cool: even with one cell warmer than the rest nothing may be raised."""
    state = step_runaway(RunawayState(), 0.0, 10.0, -50.0, False, [30.0] * 12, 25.0, BATTERY, PARAMS)
    for k in range(1, 8 * 360):
        t = k * 10.0
        current = 0.12 + 10.0 * 2.718281828 ** (-t / 7200.0) + (0.02 if k % 2 else -0.02)  # with noise
        temps = [25.5 + 4.0 * 2.718281828 ** (-t / 21600.0)] * 12
        temps[6] += 9.0
        state = step_runaway(state, t, 10.0, current, True, temps, 25.0, BATTERY, PARAMS)
        assert not state.active, f"raised {t / 3600:.1f} h into a recharge"
