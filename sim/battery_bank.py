"""The batteries of one simulated string: how each was made, and the state each is in.

A `BatteryBank` holds per-battery lists (capacity, resistance, diffusion, ageing rates, state
of charge, temperature ...) and advances them together by one step at a constant string
current, with the exact first-order updates of sim.battery_model. The string
(sim.string_model) decides the current, the charger and the faults; the bank is the physics of
the batteries themselves, and what sim.truth reads as ground truth.

Cost matters (32 strings x 120 batteries every second): plain lists and list comprehensions,
and a settled bank (full, rested) skips the charge update altogether.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from battery.site import BatteryType
from sim import battery_model as bm
from sim import battery_params as p

_FULL_SOC = 0.9995  # above this on every battery the string is full (steady float)
_SETTLED_D = 1e-6  # wells this close are at rest
_BALANCE_ON_S = 86400.0  # a bled battery's float share falls over about a day ...
_BALANCE_OFF_S = 3 * 86400.0  # ... and creeps back over a few days once the bleed stops


def _clip(x: float, limit: float) -> float:
    return max(-limit, min(limit, x))


def _spread(rng: random.Random, sigma: float) -> float:
    """1 + a normal deviation of relative size `sigma`, clipped: one battery's share of a spread."""
    return 1.0 + _clip(rng.gauss(0.0, sigma), p.SPREAD_CLIP_SIGMA * sigma)


