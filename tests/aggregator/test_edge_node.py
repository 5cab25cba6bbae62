"""The primary host's Sparkplug rules for one edge node (aggregator/edge_node.py), without I/O."""

from __future__ import annotations

from aggregator.edge_node import EdgeNode
from protocols.uplink.payload import DataType, Metric, Payload
from protocols.uplink.topics import MessageType, Topic

NODE = "gw1"


def message(kind: MessageType, seq: int | None, metrics=(), device: str | None = None):
    return Topic("btms", kind, NODE, device), Payload(1_000, tuple(metrics), seq)


def born(bdseq: int = 7) -> EdgeNode:
    node = EdgeNode(NODE, offline_after_s=30)
    out = node.receive(*message(MessageType.NBIRTH, 0, [Metric("bdSeq", DataType.UINT64, bdseq)]), now=0.0)
    assert out.came_online and not out.rebirth
    return node


def data(seq: int, ts_ms: int = 5_000):
    return message(MessageType.DDATA, seq, [Metric("string.voltage", DataType.DOUBLE, 500.0, ts_ms)], "UPS-A:A1")


def test_seq_wraps_from_255_to_0_without_a_rebirth_and_a_gap_asks_for_one() -> None:
    node = born()
    for seq in [*range(1, 256), 0, 1]:
        assert not node.receive(*data(seq), now=1.0).rebirth
    assert node.receive(*data(5), now=2.0).rebirth  # 2, 3, 4 missing
    assert not node.receive(*data(9), now=3.0).rebirth  # asked 1 s ago: not again yet
    assert node.receive(*data(12), now=8.0).rebirth


def test_data_from_a_session_never_seen_born_asks_for_a_rebirth_and_is_still_stored() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    out = node.receive(*data(42), now=0.0)
    assert out.rebirth and [r.nums for r in out.records] == [(500.0,)]


def test_only_the_current_sessions_death_takes_the_node_offline() -> None:
    node = born(bdseq=7)
    late_will = node.receive(*message(MessageType.NDEATH, None, [Metric("bdSeq", DataType.UINT64, 6)]), now=1.0)
    assert late_will.went_offline is None and node.online
    death = node.receive(*message(MessageType.NDEATH, None, [Metric("bdSeq", DataType.UINT64, 7)]), now=2.0)
    assert death.went_offline and not node.online


def test_silence_takes_the_node_offline_and_its_next_birth_brings_it_back() -> None:
    node = born()
    assert node.tick(now=29.0).went_offline is None
    assert node.tick(now=31.0).went_offline == "no message for 30 s"
    assert node.receive(*message(MessageType.NBIRTH, 0, [Metric("bdSeq", DataType.UINT64, 8)]), now=40.0).came_online


def test_a_data_message_becomes_one_record_per_timestamp_with_numbers_and_texts_apart() -> None:
    node = born()
    metrics = [
        Metric("string.voltage", DataType.DOUBLE, 500.0, 5_000),
        Metric("string.state", DataType.STRING, "FLOAT", 5_000),
        Metric("cell.voltage/1", DataType.DOUBLE, None, 5_000),
        Metric("string.voltage", DataType.DOUBLE, 501.0, 6_000),
    ]
    out = node.receive(*message(MessageType.DDATA, 1, metrics, "UPS-A:A1"), now=1.0)
    assert [(r.ts_ms, r.numeric_names, r.nums, r.texts) for r in out.records] == [
        (5_000, ("string.voltage", "cell.voltage/1"), (500.0, None), ("FLOAT",)),
        (6_000, ("string.voltage",), (501.0,), ()),
    ]
