"""The refusal log: one line per interval, however hard a local user hammers a port."""

from __future__ import annotations

from structlog.testing import capture_logs

import actors.runtime.same_user_only as module
from actors.runtime.same_user_only import PeerVerdict, RefusalLog


def test_refusals_are_logged_once_per_interval_with_the_count_between(monkeypatch):
    monkeypatch.setattr(module, "configure_structlog", lambda: None)  # keep the test process's logging as it is
    now = [100.0]
    refusals = RefusalLog(interval_s=60.0, clock=lambda: now[0])
    verdict = PeerVerdict(False, ("127.0.0.1", 40000), 65534)
    with capture_logs() as logs:
        logged = [refusals.refused(verdict, "admin")]
        for t in (101.0, 120.0, 159.0):
            now[0] = t
            logged.append(refusals.refused(verdict, "admin"))
        now[0] = 160.0
        logged.append(refusals.refused(PeerVerdict(False, None, None, "OSError: gone"), "admin"))
    assert logged == [True, False, False, False, True]
    assert [(e["peer_uid"], e["refused"]) for e in logs] == [(65534, 1), ("unknown", 4)]
    assert logs[0]["peer"] == "127.0.0.1:40000" and logs[1]["peer"] == "gone" and logs[1]["error"] == "OSError: gone"


def test_a_connection_closed_before_its_check_is_refused_without_a_warning(monkeypatch):
    monkeypatch.setattr(module, "configure_structlog", lambda: None)
    refusals = RefusalLog(interval_s=60.0, clock=lambda: 100.0)
    with capture_logs() as logs:
        logged = refusals.refused(PeerVerdict(False, ("127.0.0.1", 40000), None), "admin")
        after = refusals.refused(PeerVerdict(False, ("127.0.0.1", 40001), 65534), "admin")
    assert (logged, after) == (False, True)
    assert [(e["peer_uid"], e["refused"]) for e in logs] == [(65534, 1)]  # the closed one is not counted
