"""Fault values and how sensor faults falsify readings."""

import pytest

from sim.faults import (
    ActiveFault,
    DigitalInputActive,
    DriftingSensor,
    ImplausibleValue,
    OpenCell,
    SlowDevice,
    ThermalRunaway,
    apply_sensor_faults,
)


def test_drift_grows_linearly_from_injection():
    v, r, t = [2270, 2270], [500, 500], [250, 250]
    apply_sensor_faults([ActiveFault(DriftingSensor(2, "voltage", 10.0), since=0.0)], 3 * 3600.0, v, r, t)
    assert v == [2270, 2300] and r == [500, 500] and t == [250, 250]


def test_implausible_value_defaults_to_300_degrees():
    v, r, t = [2270], [500], [250]
    apply_sensor_faults([ActiveFault(ImplausibleValue(1), since=0.0)], 10.0, v, r, t)
    assert t == [3000]


def test_physical_faults_do_not_touch_readings():
    v, r, t = [2270], [500], [250]
    apply_sensor_faults([ActiveFault(OpenCell(1), since=0.0)], 10.0, v, r, t)
    assert (v, r, t) == ([2270], [500], [250])


@pytest.mark.parametrize(
    "make",
    [
        lambda: OpenCell(0),
        lambda: DriftingSensor(1, "current", 1.0),
        lambda: ImplausibleValue(1, "humidity"),
        lambda: ThermalRunaway(1, 0.0),
        lambda: SlowDevice(-1.0),
        lambda: DigitalInputActive(9),
    ],
)
def test_bad_fault_parameters_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_faults_are_frozen_values():
    f = OpenCell(3)
    assert f == OpenCell(3)
    with pytest.raises(AttributeError):
        f.cell = 4  # type: ignore[misc]
