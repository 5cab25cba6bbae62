"""The Historian actor on both Thespian bases: scans in, flush, rows readable by another reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from thespian.actors import ActorExitRequest

from actors.messages.down import HistorianFlush, InitHistorian
from actors.messages.up import HistorianFlushed
from battery.codes import Health
from battery.status import UpsStatus
from storage.history.reader import HistoryQueries
from tests.factories import T0, make_status
from tests.support import small_topology, wait_for


@pytest.mark.integration
def test_historian_stores_what_it_receives(actor_system, tmp_path: Path) -> None:
    from actors.site.historian import Historian

    topo = small_topology(tmp_path, upses=1, strings_per_ups=2, cells=4)
    strings = topo.strings
    h = actor_system.createActor(Historian)
    # A scan sent before the Init is held, then stored.
    s0 = strings[0]
    actor_system.tell(h, make_status(s0.id, s0.index, T0, ups_id=s0.ups_id))
    actor_system.tell(
        h,
        InitHistorian(str(tmp_path / "var"), retention_days=365, min_free_mb=0, topology=topo, commit_interval_s=3600),
    )
    for i in range(1, 20):
        for s in strings:
            actor_system.tell(h, make_status(s.id, s.index, T0 + i * 10, ups_id=s.ups_id))
    actor_system.tell(h, UpsStatus(strings[0].ups_id, 1, T0, Health.OK, 27.0, 0.4, 90.0, tuple(s.id for s in strings)))
    reply = actor_system.ask(h, HistorianFlush(request_id=7), 30)
    assert isinstance(reply, HistorianFlushed), reply
    assert (reply.request_id, reply.committed, reply.pending, reply.dropped, reply.error) == (7, 39, 0, 0, None)
    q = HistoryQueries(tmp_path / "var")
    assert {(i.string_id, i.ups_id, i.cells) for i in q.strings()} == {(s.id, s.ups_id, 4) for s in strings}
    snap = q.string_snapshot(strings[1].id, T0 + 1000)
    assert snap is not None and snap["timestamp"] == T0 + 190 and snap["cells"][3]["resistance"] == pytest.approx(4.004)
    # Exit commits what arrived after the last flush.
    actor_system.tell(h, make_status(s0.id, s0.index, T0 + 500, ups_id=s0.ups_id))
    actor_system.tell(h, ActorExitRequest())
    if actor_system.base_name == "simpleSystemBase":
        actor_system.ask(h, HistorianFlush(request_id=8), 1)  # lets the single-threaded base run the exit
    last = wait_for(
        lambda: q.string_snapshot(s0.id, T0 + 1000)["timestamp"] == T0 + 500,
        timeout=20,
        what="the scan sent before the exit request to be committed",
    )
    assert last


@pytest.mark.integration
def test_a_disk_alarm_reaches_the_alarm_sink(actor_system, tmp_path: Path) -> None:
    from actors.site.historian import Historian
    from storage.history.disk_alarm import HistoryDiskAlarm
    from tests.recorder import GetRecorded, Recorder

    topo = small_topology(tmp_path, upses=1, strings_per_ups=1, cells=4)
    sink = actor_system.createActor(Recorder)
    h = actor_system.createActor(Historian)
    actor_system.tell(
        h,
        InitHistorian(
            str(tmp_path / "var"),
            retention_days=365,
            min_free_mb=10**9,
            topology=topo,
            commit_interval_s=3600,
            alarm_sink=sink,
        ),
    )  # a floor no disk satisfies
    s = topo.strings[0]
    actor_system.tell(h, make_status(s.id, s.index, T0, ups_id=s.ups_id))
    actor_system.ask(h, HistorianFlush(request_id=1), 30)

    def alarms():
        actor_system.ask(h, HistorianFlush(request_id=2), 30)  # keeps the single-threaded base running
        return [m for m in actor_system.ask(sink, GetRecorded(), 5).messages if isinstance(m, HistoryDiskAlarm)]

    raised = wait_for(alarms, timeout=20, what="the disk alarm at the sink")
    assert raised[0].active
    actor_system.tell(h, ActorExitRequest())
