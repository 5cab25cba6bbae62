"""The aggregator's batches of MQTT messages (aggregator/inbox.py, aggregator/edge_batch.py),
without I/O: a batch keeps the arrival order, the seq check still sees every message, and every
message of a batch is acknowledged with it."""

from __future__ import annotations

from aggregator.edge_batch import fold_batch, replay_batch
from aggregator.edge_node import EdgeNode
from aggregator.inbox import Inbox
from aggregator.messages import Received
from protocols.uplink.payload import DataType, Metric, Payload, encode
from protocols.uplink.topics import MessageType, Topic

NODE = "gw1"
DEVICE = "UPS-A:A1"


def received(kind: MessageType, seq: int | None, metrics=(), mid: int = 0, device: str | None = None) -> Received:
    topic = Topic("btms", kind, NODE, device)
    return Received(str(topic), encode(Payload(1_000, tuple(metrics), seq)), mid, 0.0)


def birth(mid: int) -> Received:
    return received(MessageType.NBIRTH, 0, [Metric("bdSeq", DataType.UINT64, 3)], mid)


def voltage(seq: int, volts: float, mid: int) -> Received:
    metric = Metric("string.voltage", DataType.DOUBLE, volts, 10_000 + seq * 1_000)
    return received(MessageType.DDATA, seq, [metric], mid, DEVICE)


def test_the_inbox_keeps_each_nodes_messages_in_arrival_order_and_hands_over_a_full_batch() -> None:
    inbox = Inbox(max_batch=3)
    a1, b1, a2 = voltage(1, 1.0, 1), voltage(1, 2.0, 2), voltage(2, 3.0, 3)
    assert inbox.add("a", a1) is None
    assert inbox.add("b", b1) is None
    assert inbox.add("a", a2) is None
    a3 = voltage(3, 4.0, 4)
    assert inbox.add("a", a3) == [a1, a2, a3]  # full: goes at once
    a4 = voltage(4, 5.0, 5)
    assert inbox.add("a", a4) is None
    assert inbox.take_all() == {"b": [b1], "a": [a4]}
    assert inbox.take_all() == {}


def test_a_batch_keeps_the_order_of_its_records_and_acknowledges_every_message() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    batch = [birth(11), voltage(1, 500.0, 12), voltage(2, 501.0, 13), voltage(3, 502.0, 14)]
    folded = fold_batch(node, batch, now=1.0)
    assert [r.nums for r in folded.records] == [(500.0,), (501.0,), (502.0,)]
    assert [r.ts_ms for r in folded.records] == [11_000, 12_000, 13_000]
    assert folded.mids == [11, 12, 13, 14]  # the birth stores nothing, yet is acknowledged with the batch
    assert folded.rebirth_for == [] and node.online


def test_a_seq_gap_inside_a_batch_still_asks_for_a_rebirth_and_its_records_are_kept() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    folded = fold_batch(node, [birth(1), voltage(1, 500.0, 2), voltage(3, 502.0, 3)], now=1.0)
    assert [str(t) for t in folded.rebirth_for] == [f"spBv1.0/btms/DDATA/{NODE}/{DEVICE}"]
    assert [r.nums for r in folded.records] == [(500.0,), (502.0,)]
    assert node.gaps == 1


def test_an_unreadable_message_is_passed_over_and_acknowledged_with_its_batch() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    garbage = Received(f"spBv1.0/btms/DDATA/{NODE}/{DEVICE}", b"\xff\xff not protobuf", 21, 0.0)
    folded = fold_batch(node, [birth(20), garbage, voltage(1, 500.0, 22)], now=1.0)
    assert [r.nums for r in folded.records] == [(500.0,)]
    assert folded.mids == [20, 21, 22]
    assert [topic for topic, _ in folded.unreadable] == [garbage.topic]
    assert folded.rebirth_for == []  # what could not be read is not taken for a gap


def test_qos_0_messages_carry_no_acknowledgement() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    folded = fold_batch(node, [birth(0), voltage(1, 500.0, 0), voltage(2, 501.0, 9)], now=1.0)
    assert folded.mids == [9]


def test_a_replay_for_a_new_store_gives_the_records_again_and_leaves_the_node_as_it_was() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    batch = [birth(1), voltage(1, 500.0, 2), voltage(2, 501.0, 3)]
    fold_batch(node, batch, now=1.0)
    before = (node.last_seq, node.gaps, node.bdseq, node.online, node.last_heard)
    replayed = replay_batch(node, batch)
    assert [r.nums for r in replayed.records] == [(500.0,), (501.0,)]
    assert replayed.mids == [1, 2, 3]
    assert (node.last_seq, node.gaps, node.bdseq, node.online, node.last_heard) == before
    assert fold_batch(node, [voltage(3, 502.0, 4)], now=2.0).rebirth_for == []  # the seq check goes on


def test_a_message_the_rules_fail_on_is_set_aside_and_the_rest_of_its_batch_goes_on_in_order() -> None:
    node = EdgeNode(NODE, offline_after_s=30)
    death = received(MessageType.NDEATH, None, [Metric("bdSeq", DataType.STRING, "one")], 32)  # int("one") raises
    folded = fold_batch(node, [birth(30), voltage(1, 500.0, 31), death, voltage(2, 501.0, 33)], now=1.0)
    assert [(f.message.mid, f.seq) for f in folded.failed] == [(32, None)]
    assert folded.failed[0].reason.startswith("ValueError")
    assert folded.mids == [30, 31, 33]  # its own acknowledgement waits until it is kept aside
    assert [r.nums for r in folded.records] == [(500.0,), (501.0,)]
    assert node.online and folded.rebirth_for == []
