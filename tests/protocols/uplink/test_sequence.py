from __future__ import annotations

import pytest

from protocols.uplink.host_state import HostState, HostWatch
from protocols.uplink.sequence import MessageSequence, next_bdseq


def test_bdseq_starts_at_zero_and_wraps_after_255():
    assert next_bdseq(None) == 0
    assert next_bdseq(7) == 8
    assert next_bdseq(255) == 0


def test_seq_is_zero_on_birth_then_counts_and_wraps():
    seq = MessageSequence()
    with pytest.raises(RuntimeError):
        seq.next()
    assert seq.birth() == 0
    assert [seq.next() for _ in range(256)][-2:] == [255, 0]
    assert seq.birth() == 0 and seq.next() == 1


def test_state_round_trips_and_bad_payloads_say_what_is_wrong():
    assert HostState.decode(HostState(True, 12).encode()) == HostState(True, 12)
    for bad, what in ((b"{", "not JSON"), (b"[]", "not a JSON object"), (b'{"online": 1, "timestamp": 1}', "online")):
        with pytest.raises(ValueError, match=what):
            HostState.decode(bad)
    with pytest.raises(ValueError, match="timestamp"):
        HostState.decode(b'{"online": true}')


def test_an_older_state_does_not_override_a_newer_one():
    watch = HostWatch()
    assert not watch.online
    assert watch.received(HostState(True, 100))
    assert not watch.received(HostState(False, 50))
    assert watch.online
    assert watch.received(HostState(False, 150)) and not watch.online
