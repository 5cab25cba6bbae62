"""Shared builders of the tests (and the benchmarks): sites, statuses, stored history, alarms.

Every test module takes its builders from here; no test module imports another.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.codes import ChargeState, Health
from battery.site import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    InputConfig,
    IoModuleConfig,
    MasterControllerConfig,
    ModbusTcpConfig,
    OutputConfig,
    ServicesConfig,
    SnmpConfig,
    StringConfig,
    Topology,
    UpsConfig,
)
from battery.status import StringStatus, UpsStatus
from tests.support import run_apart

DAY = 86_400


T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC, a day boundary


def make_status(
    string_id: str = "S1",
    index: int = 1,
    ts: float = T0,
    cells: int = 4,
    *,
    ups_id: str = "U1",
    stale: bool = False,
    state: ChargeState = ChargeState.FLOAT,
    voltage_mv: int = 13500,
    current_a: float = 0.2,
    rng: random.Random | None = None,
    no_response: tuple[int, ...] = (),
    voltage_v: float = 27.1,
    soc_pct: float = 90.0,
) -> StringStatus:
    """A string scan with `cells` cells; cell i (1-based) has resistance 4000+i µΩ."""
    r = rng or random.Random(0)
    return StringStatus(
        string_id=string_id,
        ups_id=ups_id,
        index=index,
        scan_no=0,
        timestamp=ts,
        health=Health.STALE if stale else Health.OK,
        voltage_v=voltage_v,
        current_a=current_a,
        state=state,
        soc_pct=soc_pct,
        soh_pct=99.0,
        balance_pct=1.2,
        ambient_c=22.5,
        humidity_pct=None,
        hall_ok=True,
        relay_closed=True,
        cell_health=tuple(Health.STALE if i + 1 in no_response else Health.OK for i in range(cells)),
        cell_faults=tuple(1 if i + 1 in no_response else 0 for i in range(cells)),
        cell_voltage_mv=tuple(voltage_mv + r.randint(-1, 1) for _ in range(cells)),
        cell_resistance_uohm=tuple(4000 + i + 1 for i in range(cells)),
        cell_temperature_dc=tuple(250 for _ in range(cells)),
        cell_soc_pct=tuple(90 for _ in range(cells)),
        cell_soh_pct=tuple(99 for _ in range(cells)),
        # a discharging scan belongs to a discharge event (the string master's detector)
        discharge_started_at=ts if state == ChargeState.DISCHARGE else None,
    )


def write_past_days(
    storage_dir: Path,
    strings: list[tuple[str, int, str]],
    days: int,
    step_s: float = 60.0,
    cells: int = 4,
    hot_days: int = 1,
) -> list[int]:
    """`days` whole UTC days of scans ending yesterday, stored as a running gateway leaves them.

    strings: (string id, index, UPS id) as the topology numbers them. Every day but the last
    `hot_days` is compacted into its cold month and its hot file deleted. Returns the days.
    """
    from storage.history import schema
    from storage.history.compactor import compact_day
    from storage.history.writer import HistoryWriter

    today = schema.day_of(time.time())
    written = list(range(today - days, today))

    async def write() -> None:
        w = HistoryWriter(storage_dir, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        rng = random.Random(days)
        for day in written:
            for i in range(int(DAY / step_s)):
                for string_id, index, ups_id in strings:
                    w.submit_string(
                        make_status(
                            string_id,
                            index,
                            day * DAY + i * step_s,
                            cells,
                            ups_id=ups_id,
                            current_a=-12.5 if i % 60 == 0 else 0.2,
                            rng=rng,
                        )
                    )
            await w.flush()
        await w.close()

    run_apart(write())
    for day in written[: len(written) - hot_days]:
        compact_day(storage_dir, day)
        schema.hot_path(storage_dir, day).unlink()
    return written


def write_discharge(
    storage_dir: Path,
    string: tuple[str, int, str],
    start: float,
    end: float,
    step_s: float = 20.0,
    cells: int = 4,
) -> None:
    """A discharge event of `string` (id, index, UPS id) from `start` to `end`, as the writer stores it.

    40 A out of the string, its voltage falling by 3 V, its cells' by 1.5 V (cell k 10 mV more
    than cell k-1) and SOC from 90 % to 30 %; a float scan at `end` ends the event. Write it
    into days that are not compacted (today, or the hot days of write_past_days).
    """
    from storage.history.writer import HistoryWriter

    string_id, index, ups_id = string

    def scan(t: float) -> StringStatus:
        p = (t - start) / (end - start)
        if p >= 1:
            return make_status(string_id, index, t, cells, ups_id=ups_id)
        status = make_status(
            string_id,
            index,
            t,
            cells,
            ups_id=ups_id,
            state=ChargeState.DISCHARGE,
            current_a=-40.0,
            voltage_v=round(27.1 - 3 * p, 2),
            soc_pct=round(90 - 60 * p),
        )
        base = round(13500 - 1500 * p)
        return replace(status, cell_voltage_mv=tuple(base + 10 * k for k in range(cells)))

    async def write() -> None:
        w = HistoryWriter(storage_dir, commit_interval_s=3600, housekeeping_interval_s=1e9, compact=False)
        await w.open()
        t = start
        while t <= end:
            w.submit_string(scan(min(t, end)))
            t = end if t < end < t + step_s else t + step_s
        await w.flush()
        await w.close()

    run_apart(write())


def sample_topology(
    upses: int = 2,
    strings_per_ups: int = 2,
    cells: int = 4,
    modbus: ModbusTcpConfig | None = None,
    snmp: SnmpConfig | None = None,
) -> Topology:
    """UPS k has strings k*strings_per_ups+1...; string ids "s<index>", UPS ids "ups<index>"."""
    ups_list = []
    for u in range(1, upses + 1):
        strings = tuple(
            StringConfig(
                id=f"s{i}",
                index=i,
                name=f"String {i}",
                ups_id=f"ups{u}",
                bus="bus1",
                address=i,
                battery=BatteryType(nominal_voltage=12, capacity_ah=100.0, count=cells),
                hall_range_a=300,
                climate_sensor=(i % 2 == 1),
                insulation_sensor=(i % 2 == 1),
            )
            for i in range((u - 1) * strings_per_ups + 1, u * strings_per_ups + 1)
        )
        ups_list.append(UpsConfig(id=f"ups{u}", index=u, name=f"UPS {u}", strings=strings))
    return Topology(
        gateway=GatewayConfig(id="gw", name="Test gateway"),
        buses=(BusConfig(id="bus1", port="sim://bus1"),),
        upses=tuple(ups_list),
        services=ServicesConfig(
            modbus=modbus or ModbusTcpConfig(host="127.0.0.1", port=0),
            snmp=snmp or SnmpConfig(enabled=True, host="127.0.0.1", port=0, read_community="public"),
        ),
    )


def sample_string_status(
    topology: Topology,
    string_id: str,
    scan_no: int = 1,
    health: Health = Health.OK,
    seed: int = 0,
    timestamp: float | None = None,
) -> StringStatus:
    """A plausible status whose values depend on the string index, the cell and `seed`."""
    cfg = topology.string(string_id)
    n = cfg.battery.count
    i = cfg.index
    return StringStatus(
        string_id=cfg.id,
        ups_id=cfg.ups_id,
        index=i,
        scan_no=scan_no,
        timestamp=time.time() if timestamp is None else timestamp,
        health=health,
        voltage_v=13.5 * n + i / 100 + seed / 100,
        current_a=-(12.34 + i + seed),  # discharging: negative
        state=ChargeState.DISCHARGE,
        soc_pct=80.0 + i / 10,
        soh_pct=95.0,
        balance_pct=98.76,
        ambient_c=(-5.5 - i) if cfg.climate_sensor else None,
        humidity_pct=(40.0 + i / 10) if cfg.climate_sensor else None,
        hall_ok=True,
        relay_closed=True,
        cell_health=tuple(int(Health.OK) for _ in range(n)),
        cell_faults=tuple(0 for _ in range(n)),
        cell_voltage_mv=tuple(13_500 + 10 * c + i + seed for c in range(n)),
        cell_resistance_uohm=tuple(70_000 + 100 * c + i + seed for c in range(n)),  # 70 mΩ: above 65535
        cell_temperature_dc=tuple(-50 + 3 * c + i for c in range(n)),  # some below 0 °C
        cell_soc_pct=tuple((80 + c) % 101 for c in range(n)),
        cell_soh_pct=tuple((90 + c) % 101 for c in range(n)),
        runtime_min=42.0 + i,
        soh_method="resistance",
        discharge_started_at=(time.time() if timestamp is None else timestamp) - 60.0,
        insulation_kohm=(500.0 + i) if cfg.insulation_sensor else None,
    )


def sample_ups_status(topology: Topology, ups_id: str, health: Health = Health.OK) -> UpsStatus:
    cfg = topology.ups(ups_id)
    return UpsStatus(
        ups_id=cfg.id,
        index=cfg.index,
        timestamp=time.time(),
        health=health,
        voltage_v=54.32 + cfg.index,
        current_a=-(100.5 + cfg.index),
        soc_pct=81.4,
        string_ids=tuple(s.id for s in cfg.strings),
        runtime_min=37.4 + cfg.index,
        on_battery_since=time.time() - 60.0,
    )


def alarm_topology() -> Topology:
    strings = tuple(
        StringConfig(
            id=f"s{i}",
            index=i,
            name=f"String {i}",
            ups_id="u1",
            bus="b1",
            address=i,
            battery=BatteryType(12, 100.0, 20),
            hall_range_a=200,
            climate_sensor=False,
        )
        for i in (1, 2)
    )
    mc = MasterControllerConfig(
        bus="b1",
        address=50,
        io_modules=(IoModuleConfig("lc1", 60),),
        outputs=(OutputConfig("lc1", 1, "disconnect", "s1"), OutputConfig("lc1", 8, "siren")),
    )
    return Topology(
        gateway=GatewayConfig("gw", "Test"),
        buses=(BusConfig("b1", "sim://b1"),),
        upses=(UpsConfig("u1", 1, "UPS 1", strings),),
        master_controller=mc,
    )


def raised_alarm(kind="cell_voltage_high", string="s1", cell=5, t=100.0) -> AlarmRaised:
    return AlarmRaised(kind, "u1", string, cell, 15000, 14700, t)


def site_topology() -> Topology:
    def string(index, ups, bus, address, count=24):
        return StringConfig(
            id=f"S{index}",
            index=index,
            name=f"String {index}",
            ups_id=ups,
            bus=bus,
            address=address,
            battery=BatteryType(12, 100.0, count),
            hall_range_a=300,
            climate_sensor=index != 3,
        )

    return Topology(
        gateway=GatewayConfig(id="gw", name="Test"),
        buses=(BusConfig(id="bus1", port="sim://site-test"), BusConfig(id="bus2", port="sim://site-test")),
        upses=(
            UpsConfig(id="U1", index=1, name="UPS 1", strings=(string(1, "U1", "bus1", 1), string(2, "U1", "bus1", 2))),
            UpsConfig(id="U2", index=2, name="UPS 2", strings=(string(3, "U2", "bus2", 5, count=6),)),
        ),
        master_controller=MasterControllerConfig(
            bus="bus1",
            address=100,
            io_modules=(IoModuleConfig(id="lc1", address=101),),
            outputs=(
                OutputConfig(module="lc1", output=1, function="disconnect", string="S1"),
                OutputConfig(module="lc1", output=2, function="disconnect", string="S2"),
                OutputConfig(module="lc1", output=8, function="siren"),
            ),
            inputs=(
                InputConfig(module="lc1", input=3, alarm="leakage", string="S2"),
                InputConfig(module="lc1", input=4, alarm="fire"),
            ),
        ),
    )


async def book_alarm_store(path, posted, clock=lambda: 1000.0):
    """An AlarmStore on `path` and the AlarmManager's book over it, started; notices go to `posted`."""
    from actors.site.alarm_manager import AlarmBook
    from storage.alarm_store import AlarmStore

    store = await AlarmStore.open(path)
    book = AlarmBook(store, alarm_topology(), posted.append, ("cell_voltage_high", "cell_temperature_high"), clock)
    await book.start()
    return store, book


def cleared_alarm(kind="cell_voltage_high", string="s1", cell=5, t=200.0) -> AlarmCleared:
    """The clear of `raised_alarm`'s alarm."""
    return AlarmCleared(kind, "u1", string, cell, 14000, 14700, t)


def ui_context(topology: Topology, storage_dir: Path):
    """The web UI's context over a storage directory, with every store (no actor tree)."""
    from storage.history.reader import HistoryReader
    from web.routes_alarms import AlarmAccess
    from web.session.store import SessionStore
    from web.site_view import SiteView
    from web.tree_bridge import TreeBridge
    from web.ui.context import UiContext
    from web.ui.site_settings import SiteSettingsBook
    from web.users.book import UserBook

    return UiContext(
        topology=topology,
        view=SiteView(topology),
        storage_dir=storage_dir,
        users=UserBook(storage_dir),
        sessions=SessionStore(storage_dir, idle_s=1800.0),
        site_settings=SiteSettingsBook(storage_dir),
        history=HistoryReader(storage_dir),
        alarms=AlarmAccess(storage_dir / "settings.db"),
        bridge=TreeBridge(lambda message: None),
    )
