"""One simulated battery string with its BM-SS string master, BM-HS hall sensor and BM-TH.

The physics (sim.battery_model) runs on wall-clock UNIX time: `advance(now)` integrates from
the last call to `now`, `measure()` returns what the string master would report, in the scaled
integers of the field bus. Nothing here knows about a transport, so the same string can be
read in-process (`sim://`) or served as a Modbus RTU slave.

Cost matters (32 strings x 120 batteries every second): per-battery constants are precomputed
in plain lists and each step is a few list comprehensions. Large time jumps are integrated in
sub-steps (10 s during a discharge, 60 s while recharging or heating, 600 s in steady float)
with exact first-order updates, so advancing months is stable and takes well under a second.
Sub-steps also stop at every scheduled event boundary of the load profile.

Measurement noise is drawn from one table of standard normal values shared by all strings
(a random offset per reading kind per scan), so noise costs one slice instead of 360 calls
to random.gauss per string and scan.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from battery.site import MAX_BATTERIES_PER_STRING, StringConfig
from sim import battery_model as bm
from sim.faults import (
    ActiveFault,
    DeviceOffline,
    HallSensorDisconnected,
    OpenCell,
    SensorFault,
    SlowDevice,
    StringFault,
    ThermalRunaway,
    apply_sensor_faults,
)
from sim.load_profile import LoadProfile, Phase, UpsMode

DEMO_AGING_PER_DAY = 0.03  # the demo's aging battery: resistance +3 % of new per simulated day

# Standard deviations of the measurement noise, in counts (mV, µΩ, 0.1 °C, 0.01 V, 0.01 A).
VOLTAGE_NOISE_MV = 1.0
RESISTANCE_NOISE_UOHM = 3.0
TEMPERATURE_NOISE_DC = 0.6
STRING_VOLTAGE_NOISE_CV = 2.0
CURRENT_NOISE_CA = 2.0
AMBIENT_NOISE_DC = 0.5
HUMIDITY_NOISE_DPCT = 3.0

RUNAWAY_MAX_HEAT_W = 100.0  # a runaway cell's extra heat stops growing here (it dries out)
OPEN_CELL_RESISTANCE_UOHM = 65535  # the cell sensor's over-range reading: no current path

_MAX_STEP_DISCHARGE_S = 10.0
_MAX_STEP_TRANSIENT_S = 60.0
_MAX_STEP_STEADY_S = 600.0
_AGING_UPDATE_S = 60.0  # resistance and capacity are refreshed at most this often
_FULL_SOC = 0.9995  # above this on every battery the string is full (steady float)

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


def _clip(x: float, limit: float) -> float:
    return max(-limit, min(limit, x))


class SimulatedString:
    """A string of `config.battery.count` batteries in series, each with its own spread."""

    def __init__(
        self,
        config: StringConfig,
        seed: int,
        *,
        aging_cell: int | None = None,
        aging_per_day: float = DEMO_AGING_PER_DAY,
        climate: RoomClimate | None = None,
        load_profile: LoadProfile | None = None,
    ) -> None:
        battery = config.battery
        n = battery.count
        if not 1 <= n <= MAX_BATTERIES_PER_STRING:
            raise ValueError(f"string {config.id}: battery count must be 1..{MAX_BATTERIES_PER_STRING}, got {n}")
        if aging_cell is not None and not 1 <= aging_cell <= n:
            raise ValueError(f"string {config.id}: aging cell {aging_cell} is not in 1..{n}")
        self.config = config
        self.climate = climate or RoomClimate()
        self.load_profile = load_profile or LoadProfile()
        self._relay_closed = True
        self._rng = rng = random.Random(seed)
        self._n = n
        self._cells = cells = bm.cells_per_battery(battery.nominal_voltage)
        self._capacity_ah = cap = battery.capacity_ah
        r_new = bm.nominal_resistance_ohm(battery.nominal_voltage, cap)

        # Per-battery spread, drawn once: capacity ±2 %, resistance ±5 %,
        # share of the float voltage ±8 mV per cell (at most ±16).
        self._cap_new = [cap * (1.0 + _clip(rng.gauss(0.0, 0.02), 0.05)) for _ in range(n)]
        self._r_new = [r_new * (1.0 + _clip(rng.gauss(0.0, 0.05), 0.12)) for _ in range(n)]
        self._aging = [bm.NORMAL_AGING_PER_DAY * (0.5 + rng.random()) for _ in range(n)]
        if aging_cell is not None:
            self._aging[aging_cell - 1] = aging_per_day
        shares = [_clip(rng.gauss(0.0, 0.008), 0.016) * cells for _ in range(n)]
        mean_share = sum(shares) / n
        self._float_offset_v = [s - mean_share for s in shares]  # zero sum: the charger holds the total
        self._ocv_empty_v = [cells * bm.OCV_EMPTY_V + _clip(rng.gauss(0.0, 0.003), 0.008) * cells for _ in range(n)]
        self._ocv_slope_v = cells * (bm.OCV_FULL_V - bm.OCV_EMPTY_V)
        self._r = list(self._r_new)
        self._cap = list(self._cap_new)
        self._inv_cap = [1.0 / c for c in self._cap]
        self._rth = bm.thermal_resistance_k_per_w(cells, cap)

        self._soc = [1.0] * n
        self._soc_mean = 1.0
        self._full = True
        self._temp = [self.climate.mean_c] * n
        self._pol = 0.0  # polarization, V per 2 V cell
        self._current = 0.0
        self._i_float = 0.0
        self._state = _REGULATED
        self._bulk_fraction = 1.0
        self._vset_v = bm.FLOAT_V_PER_CELL * cells  # per battery
        self._regulated_v: list[float] = []
        self._regulated_for = -1.0
        self._cutoff = False  # the UPS shut down on low battery during this discharge

        self._now: float | None = None
        self._start: float | None = None
        self._aged_at = 0.0
        self._faults: list[ActiveFault] = []
        self._open_index: int | None = None
        self._runaways: list[tuple[int, float, float]] = []  # (index, W per hour, since)
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
        return tuple(self._soc)

    @property
    def cell_temperature_c(self) -> tuple[float, ...]:
        return tuple(self._temp)

    @property
    def cell_resistance_ohm(self) -> tuple[float, ...]:
        return tuple(self._r)

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
        self._now = self._start = self._aged_at = now
        self._faults = [ActiveFault(a.fault, now) if math.isnan(a.since) else a for a in self._faults]
        self._refresh_faults()  # also settles the state at `now`
        i_float = bm.float_current_a(self._capacity_ah, self.climate.temperature_c(now))
        warm = self.climate.temperature_c(now) + self._rth * i_float * self._vset_v
        self._temp = [warm] * self._n

    def _max_step(self, phase: Phase) -> float:
        if phase.mode is UpsMode.DISCHARGE:
            return _MAX_STEP_DISCHARGE_S
        if not self._full or self._runaways or abs(self._pol) > 0.005:
            return _MAX_STEP_TRANSIENT_S
        return _MAX_STEP_STEADY_S

    def _step(self, t: float, dt: float, phase: Phase) -> None:
        cells = self._cells
        cap = self._capacity_ah
        if t + dt - self._aged_at >= _AGING_UPDATE_S:
            self._age(t + dt)
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
            i_float = bm.float_current_a(cap, max(self._temp))
            if equalize:
                i_float *= bm.EQUALIZE_CURRENT_FACTOR
            i_float = min(i_float, bm.RECHARGE_LIMIT_C * cap)  # the charger delivers no more
            self._vset_v = (bm.EQUALIZE_V_PER_CELL if equalize else bm.FLOAT_V_PER_CELL) * cells
            demand = bm.charge_demand_a(cap, self._soc_mean, i_float)
            limit = bm.RECHARGE_LIMIT_C * cap
            if demand > limit:
                state, current, bulk_fraction = _BULK, limit, limit / demand
            else:
                state, current = _REGULATED, demand
        self._state, self._current, self._i_float = state, current, i_float
        self._bulk_fraction = bulk_fraction
        if dt <= 0.0:
            return

        self._pol = bm.relax(self._pol, bm.polarization_target_v(current, cap), dt, bm.POLARIZATION_TIME_CONSTANT_S)

        # State of charge: the float current only gasses, it does not charge.
        if current < 0.0:
            q = current * dt / 3600.0
        elif current > i_float and not self._full:
            q = (current - i_float) * bm.CHARGE_EFFICIENCY * dt / 3600.0
        else:
            q = 0.0
        if q < 0.0:
            socs = [s + q * ic for s, ic in zip(self._soc, self._inv_cap)]
            self._soc = [s if s > 0.0 else 0.0 for s in socs]  # faster than max() per battery
            self._full = False
            self._soc_mean = sum(self._soc) / self._n
        elif q > 0.0:
            socs = [s + q * ic for s, ic in zip(self._soc, self._inv_cap)]
            if min(socs) >= _FULL_SOC:
                self._soc = [1.0] * self._n
                self._full = True
            else:
                self._soc = [s if s < 1.0 else 1.0 for s in socs]
            self._soc_mean = sum(self._soc) / self._n

        if state == _DISCHARGE:
            r_mean = sum(self._r) / self._n
            v_cell = (
                bm.open_circuit_voltage(self._soc_mean, 1)
                - bm.knee_sag(self._soc_mean, 1)
                + self._pol
                + current * r_mean / cells
            )
            if v_cell < bm.CUTOFF_V_PER_CELL:
                self._cutoff = True

        # Temperature: exact first-order lag towards ambient + R_th x heat.
        rth = self._rth
        common_heat = abs(current) * abs(self._pol) * cells + i_float * self._vset_v
        base = self.climate.temperature_c(t) + rth * common_heat
        k2 = rth * current * current
        a = 1.0 - math.exp(-dt / bm.THERMAL_TIME_CONSTANT_S)
        temps = [tt + (base + k2 * r - tt) * a for tt, r in zip(self._temp, self._r)]
        for index, w_per_hour, since in self._runaways:
            extra_w = min(RUNAWAY_MAX_HEAT_W, w_per_hour * max(0.0, t + dt - since) / 3600.0)
            temps[index] += rth * extra_w * a
        self._temp = temps

    def _age(self, t: float) -> None:
        assert self._start is not None
        age_days = (t - self._start) / 86400.0
        self._r = [r * (1.0 + g * age_days) for r, g in zip(self._r_new, self._aging)]
        self._cap = [bm.aged_capacity_ah(c, r / rn) for c, r, rn in zip(self._cap_new, self._r, self._r_new)]
        self._inv_cap = [1.0 / c for c in self._cap]
        self._aged_at = t

    # ------------------------------------------------------------------ sensors

    def _true_cell_voltages(self) -> list[float]:
        state = self._state
        if state == _REGULATED:
            if self._regulated_for != self._vset_v:
                vset = self._vset_v
                self._regulated_v = [vset + off for off in self._float_offset_v]
                self._regulated_for = vset
            v = list(self._regulated_v)
        else:
            slope = self._ocv_slope_v
            pol = self._pol * self._cells
            i = self._current
            if state == _REST:
                v = [e + slope * s + pol for e, s in zip(self._ocv_empty_v, self._soc)]
            elif state == _BULK:
                f = self._bulk_fraction
                vset = self._vset_v
                v = [
                    b + (vset + off - b) * f
                    for b, off in zip(
                        (e + slope * s + pol + i * r for e, s, r in zip(self._ocv_empty_v, self._soc, self._r)),
                        self._float_offset_v,
                    )
                ]
            else:
                kd = bm.KNEE_DEPTH_V * self._cells
                ks = bm.KNEE_SOC
                v = [
                    e + slope * s + pol + i * r - (kd * ((ks - s) / ks) ** 2 if s < ks else 0.0)
                    for e, s, r in zip(self._ocv_empty_v, self._soc, self._r)
                ]
        if self._open_index is not None:
            v[self._open_index] = 0.0
        return v

    def measure(self) -> StringMeasurement:
        """One scan of the string master: cell sensors, hall sensor, BM-TH, with noise."""
        n = self._n
        rnd = self._rng.random
        z = _NOISE
        o1 = int(rnd() * _NOISE_SIZE)
        o2 = int(rnd() * _NOISE_SIZE)
        o3 = int(rnd() * _NOISE_SIZE)
        o4 = int(rnd() * _NOISE_SIZE)

        v = self._true_cell_voltages()
        sv = VOLTAGE_NOISE_MV
        voltages = [round(x * 1000.0 + sv * e) for x, e in zip(v, z[o1 : o1 + n])]
        sr = RESISTANCE_NOISE_UOHM
        resistances = [round(r * 1e6 + sr * e) for r, e in zip(self._r, z[o2 : o2 + n])]
        st = TEMPERATURE_NOISE_DC
        temperatures = [round(t * 10.0 + st * e) for t, e in zip(self._temp, z[o3 : o3 + n])]
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
        )
