"""One simulated battery string with its BM-SS string master, BM-HS, BM-TH and BM-GS.

The batteries' physics (sim.battery_bank over sim.battery_model) runs on wall-clock UNIX time:
`advance(now)` integrates from the last call to `now`, `measure()` returns what the string
master would report, in the scaled integers of the field bus. Nothing here knows about a
transport, so the same string can be read in-process (`sim://`) or served as a Modbus RTU slave.

The string decides what flows: the charger (float, equalize, current-limited recharge), the
UPS's discharge and its low-voltage cutoff, a breaker, and the faults of sim.faults. Large time
jumps are integrated in sub-steps (10 s during a discharge, 60 s while recharging, relaxing or
heating, 600 s in steady float) with exact first-order updates, so advancing months is stable
and takes well under a second. Sub-steps also stop at every event boundary of the load profile.

Measurement noise is drawn from one table of standard normal values shared by all strings
(a random offset per reading kind per scan), so noise costs one slice instead of 360 calls
to random.gauss per string and scan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from battery.site import MAX_BATTERIES_PER_STRING, StringConfig
from sim import battery_model as bm
from sim import battery_params as p
from sim.battery_bank import BatteryBank
from sim.faults import (
    ActiveFault,
    DeviceOffline,
    HallSensorDisconnected,
    InsulationFault,
    OpenCell,
    SensorFault,
    SlowDevice,
    StringFault,
    ThermalRunaway,
    apply_sensor_faults,
    insulation_kohm,
)
from sim.load_profile import LoadProfile, Phase, UpsMode

DEMO_AGING_PER_DAY = 0.03  # the demo's aging battery: resistance +3 % of new per simulated day (25 °C)

# Standard deviations of the measurement noise, in counts (mV, µΩ, 0.1 °C, 0.01 V, 0.01 A).
VOLTAGE_NOISE_MV = 1.0
RESISTANCE_NOISE_UOHM = 3.0
TEMPERATURE_NOISE_DC = 0.6
STRING_VOLTAGE_NOISE_CV = 2.0
CURRENT_NOISE_CA = 2.0
AMBIENT_NOISE_DC = 0.5
HUMIDITY_NOISE_DPCT = 3.0

OPEN_CELL_RESISTANCE_UOHM = 65535  # the cell sensor's over-range reading: no current path
INSULATION_ABOVE_RANGE_KOHM = 65535
INSULATION_STATUS_OK = 0
INSULATION_STATUS_LOW = 1  # below the sensor's warning threshold

_MAX_STEP_DISCHARGE_S = 10.0
_MAX_STEP_TRANSIENT_S = 60.0
_MAX_STEP_STEADY_S = 600.0
_AGING_UPDATE_S = 600.0  # resistance and capacity are refreshed at most this often
_SLOW_UPDATE_S = 10.0  # temperatures and the balancing bleed (hours and days) at most this often

# Effective state of the string during a step.
_REGULATED = 0  # charger holds its set point; the batteries share it by their float spread
_BULK = 1  # recharge at the charger's current limit; voltage below the set point
_DISCHARGE = 2
_REST = 3  # no current: relay open, open cell, UPS idle or shut down after a deep discharge

_NOISE_SIZE = 4096
_noise_rng = random.Random(0x5EED)
_NOISE = [_noise_rng.gauss(0.0, 1.0) for _ in range(_NOISE_SIZE)]
_NOISE += _NOISE[: MAX_BATTERIES_PER_STRING + 8]  # so a slice never wraps


@dataclass(frozen=True)
class RoomClimate:
    """The air around a string: a daily temperature swing (warmest mid-afternoon UTC)."""

    mean_c: float = 23.0
    daily_swing_c: float = 1.0  # amplitude
    humidity_pct: float = 45.0
    humidity_swing_pct: float = 3.0

    def temperature_c(self, t: float) -> float:
        return self.mean_c + self.daily_swing_c * math.sin(_day_angle(t))

    def relative_humidity_pct(self, t: float) -> float:
        return self.humidity_pct - self.humidity_swing_pct * math.sin(_day_angle(t))


def _day_angle(t: float) -> float:
    return 2.0 * math.pi * ((t - 9 * 3600.0) % 86400.0) / 86400.0


@dataclass(frozen=True)
class StringMeasurement:
    """What a BM-SS reports in one scan, in the field bus's scaled integers."""

    voltage_cv: int  # 0.01 V
    current_ca: int  # 0.01 A, + charge, - discharge
    hall_ok: bool
    ambient_dc: int | None  # 0.1 °C, None without a BM-TH
    humidity_dpct: int | None  # 0.1 %RH
    relay_closed: bool
    cell_voltage_mv: tuple[int, ...]
    cell_resistance_uohm: tuple[int, ...]
    cell_temperature_dc: tuple[int, ...]
    cell_responded: tuple[bool, ...]
    cell_balancing: tuple[bool, ...] = ()  # the BM-CS is bleeding the battery
    insulation_kohm: int | None = None  # 1 kΩ, None without a BM-GS; 65535 = above range
    insulation_status: int = INSULATION_STATUS_OK


