from __future__ import annotations

import pytest

from protocols.uplink import sparkplug_b_pb2 as pb
from protocols.uplink.payload import DataType, Metric, Payload, decode, encode, restamp


def test_every_mapped_type_round_trips_with_its_flags():
    payload = Payload(
        1_700_000_000_123,
        (
            Metric("a", DataType.INT32, -5, alias=3),
            Metric("b", DataType.INT64, -(2**40)),
            Metric("c", DataType.UINT64, 2**63),
            Metric("d", DataType.DOUBLE, 13.512, 1_700_000_000_000, is_historical=True),
            Metric("e", DataType.BOOLEAN, True),
            Metric("f", DataType.STRING, "FLOAT", properties=(("engUnit", "V"),)),
            Metric("g", DataType.DOUBLE, None),
        ),
        seq=255,
    )
    assert decode(encode(payload)) == payload


def test_the_bytes_are_the_sparkplug_schema_a_host_decodes():
    data = encode(Payload(7, (Metric("string.voltage", DataType.DOUBLE, 540.25, 6, is_historical=True),), seq=3))
    message = pb.Payload.FromString(data)
    metric = message.metrics[0]
    assert (message.timestamp, message.seq) == (7, 3)
    assert (metric.name, metric.datatype, metric.double_value) == ("string.voltage", pb.Double, 540.25)
    assert metric.is_historical and metric.timestamp == 6


def test_restamp_sets_the_seq_and_marks_every_metric_historical_and_changes_nothing_else():
    metrics = (
        Metric("string.voltage", DataType.DOUBLE, 540.25, 6, properties=(("engUnit", "V"),)),
        Metric("string.state", DataType.STRING, "FLOAT", 6),
        Metric("cell.voltage/3", DataType.DOUBLE, None, 6),
    )
    stored = encode(Payload(7, metrics))  # as the outbox keeps it: no seq
    live = decode(restamp(stored, 42, historical=False))
    assert live == Payload(7, metrics, seq=42)
    history = decode(restamp(stored, 0, historical=True))
    assert history.seq == 0
    assert history.metrics == tuple(
        Metric(m.name, m.datatype, m.value, m.timestamp_ms, is_historical=True, properties=m.properties)
        for m in metrics
    )


def test_a_null_value_is_sent_as_is_null():
    metric = pb.Payload.FromString(encode(Payload(1, (Metric("x", DataType.DOUBLE, None),), 0))).metrics[0]
    assert metric.is_null and metric.WhichOneof("value") is None


def test_ndeath_has_no_seq():
    assert decode(encode(Payload(1, (Metric("bdSeq", DataType.UINT64, 4),)))).seq is None


def test_a_type_not_mapped_decodes_with_no_value_instead_of_failing():
    message = pb.Payload(timestamp=1)
    m = message.metrics.add()
    m.name, m.datatype, m.bytes_value = "blob", pb.Bytes, b"\x01"
    (metric,) = decode(message.SerializeToString()).metrics
    assert (metric.datatype, metric.value) == (pb.Bytes, None)


def test_garbage_is_a_value_error():
    with pytest.raises(ValueError, match="not a Sparkplug B payload"):
        decode(b"\xff\xff\xff")
