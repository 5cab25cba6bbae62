"""The hardware a topology needs and its power-supply budget (`btms bom`).

The ordering rules are those of seed 003 ("BTMS hardware ordering rules"); each line of
the bill says which rule and which part of the topology produced it, so an installer can
check it against the site. Everything here is a pure function of a loaded `Topology`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from battery.site import MAX_STRINGS_PER_GATEWAY, StringConfig, Topology

DESCRIPTIONS = {
    "BM-GW": "BTMS IOT Gateway",
    "PS-30-12": "BM-GW Power supply (12 V, 30 W)",
    "BM-SS": "BTMS String master",
    "BM-HS": "BTMS Hall sensor",
    "BM-CS": "BTMS Cell sensor",
    "PS-60-24": "BTMS Power supply (24 V, 60 W)",
    "BM-MC": "BTMS Master controller",
    "BM-LC": "BTMS IO expansion module (8 in, 8 out)",
    "BM-TH": "BTMS Temperature and humidity sensor",
    "BM-GS": "BTMS Insulation monitoring sensor",
    "COM-PGM": "BTMS COM module",
}

# Nominal consumption of each powered device, in W. ASSUMPTIONS: the product documents give
# no figures except for the cell sensors (< 90/110 mW, powered from the battery they
# measure, so they are not on a supply's budget). Replace these with data-sheet values.
NOMINAL_POWER_W = {
    "BM-GW": 6.0,  # on its own PS-30-12
    "BM-SS": 1.5,
    "BM-HS": 0.8,  # counted on the 24 V supply even when fed through its string master
    "BM-MC": 2.0,
    "BM-LC": 2.5,  # logic plus all 8 relays energised (worst case)
    "BM-TH": 0.3,
    "BM-GS": 1.0,
    "COM-PGM": 1.0,
}
POWERED_FROM_24V = ("BM-SS", "BM-HS", "BM-MC", "BM-LC", "BM-TH", "BM-GS", "COM-PGM")
POWERED_FROM_12V = ("BM-GW",)

SUPPLY_RATED_W = {"PS-60-24": 60.0, "PS-30-12": 30.0}
# A supply is loaded to at most 80 % of its rating: continuous duty in a warm UPS room and
# ageing of the electrolytic capacitors (a common design margin; an assumption, see above).
SUPPLY_LOAD_FACTOR = 0.8

# The order of seed 003's table: basic devices, then the optional ones.
SEED_ORDER = ("BM-GW", "BM-SS", "BM-HS", "BM-CS", "PS-60-24", "PS-30-12",
              "BM-MC", "BM-LC", "BM-TH", "BM-GS", "COM-PGM")  # fmt: skip

STRINGS_PER_LC = 8  # "1 x BM-LC for up to 8 strings" (seed 003)
GS_PER_COM = 16  # "1 x BM-COM for up to 16" (seed 003), counted per BM-GS that needs it


@dataclass(frozen=True)
class BomLine:
    code: str
    description: str
    quantity: int
    why: str


@dataclass(frozen=True)
class PowerLoad:
    """How much one kind of device draws from a supply."""

    code: str
    quantity: int
    each_w: float

    @property
    def total_w(self) -> float:
        return self.quantity * self.each_w


@dataclass(frozen=True)
class SupplyBudget:
    """The devices on one kind of supply, and how many supplies they need."""

    supply: str  # "PS-60-24" or "PS-30-12"
    rated_w: float
    load_factor: float
    loads: tuple[PowerLoad, ...]
    count: int

    @property
    def total_w(self) -> float:
        return sum(load.total_w for load in self.loads)

    @property
    def usable_w(self) -> float:
        return self.count * self.rated_w * self.load_factor

    @property
    def headroom_w(self) -> float:
        """Power left before the supplies reach their load limit."""
        return self.usable_w - self.total_w


@dataclass(frozen=True)
class BillOfMaterials:
    gateway: str
    lines: tuple[BomLine, ...]
    budgets: tuple[SupplyBudget, ...]

    def quantity(self, code: str) -> int:
        """How many of a device the site needs, over all its lines (0 when none)."""
        return sum(line.quantity for line in self.lines if line.code == code)


def supplies_needed(load_w: float, rated_w: float, load_factor: float = SUPPLY_LOAD_FACTOR) -> int:
    """Supplies that carry `load_w` without loading any beyond `load_factor`; at least one."""
    if load_w < 0 or rated_w <= 0 or not 0 < load_factor <= 1:
        raise ValueError(f"bad supply budget: load {load_w} W, rating {rated_w} W, factor {load_factor}")
    return max(1, math.ceil(round(load_w / (rated_w * load_factor), 9)))


def bill_of_materials(t: Topology) -> BillOfMaterials:
    strings = t.strings
    mc = t.master_controller
    n_strings = len(strings)
    climate = [s.id for s in strings if s.climate_sensor]
    insulation = [s.id for s in strings if s.insulation_sensor]
    lines: list[BomLine] = []

    def add(code: str, quantity: int, why: str, description: str | None = None) -> None:
        if quantity > 0:
            lines.append(BomLine(code, description or DESCRIPTIONS[code], quantity, why))

    n_gw = max(1, math.ceil(n_strings / MAX_STRINGS_PER_GATEWAY))
    add("BM-GW", n_gw, f"1 per up to {MAX_STRINGS_PER_GATEWAY} strings ({n_strings} strings)")
    add("BM-SS", n_strings, f"1 per string ({_names(s.id for s in strings)})")
    by_range = Counter(s.hall_range_a for s in strings)
    for range_a in sorted(by_range):
        ids = _names(s.id for s in strings if s.hall_range_a == range_a)
        add("BM-HS", by_range[range_a], f"1 per string ({ids})", f"{DESCRIPTIONS['BM-HS']}, {range_a} A range")
    for volts in sorted({s.battery.nominal_voltage for s in strings}):
        typed = [s for s in strings if s.battery.nominal_voltage == volts]
        batteries = sum(s.battery.count for s in typed)
        add(
            "BM-CS",
            batteries,
            f"1 per battery ({_battery_counts(typed)})",
            f"{DESCRIPTIONS['BM-CS']} for {volts} V batteries",
        )

    needs_mc = [why for why, used in (
        ("configured in the topology", mc is not None),
        ("required by BM-TH", bool(climate)),
        ("required by BM-GS", bool(insulation)),
    ) if used]  # fmt: skip
    add("BM-MC", 1 if needs_mc else 0, f"1 per gateway: {', '.join(needs_mc)}")
    n_lc = _io_modules_needed(t)
    add("BM-LC", n_lc, _io_modules_why(t, n_lc))
    add("BM-TH", len(climate), f"1 per string with climate_sensor ({_names(climate)})")
    add("BM-GS", len(insulation), f"1 per string with insulation_sensor ({_names(insulation)})")
    n_com = math.ceil(len(insulation) / GS_PER_COM)
    add("COM-PGM", n_com, f"1 per up to {GS_PER_COM} BM-GS ({len(insulation)} BM-GS)")

    quantities = Counter[str]()
    for line in lines:
        quantities[line.code] += line.quantity
    budget_24 = _budget("PS-60-24", POWERED_FROM_24V, quantities)
    budget_12 = _budget("PS-30-12", POWERED_FROM_12V, quantities, minimum=n_gw)
    add("PS-60-24", budget_24.count, f"by consumption: {budget_24.total_w:.1f} W of 24 V devices")
    add("PS-30-12", budget_12.count, f"1 per BM-GW ({budget_12.total_w:.1f} W)")
    lines.sort(key=lambda line: SEED_ORDER.index(line.code))  # stable: HS/CS types keep their order
    return BillOfMaterials(gateway=t.gateway.id, lines=tuple(lines), budgets=(budget_24, budget_12))


def _io_modules_needed(t: Topology) -> int:
    """The configured BM-LC modules, or 1 per 8 strings with a disconnect output if more."""
    mc = t.master_controller
    if mc is None:
        return 0
    disconnected = {o.string for o in mc.outputs if o.function == "disconnect"}
    return max(len(mc.io_modules), math.ceil(len(disconnected) / STRINGS_PER_LC))


def _io_modules_why(t: Topology, n: int) -> str:
    mc = t.master_controller
    if mc is None or n == 0:
        return ""
    parts = []
    for m in mc.io_modules:
        outs = Counter(o.function for o in mc.outputs if o.module == m.id)
        ins = sum(1 for i in mc.inputs if i.module == m.id)
        used = [f"{v} {k}" for k, v in sorted(outs.items())] + ([f"{ins} input(s)"] if ins else [])
        parts.append(f"{m.id}: {', '.join(used) or 'unused'}")
    return f"configured, 1 per up to {STRINGS_PER_LC} disconnected strings ({'; '.join(parts)})"


def _budget(supply: str, codes: tuple[str, ...], quantities: Counter[str], minimum: int = 1) -> SupplyBudget:
    loads = tuple(PowerLoad(c, quantities[c], NOMINAL_POWER_W[c]) for c in codes if quantities[c])
    total = sum(load.total_w for load in loads)
    count = max(minimum, supplies_needed(total, SUPPLY_RATED_W[supply]))
    return SupplyBudget(supply, SUPPLY_RATED_W[supply], SUPPLY_LOAD_FACTOR, loads, count)


def _names(ids: Iterable[str], limit: int = 6) -> str:
    """Ids for a "why" column, shortened for big sites."""
    names = list(ids)
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[: limit - 1])}, ... {len(names)} in all"


def _battery_counts(strings: list[StringConfig]) -> str:
    counts = Counter(s.battery.count for s in strings)
    return " + ".join(f"{n} string{'s' if n > 1 else ''} x {c}" for c, n in sorted(counts.items()))


def format_bill_of_materials(bom: BillOfMaterials) -> str:
    """The bill as a plain-text table, then the power budget of each kind of supply."""
    rows = [("code", "description", "qty", "why")]
    rows += [(line.code, line.description, str(line.quantity), line.why) for line in bom.lines]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    out = [f"Hardware for gateway {bom.gateway}", ""]
    for code, desc, qty, why in rows:
        out.append(f"{code:<{w[0]}}  {desc:<{w[1]}}  {qty:>{w[2]}}  {why}".rstrip())
    for b in bom.budgets:
        out += ["", f"Power budget on {b.supply} ({b.rated_w:.0f} W each, loaded to at most {b.load_factor:.0%})"]
        out.append(f"{'device':<10}{'each':>9}{'qty':>6}{'total':>10}")
        for load in b.loads:
            out.append(f"{load.code:<10}{load.each_w:>7.1f} W{load.quantity:>6}{load.total_w:>8.1f} W")
        out.append(f"{'total':<25}{b.total_w:>8.1f} W")
        out.append(
            f"{b.supply} needed: {b.count} (usable {b.usable_w:.1f} W of {b.count * b.rated_w:.0f} W rated); "
            f"headroom {b.headroom_w:.1f} W ({b.headroom_w / b.usable_w:.0%} of usable)"
        )
    out += [
        "",
        "Consumptions are nominal assumptions (topology/bom.py, NOMINAL_POWER_W): replace them",
        "with data-sheet values. BM-CS cell sensors are powered by their own battery.",
        "Not derived from a topology: BM-AG (several gateways), BM-HMI / BM-C-A1 / CAD-232-A2-IQ (local display).",
    ]
    return "\n".join(out)