class SimulatedString:
    """A string of `config.battery.count` batteries in series, each with its own spread."""

    def __init__(
        self,
        config: StringConfig,
        seed: int,
        *,
        aging_cell: int | None = None,
        aging_per_day: float = DEMO_AGING_PER_DAY,
        aging_cells: Mapping[int, float] | None = None,
        climate: RoomClimate | None = None,
        load_profile: LoadProfile | None = None,
    ) -> None:
        """`aging_cell` ages at `aging_per_day`; `aging_cells` maps more batteries to their
        resistance rise per day (both at 25 °C; their capacity fade follows the joint law)."""
        battery = config.battery
        n = battery.count
        if not 1 <= n <= MAX_BATTERIES_PER_STRING:
            raise ValueError(f"string {config.id}: battery count must be 1..{MAX_BATTERIES_PER_STRING}, got {n}")
        ageing = dict(aging_cells or {})
        if aging_cell is not None:
            ageing[aging_cell] = aging_per_day
        for cell in ageing:
            if not 1 <= cell <= n:
                raise ValueError(f"string {config.id}: aging cell {cell} is not in 1..{n}")
        self.config = config
        self.climate = climate or RoomClimate()
        self.load_profile = load_profile or LoadProfile()
        self._relay_closed = True
        self._rng = rng = random.Random(seed)
        self._n = n
        self._cells = cells = bm.cells_per_battery(battery.nominal_voltage)
        self._capacity_ah = cap = battery.capacity_ah
        self.bank = BatteryBank(battery, rng, self.climate.mean_c, resistance_rise_per_day=ageing)
        self._rth = bm.thermal_resistance_k_per_w(cells, cap)
        self._insulation_rng = random.Random(seed ^ 0x1A5)

        self._pol = 0.0  # charge-transfer polarization, V per 2 V cell
        self._current = 0.0
        self._i_float = 0.0
        self._state = _REGULATED
        self._bulk_fraction = 1.0
        self._vset_v = p.FLOAT_V_PER_CELL * cells  # per battery
        self._cutoff = False  # the UPS shut down on low battery during this discharge
        self._slow_s = 0.0  # time the slow processes have not caught up with yet

        self._now: float | None = None
        self._aged_at = 0.0
        self._faults: list[ActiveFault] = []
        self._open_index: int | None = None
        self._runaways: list[tuple[int, float, float]] = []  # (index, W per hour, since)
        self._insulation_faults: list[ActiveFault] = []
        self._sensor_faults: list[ActiveFault] = []
        self._hall_ok = True
        self._online = True
        self._delay_s = 0.0

    # ------------------------------------------------------------------ state for callers

    @property
    def online(self) -> bool:
        """False while a DeviceOffline fault is active: the string master does not answer."""
        return self._online

    @property
    def response_delay_s(self) -> float:
        """How long the string master takes to answer (SlowDevice fault), 0 normally."""
        return self._delay_s

    @property
    def now(self) -> float | None:
        return self._now

    @property
    def current_a(self) -> float:
        """The true string current (+ charge, - discharge), without sensor noise."""
        return self._current

    @property
    def cell_soc(self) -> tuple[float, ...]:
        """True state of charge of each battery (0..1), by the rating's definition: the charge it
        would still deliver at the 10-hour rate and 25 °C over what it delivers from full."""
        return tuple(self.bank.rated_soc())

    @property
    def cell_temperature_c(self) -> tuple[float, ...]:
        return tuple(self.bank.temp)

    @property
    def cell_resistance_ohm(self) -> tuple[float, ...]:
        """Each battery's resistance as it is now (SOC and temperature included)."""
        return tuple(self.bank.resistance_now())

    @property
    def cut_off(self) -> bool:
        """The UPS has shut down on low battery during the present discharge."""
        return self._cutoff

    @property
    def insulation_kohm(self) -> float:
        """True insulation resistance of the string to ground."""
        now = self._now if self._now is not None else 0.0
        return insulation_kohm(self._insulation_faults, now, p.HEALTHY_INSULATION_KOHM)

    @property
    def faults(self) -> tuple[ActiveFault, ...]:
        return tuple(self._faults)

    @property
    def relay_closed(self) -> bool:
        return self._relay_closed

    def set_relay(self, closed: bool) -> None:
        """Close or open the string's breaker; open: no current, the batteries rest."""
        self._relay_closed = bool(closed)
        self._settle()

    # ------------------------------------------------------------------ faults

    def inject(self, fault: StringFault) -> None:
        """Start a fault now (simulated time); see sim.faults for the kinds."""
        if not isinstance(fault, StringFault):
            raise TypeError(f"string {self.config.id}: {fault!r} is not a string fault")
        cell = getattr(fault, "cell", None)
        if cell is not None and cell > self._n:
            raise ValueError(
                f"string {self.config.id} has {self._n} batteries; {type(fault).__name__} names cell {cell}"
            )
        since = self._now if self._now is not None else math.nan  # set by the first advance()
        self._faults.append(ActiveFault(fault, since))
        self._refresh_faults()

    def clear_faults(self, kind: type | None = None) -> None:
        """Remove every fault, or every fault of one kind (e.g. `OpenCell`)."""
        if kind is None:
            self._faults.clear()
        else:
            self._faults = [a for a in self._faults if not isinstance(a.fault, kind)]
        self._refresh_faults()

    def _refresh_faults(self) -> None:
        opens = [a.fault.cell - 1 for a in self._faults if isinstance(a.fault, OpenCell)]
        self._open_index = opens[0] if opens else None
        self._runaways = [
            (a.fault.cell - 1, a.fault.heating_w_per_hour, a.since)
            for a in self._faults
            if isinstance(a.fault, ThermalRunaway)
        ]
        self._insulation_faults = [a for a in self._faults if isinstance(a.fault, InsulationFault)]
        self._sensor_faults = [a for a in self._faults if isinstance(a.fault, SensorFault)]
        self._hall_ok = not any(isinstance(a.fault, HallSensorDisconnected) for a in self._faults)
        self._online = not any(isinstance(a.fault, DeviceOffline) for a in self._faults)
        delays = [a.fault.delay_s for a in self._faults if isinstance(a.fault, SlowDevice)]
        self._delay_s = max(delays) if delays else 0.0
        self._settle()

    # ------------------------------------------------------------------ physics

    def advance(self, now: float) -> None:
        """Integrate the physics up to wall-clock UNIX time `now` (earlier times are ignored)."""
        if self._now is None:
            self._start_clock(now)
            return
        t = self._now
        if now <= t:
            return
        profile = self.load_profile
        while t < now:
            phase = profile.phase_at(t)
            end = min(now, t + self._max_step(phase))
            change = profile.next_change_after(t)
            if change is not None and change < end:
                end = change
            self._step(t, end - t, phase)
            t = end
        self._now = now
        self._settle()

    def _settle(self) -> None:
        """Re-evaluate the current at the present instant (a zero-length step), so that
        `measure()` reflects an event starting now, a breaker just opened or a cell just broken."""
        if self._now is not None:
            self._step(self._now, 0.0, self.load_profile.phase_at(self._now))

    def _start_clock(self, now: float) -> None:
        """First call: the string has been floating for ever, at thermal equilibrium."""
        self._now = self._aged_at = now
        self._faults = [ActiveFault(a.fault, now) if math.isnan(a.since) else a for a in self._faults]
        self._refresh_faults()  # also settles the state at `now`
        i_float = bm.float_current_a(self._capacity_ah, self.climate.temperature_c(now))
        warm = self.climate.temperature_c(now) + self._rth * i_float * self._vset_v
        self.bank.temp = [warm] * self._n

    def _max_step(self, phase: Phase) -> float:
        if phase.mode is UpsMode.DISCHARGE:
            return _MAX_STEP_DISCHARGE_S
        bank = self.bank
        if not bank.full or self._runaways or abs(self._pol) > 0.005 or bank.gap > 1e-3:
            return _MAX_STEP_TRANSIENT_S
        return _MAX_STEP_STEADY_S

    def _step(self, t: float, dt: float, phase: Phase) -> None:
        cells = self._cells
        cap = self._capacity_ah
        bank = self.bank
        if t + dt - self._aged_at >= _AGING_UPDATE_S:
            bank.age(t + dt - self._aged_at)
            self._aged_at = t + dt
        mode = phase.mode
        if mode is not UpsMode.DISCHARGE:
            self._cutoff = False

        i_float = 0.0
        bulk_fraction = 1.0
        if not self._relay_closed or self._open_index is not None or mode is UpsMode.IDLE:
            state, current = _REST, 0.0
        elif mode is UpsMode.DISCHARGE:
            state, current = (_REST, 0.0) if self._cutoff else (_DISCHARGE, -phase.discharge_current_a)
        else:
            equalize = mode is UpsMode.EQUALIZE
            i_float = bm.float_current_a(cap, max(bank.temp))
            if equalize:
                i_float *= p.EQUALIZE_CURRENT_FACTOR
            i_float = min(i_float, p.RECHARGE_LIMIT_C * cap)  # the charger delivers no more
            self._vset_v = (p.EQUALIZE_V_PER_CELL if equalize else p.FLOAT_V_PER_CELL) * cells
            demand = bm.charge_demand_a(cap, bank.soc_mean, i_float)
            limit = p.RECHARGE_LIMIT_C * cap
            if demand > limit:
                state, current, bulk_fraction = _BULK, limit, limit / demand
            else:
                state, current = _REGULATED, demand
        self._state, self._current, self._i_float = state, current, i_float
        self._bulk_fraction = bulk_fraction
        if dt <= 0.0:
            return

        self._pol = bm.relax(self._pol, bm.polarization_target_v(current, cap), dt, p.POLARIZATION_TIME_CONSTANT_S)
        if state == _REST:
            bank.rest(dt)
        else:
            bank.flow(current, i_float, dt)

        if state == _DISCHARGE:
            v = bank.unregulated_voltages(current, self._pol)
            if sum(v) / (self._n * cells) < p.CUTOFF_V_PER_CELL:  # the UPS sees the string voltage
                self._cutoff = True

        # Slow processes (time constants of hours and days) catch up in one exact step.
        self._slow_s += dt
        if self._slow_s < _SLOW_UPDATE_S:
            return
        slow, self._slow_s = self._slow_s, 0.0
        bank.balance(state == _REGULATED, slow)
        common_heat = abs(current) * abs(self._pol) * cells + i_float * self._vset_v
        extra: dict[int, float] = {}
        for index, w_per_hour, since in self._runaways:
            extra_w = min(p.RUNAWAY_MAX_HEAT_W, w_per_hour * max(0.0, t + dt - since) / 3600.0)
            extra[index] = extra.get(index, 0.0) + extra_w
        bank.heat(self.climate.temperature_c(t), self._rth, common_heat, current, extra, slow)

    # ------------------------------------------------------------------ sensors

    def true_cell_voltages(self) -> list[float]:
        """Every battery's terminal voltage now, without sensor noise or faults of the sensors."""
        state = self._state
        bank = self.bank
        if state == _REGULATED:
            v = bank.float_voltages(self._vset_v)
        elif state == _BULK:
            f = self._bulk_fraction
            free = bank.unregulated_voltages(self._current, self._pol)
            v = [b + (s - b) * f for b, s in zip(free, bank.float_voltages(self._vset_v))]
        else:
            v = bank.unregulated_voltages(self._current, self._pol)
        if self._open_index is not None:
            v[self._open_index] = 0.0
        return v

    def _insulation_reading(self) -> tuple[int | None, int]:
        if not self.config.insulation_sensor:
            return None, INSULATION_STATUS_OK
        true_kohm = self.insulation_kohm
        kohm = round(true_kohm * (1.0 + p.INSULATION_NOISE * self._insulation_rng.gauss(0.0, 1.0)))
        string_v = self._n * self.config.battery.nominal_voltage
        warning_kohm = p.INSULATION_WARNING_OHM_PER_V * string_v / 1000.0
        status = INSULATION_STATUS_LOW if true_kohm < warning_kohm else INSULATION_STATUS_OK
        return max(0, min(INSULATION_ABOVE_RANGE_KOHM, kohm)), status

    def measure(self) -> StringMeasurement:
        """One scan of the string master: cell sensors, hall sensor, BM-TH, BM-GS, with noise."""
        n = self._n
        rnd = self._rng.random
        z = _NOISE
        o1 = int(rnd() * _NOISE_SIZE)
        o2 = int(rnd() * _NOISE_SIZE)
        o3 = int(rnd() * _NOISE_SIZE)
        o4 = int(rnd() * _NOISE_SIZE)

        v = self.true_cell_voltages()
        sv = VOLTAGE_NOISE_MV
        voltages = [round(x * 1000.0 + sv * e) for x, e in zip(v, z[o1 : o1 + n])]
        sr = RESISTANCE_NOISE_UOHM
        resistances = [round(r * 1e6 + sr * e) for r, e in zip(self.bank.resistance_now(), z[o2 : o2 + n])]
        st = TEMPERATURE_NOISE_DC
        temperatures = [round(t * 10.0 + st * e) for t, e in zip(self.bank.temp, z[o3 : o3 + n])]
        if self._open_index is not None:
            voltages[self._open_index] = abs(voltages[self._open_index])
            resistances[self._open_index] = OPEN_CELL_RESISTANCE_UOHM
        now = self._now if self._now is not None else 0.0
        if self._sensor_faults:
            apply_sensor_faults(self._sensor_faults, now, voltages, resistances, temperatures)

        voltage_cv = max(0, round(sum(v) * 100.0 + STRING_VOLTAGE_NOISE_CV * z[o4]))
        if self._hall_ok:
            full_scale = self.config.hall_range_a * 100
            current_ca = round(self._current * 100.0 + CURRENT_NOISE_CA * z[o4 + 1])
            current_ca = max(-full_scale, min(full_scale, current_ca))
        else:
            current_ca = 0
        if self.config.climate_sensor:
            ambient_dc: int | None = round(self.climate.temperature_c(now) * 10.0 + AMBIENT_NOISE_DC * z[o4 + 2])
            humidity_dpct: int | None = round(
                self.climate.relative_humidity_pct(now) * 10.0 + HUMIDITY_NOISE_DPCT * z[o4 + 3]
            )
        else:
            ambient_dc = humidity_dpct = None
        insulation, insulation_status = self._insulation_reading()
        return StringMeasurement(
            voltage_cv=voltage_cv,
            current_ca=current_ca,
            hall_ok=self._hall_ok,
            ambient_dc=ambient_dc,
            humidity_dpct=humidity_dpct,
            relay_closed=self._relay_closed,
            cell_voltage_mv=tuple(voltages),
            cell_resistance_uohm=tuple(resistances),
            cell_temperature_dc=tuple(temperatures),
            cell_responded=(True,) * n,
            cell_balancing=tuple(self.bank.bled),
            insulation_kohm=insulation,
            insulation_status=insulation_status,
        )
