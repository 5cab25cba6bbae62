"""What goes up and when: data at the period, cells by exception, events at once."""

from __future__ import annotations

import json
from dataclasses import replace

from battery.alarms.records import AlarmNotice
from battery.codes import ChargeState
from battery.site import ServicesConfig, UplinkConfig
from protocols.uplink.recorder import NODE, Recorder
from storage.outbox import Priority
from tests.factories import make_status, sample_topology, sample_ups_status

T0 = 1_800_000_000.0


def recorder(**config) -> tuple[Recorder, object]:
    topology = sample_topology(upses=1, strings_per_ups=1, cells=3)
    uplink = UplinkConfig(broker="127.0.0.1:1883", group_id="g", deadbands=(("cell.voltage", 0.005),), **config)
    topology = replace(topology, services=ServicesConfig(uplink=uplink))
    return Recorder(topology, uplink, clock=lambda: T0), topology


def status(ts: float, mv: tuple[int, int, int] = (13500, 13500, 13500), **kw):
    s = make_status("s1", 1, ts, cells=3, ups_id="ups1", **kw)
    return replace(s, cell_voltage_mv=mv)


def test_one_record_per_string_and_ups_per_period_with_the_newest_status():
    rec, topology = recorder()
    for k in range(5):
        assert rec.apply_string(status(T0 + k)) == []
    rec.apply_ups(replace(sample_ups_status(topology, "ups1"), timestamp=T0 + 4))
    out = rec.period()
    data = [r for r in out if r.priority is Priority.DATA]
    assert [(r.device, r.created_ms) for r in data] == [("ups1", (T0 + 4) * 1000), ("ups1:s1", (T0 + 4) * 1000)]
    assert {m.name for m in data[1].metrics} >= {"string.voltage", "string.current", "string.state"}
    assert [r.priority for r in rec.period()] == []  # nothing new: nothing sent


def test_cells_go_by_exception_with_the_quantity_deadband():
    rec, _ = recorder()
    rec.apply_string(status(T0))
    first = [r for r in rec.period() if r.priority is Priority.CELL]
    assert len(first) == 1 and len(first[0].metrics) == 3 * 6  # every cell value, the first time
    rec.apply_string(status(T0 + 1, (13503, 13500, 13510)))  # 3 mV: under the 5 mV deadband; 10 mV: over
    (cells,) = [r for r in rec.period() if r.priority is Priority.CELL]
    assert [(m.name, m.value) for m in cells.metrics] == [("cell.voltage/3", 13.51)]
    rec.apply_string(status(T0 + 2, (13506, 13500, 13510)))  # 6 mV from what was SENT (13.500), not from 13.503
    (cells,) = [r for r in rec.period() if r.priority is Priority.CELL]
    assert [m.name for m in cells.metrics] == ["cell.voltage/1"]


def test_a_cell_that_stops_answering_is_sent_as_null_at_once():
    rec, _ = recorder()
    rec.apply_string(status(T0))
    rec.period()
    rec.apply_string(status(T0 + 1, no_response=(2,)))
    (cells,) = [r for r in rec.period() if r.priority is Priority.CELL]
    values = {m.name: m.value for m in cells.metrics}
    assert values["cell.voltage/2"] is None and values["cell.health/2"] == "STALE"


def test_a_discharge_is_an_event_and_its_string_values_go_at_every_scan():
    rec, _ = recorder()
    assert rec.apply_string(status(T0)) == []
    start = rec.apply_string(status(T0 + 1, state=ChargeState.DISCHARGE))
    assert [r.priority for r in start] == [Priority.EVENT, Priority.DATA]
    event = json.loads(start[0].metrics[0].value)
    assert (start[0].device, event["event"], event["string_id"]) == (NODE, "start", "s1")
    assert [r.priority for r in rec.apply_string(status(T0 + 2, state=ChargeState.DISCHARGE))] == [Priority.DATA]
    stale = rec.apply_string(status(T0 + 3, state=ChargeState.DISCHARGE, stale=True))
    assert [r.priority for r in stale] == [Priority.DATA]  # a scan the string missed neither ends it nor starts one
    end = rec.apply_string(status(T0 + 4, state=ChargeState.FLOAT))
    assert json.loads(end[0].metrics[0].value)["event"] == "end"


def test_every_stored_alarm_change_is_an_event_but_a_state_sync_is_not():
    rec, _ = recorder()
    notice = AlarmNotice(
        "raised", 7, "cell_voltage_high", "Voltage high", "ups1", "s1", 2, 15.1, 14.7, T0, None, None, None
    )
    (record,) = rec.apply_alarm(notice)
    assert record.priority is Priority.EVENT and record.device == NODE
    body = json.loads(record.metrics[0].value)
    assert (body["event"], body["alarm_id"], body["kind"], body["cell_index"]) == ("raised", 7, "cell_voltage_high", 2)
    assert rec.apply_alarm(replace(notice, event="active")) == []