class BatteryBank:
    def __init__(
        self,
        battery: BatteryType,
        rng: random.Random,
        temperature_c: float,
        *,
        resistance_rise_per_day: Mapping[int, float] | None = None,
    ) -> None:
        """`resistance_rise_per_day`: batteries (numbered from 1) ageing faster than normal, with
        their resistance rise per day at 25 °C; their capacity fade is drawn given that rise."""
        n = self.n = battery.count
        cells = self.cells = bm.cells_per_battery(battery.nominal_voltage)
        cap = self.rated_ah = battery.capacity_ah
        r_new = bm.nominal_resistance_ohm(battery.nominal_voltage, cap)

        self.cap_new = [cap * _spread(rng, p.CAPACITY_SPREAD) for _ in range(n)]
        self.r_new = [r_new * _spread(rng, p.RESISTANCE_SPREAD) for _ in range(n)]
        rates = [bm.ageing_rates(rng) for _ in range(n)]
        self.rise = [r for r, _ in rates]
        self.fade = [f for _, f in rates]
        for cell, per_day in sorted((resistance_rise_per_day or {}).items()):
            if not 1 <= cell <= n:
                raise ValueError(f"ageing battery {cell} is not in 1..{n}")
            self.rise[cell - 1] = per_day * 365.25
            self.fade[cell - 1] = bm.fade_for_rise(per_day * 365.25, rng)
        spread_c = p.KIBAM_AVAILABLE_SPREAD
        self.c = [p.KIBAM_AVAILABLE_FRACTION + _clip(rng.gauss(0.0, spread_c), p.SPREAD_CLIP_SIGMA * spread_c)
                  for _ in range(n)]  # fmt: skip
        self.tau = [p.KIBAM_TIME_CONSTANT_S * _spread(rng, p.KIBAM_TIME_CONSTANT_SPREAD) for _ in range(n)]
        self.self_discharge = [max(0.1, _spread(rng, p.SELF_DISCHARGE_SPREAD)) for _ in range(n)]
        sigma = p.FLOAT_SHARE_SPREAD_V_PER_CELL
        shares = [_clip(rng.gauss(0.0, sigma), 2 * sigma) * cells for _ in range(n)]
        mean_share = sum(shares) / n
        self.float_share_v = [s - mean_share for s in shares]  # zero sum: the charger holds the total
        ocv_spread = p.OCV_SPREAD_V
        self.ocv_empty_v = [cells * p.OCV_EMPTY_V + _clip(rng.gauss(0.0, ocv_spread), 2.5 * ocv_spread) * cells
                            for _ in range(n)]  # fmt: skip
        self.ocv_slope_v = cells * (p.OCV_FULL_V - p.OCV_EMPTY_V)
        self._tau_over_c = [t / c for t, c in zip(self.tau, self.c)]
        self._bound = [1.0 - c for c in self.c]
        # Rated capacity is what a battery delivers at the 10-hour rate and 25 °C; it stores more.
        self.reserve = [
            bm.reference_reserve(e / cells, c, t, r / cells, q)
            for e, c, t, r, q in zip(self.ocv_empty_v, self.c, self.tau, self.r_new, self.cap_new)
        ]
        self.stored_new = [q / (1.0 - u) for q, u in zip(self.cap_new, self.reserve)]

        self.age_years = [0.0] * n  # equivalent years at 25 °C
        self.r = list(self.r_new)  # full, 25 °C
        self.cap = list(self.stored_new)  # charge stored when full (Ah)
        self.soc = [1.0] * n
        self.d = [0.0] * n  # bound well above the available one, fraction of capacity
        self.h = [1.0] * n  # hysteresis branch: floating batteries sit on the charge branch
        self.temp = [temperature_c] * n
        self.bled = [False] * n  # the BM-CS balancing bleed is on
        self.bleed_v = [0.0] * n  # per cell, how far the bleed has pulled the float share down
        self.full = True
        self._settled = True
        self.gap = 0.0  # largest |d|: how far the wells are from even
        self._soc_mean, self._soc_mean_of = 1.0, self.soc
        self._float_v: list[float] = []
        self._float_for: tuple = ()
        self._resistance: list[float] = []
        self._resistance_for: tuple = ()  # the state lists (by identity) _resistance was computed from
        self._dt_cached = -1.0
        self._decay: list[float] = []

    # ------------------------------------------------------------------ derived state

    @property
    def soc_mean(self) -> float:
        if self._soc_mean_of is not self.soc:
            self._soc_mean, self._soc_mean_of = sum(self.soc) / self.n, self.soc
        return self._soc_mean

    def rated_soc(self) -> list[float]:
        """The true SOC by the rating's definition: the charge each battery would still deliver at
        the 10-hour rate and 25 °C, over what it delivers from full (0..1)."""
        return [min(1.0, max(0.0, (s - u) / (1.0 - u))) for s, u in zip(self.soc, self.reserve)]

    def rated_capacity_ah(self) -> list[float]:
        """What each battery delivers from full at the 10-hour rate and 25 °C, as it has aged."""
        return [q * (1.0 - u) for q, u in zip(self.cap, self.reserve)]

    def available(self) -> list[float]:
        return [s - b * d for s, b, d in zip(self.soc, self._bound, self.d)]

    def resistance_now(self, available: list[float] | None = None) -> list[float]:
        """Each battery's resistance as it is now (higher when empty or cold): what a BM-CS reads.
        Kept until the state changes: in float a scan reads the same values many times."""
        if available is None and self._resistance_for == (self.soc, self.d, self.temp, self.r):
            return self._resistance
        a = available if available is not None else self.available()
        rise, cold = p.RESISTANCE_EMPTY_RISE, p.RESISTANCE_COLD_PER_K
        t_ref = p.REFERENCE_TEMPERATURE_C
        values = [
            r * (1.0 + rise * (1.0 - x) ** 2 if x < 1.0 else 1.0) * (1.0 + cold * (t_ref - t) if t < t_ref else 1.0)
            for r, x, t in zip(self.r, a, self.temp)
        ]
        if available is None:
            self._resistance, self._resistance_for = values, (self.soc, self.d, self.temp, self.r)
        return values

    def unregulated_voltages(self, current_a: float, polarization_v: float) -> list[float]:
        """Terminal voltages at a current the batteries set themselves (discharge, rest, bulk)."""
        a = self.available()
        slope, cells = self.ocv_slope_v, self.cells
        hyst = p.OCV_HYSTERESIS_V_PER_CELL * cells
        pol = polarization_v * cells
        if current_a == 0.0:
            return [e + slope * x + hyst * h + pol for e, x, h in zip(self.ocv_empty_v, a, self.h)]
        kd, ks = p.KNEE_DEPTH_V * cells, p.KNEE_SOC
        reserve = [bm.cold_reserve(t) for t in self.temp] if min(self.temp) < p.REFERENCE_TEMPERATURE_C else None
        v = []
        for e, x, h, r, k in zip(self.ocv_empty_v, a, self.h, self.resistance_now(a), range(self.n)):
            y = x - reserve[k] if reserve is not None else x
            knee = kd * min(1.0, (ks - y) / ks) ** 2 if y < ks else 0.0
            v.append(e + slope * x + hyst * h + pol + current_a * r - knee)
        return v

    def float_voltages(self, set_point_v: float) -> list[float]:
        """At the charger's set point each battery floats at its own share (a bled one lower)."""
        if self._float_for != (set_point_v, self.bleed_v):
            cells = self.cells
            shares = [s - b * cells for s, b in zip(self.float_share_v, self.bleed_v)]
            mean = sum(shares) / self.n
            self._float_v, self._float_for = [set_point_v + s - mean for s in shares], (set_point_v, self.bleed_v)
        return list(self._float_v)

    # ------------------------------------------------------------------ steps

    def _decays(self, dt: float) -> list[float]:
        if dt != self._dt_cached:
            self._decay = [math.exp(-dt / t) for t in self.tau]
            self._dt_cached = dt
        return self._decay

    def flow(self, current_a: float, float_current_a: float, dt: float) -> None:
        """Charge or discharge every battery by the string current (+ charge) for `dt` seconds.

        The float current only gasses, it does not charge; the charge above it is stored with
        an efficiency that falls in the gassing region."""
        if current_a < 0.0:
            effective: list[float] | None = [current_a] * self.n
        elif current_a > float_current_a and not self.full:
            extra = current_a - float_current_a
            effective = [extra * bm.charge_efficiency(s) for s in self.soc]
        else:
            effective = None
        if effective is None:
            if not self._settled:
                decay = self._decays(dt)
                self.d = [d * e for d, e in zip(self.d, decay)]
                self.gap = max(map(abs, self.d))
                self._settled = self.gap < _SETTLED_D
            return
        self._settled = False
        self.gap = 1.0  # unknown until the next rest step: moving
        decay = self._decays(dt)
        hours = dt / 3600.0
        k = [i / (3600.0 * q) for i, q in zip(effective, self.cap)]  # fraction of capacity per second
        d_inf = [-ki * tc for ki, tc in zip(k, self._tau_over_c)]
        self.d = [di + (d - di) * e for d, di, e in zip(self.d, d_inf, decay)]
        socs = [s + ki * dt for s, ki in zip(self.soc, k)]
        frac = p.HYSTERESIS_CHARGE_FRACTION
        target = 1.0 if current_a > 0.0 else -1.0
        self.h = [target + (h - target) * math.exp(-abs(i) * hours / (frac * q))
                  for h, i, q in zip(self.h, effective, self.cap)]  # fmt: skip
        if current_a < 0.0:
            self.soc = [s if s > 0.0 else 0.0 for s in socs]
            self.full = False
            return
        # Charging: the available well cannot rise above full; what diffusion has not yet
        # carried into the bound well waits (the taper of the charger's constant-voltage phase).
        socs = [min(s, 1.0 + b * d, 1.0) for s, b, d in zip(socs, self._bound, self.d)]
        if min(socs) >= _FULL_SOC:
            self.soc = [1.0] * self.n
            self.full = True
        else:
            self.soc = socs

    def rest(self, dt: float) -> None:
        """No current: the wells even out and every battery loses its self-discharge."""
        self.flow(0.0, 0.0, dt)
        base = bm.self_discharge_per_s(20.0) * dt
        doubling = p.SELF_DISCHARGE_DOUBLING_K
        self.soc = [
            max(0.0, s - base * f * 2.0 ** ((t - 20.0) / doubling))
            for s, f, t in zip(self.soc, self.self_discharge, self.temp)
        ]
        self.full = False

    def balance(self, regulated: bool, dt: float) -> None:
        """The BM-CS bleed: on above the start threshold, off below the stop threshold."""
        if not regulated:
            if any(self.bled):
                self.bled = [False] * self.n
            if max(self.bleed_v) <= 0.0:
                return
        cells = self.cells
        shares = [s / cells - b for s, b in zip(self.float_share_v, self.bleed_v)]
        mean = sum(shares) / self.n
        if regulated:
            start, stop = p.BALANCE_START_V_PER_CELL, p.BALANCE_STOP_V_PER_CELL
            self.bled = [x - mean > (stop if on else start) for x, on in zip(shares, self.bled)]
        on_decay = math.exp(-dt / _BALANCE_ON_S)
        off_decay = math.exp(-dt / _BALANCE_OFF_S)
        full_bleed = p.BALANCE_BLEED_V_PER_CELL
        self.bleed_v = [
            full_bleed + (b - full_bleed) * on_decay if on else b * off_decay for b, on in zip(self.bleed_v, self.bled)
        ]

    def heat(self, ambient_c: float, rth: float, common_w: float, current_a: float, extra_w: Mapping[int, float],
             dt: float) -> None:  # fmt: skip
        """Temperatures: exact first-order lag towards ambient + R_th x (shared heat + I²R + extra)."""
        base = ambient_c + rth * common_w
        k2 = rth * current_a * current_a
        a = 1.0 - math.exp(-dt / p.THERMAL_TIME_CONSTANT_S)
        temps = [t + (base + k2 * r - t) * a for t, r in zip(self.temp, self.r)]
        for index, watts in extra_w.items():
            temps[index] += rth * watts * a
        self.temp = temps

    def age(self, dt: float) -> None:
        """Ageing for `dt` seconds at each battery's own temperature (bm.aged_resistance_ohm and
        bm.aged_capacity_ah, inlined: this runs for every battery of every string)."""
        years = dt / bm.SECONDS_PER_YEAR
        doubling, t_ref = p.AGEING_DOUBLING_K, p.REFERENCE_TEMPERATURE_C
        self.age_years = [a + years * 2.0 ** ((t - t_ref) / doubling) for a, t in zip(self.age_years, self.temp)]
        self.r = [r * (1.0 + g * a) for r, g, a in zip(self.r_new, self.rise, self.age_years)]
        floor = p.MIN_CAPACITY_FRACTION
        self.cap = [
            c * (1.0 - f * a if f * a < 1.0 - floor else floor)
            for c, f, a in zip(self.stored_new, self.fade, self.age_years)
        ]
