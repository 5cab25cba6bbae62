"""Sparkplug B payloads: the gateway's metrics to and from the protobuf schema (sparkplug_b.proto).

Only the value types the gateway uses are mapped (integers, floating point, boolean, string);
a metric of another type decodes with its raw value None so that a reader of foreign traffic
does not fail. Timestamps are UNIX milliseconds, as the specification requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from google.protobuf.message import DecodeError

from protocols.uplink import sparkplug_b_pb2 as pb


class DataType(IntEnum):
    """The Sparkplug B data types the gateway publishes (numbers from the schema)."""

    INT32 = pb.Int32
    INT64 = pb.Int64
    UINT32 = pb.UInt32
    UINT64 = pb.UInt64
    FLOAT = pb.Float
    DOUBLE = pb.Double
    BOOLEAN = pb.Boolean
    STRING = pb.String


_INT_FIELDS = {DataType.INT32: "int_value", DataType.UINT32: "int_value"}
_LONG_FIELDS = {DataType.INT64: "long_value", DataType.UINT64: "long_value"}
_FIELD = {
    **_INT_FIELDS,
    **_LONG_FIELDS,
    DataType.FLOAT: "float_value",
    DataType.DOUBLE: "double_value",
    DataType.BOOLEAN: "boolean_value",
    DataType.STRING: "string_value",
}
_KNOWN = frozenset(int(t) for t in DataType)
_SIGNED_BITS = {DataType.INT32: 32, DataType.INT64: 64}

Value = int | float | bool | str | None


@dataclass(frozen=True)
class Metric:
    """One metric of a payload. `value` None is sent as is_null (a value not available).

    `name` may be omitted (None) after a birth, when `alias` identifies the metric.
    """

    name: str | None
    datatype: DataType | int  # an int: a type this codec does not map (decoded value None)
    value: Value
    timestamp_ms: int | None = None
    alias: int | None = None
    is_historical: bool = False
    properties: tuple[tuple[str, str], ...] = ()  # string properties, e.g. ("engUnit", "V")


@dataclass(frozen=True)
class Payload:
    timestamp_ms: int
    metrics: tuple[Metric, ...]
    seq: int | None = None  # None only in NDEATH, which carries no sequence number


def encode(payload: Payload) -> bytes:
    message = pb.Payload()
    message.timestamp = payload.timestamp_ms
    if payload.seq is not None:
        message.seq = payload.seq
    for metric in payload.metrics:
        _fill(message.metrics.add(), metric)
    return message.SerializeToString()


def _fill(out: pb.Payload.Metric, metric: Metric) -> None:
    if metric.name is not None:
        out.name = metric.name
    if metric.alias is not None:
        out.alias = metric.alias
    if metric.timestamp_ms is not None:
        out.timestamp = metric.timestamp_ms
    out.datatype = int(metric.datatype)
    if metric.is_historical:
        out.is_historical = True
    for key, text in metric.properties:
        out.properties.keys.append(key)
        prop = out.properties.values.add()
        prop.type = pb.String
        prop.string_value = text
    if metric.value is None:
        out.is_null = True
        return
    value = metric.value
    bits = _SIGNED_BITS.get(metric.datatype)
    if bits is not None and value < 0:  # type: ignore[operator]
        value = int(value) + (1 << bits)  # the schema carries signed integers two's complement, unsigned
    setattr(out, _FIELD[DataType(metric.datatype)], value)


def restamp(data: bytes, seq: int, historical: bool) -> bytes:
    """An encoded payload with its `seq` set and, when `historical`, every metric marked
    is_historical: what the outbox stored, ready to send, without taking it apart into Metrics
    (for a string of 120 batteries that costs 30 times as much as this)."""
    message = pb.Payload()
    message.ParseFromString(data)
    message.seq = seq
    if historical:
        for metric in message.metrics:
            metric.is_historical = True
    return message.SerializeToString()


def decode(data: bytes) -> Payload:
    """Raises ValueError for bytes that are not a Sparkplug B payload."""
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except DecodeError as e:
        raise ValueError(f"not a Sparkplug B payload: {e}") from None
    metrics = tuple(_metric(m) for m in message.metrics)
    return Payload(message.timestamp, metrics, message.seq if message.HasField("seq") else None)


def _metric(m: pb.Payload.Metric) -> Metric:
    datatype: DataType | int = DataType(m.datatype) if m.datatype in _KNOWN else m.datatype
    value: Value = None
    if isinstance(datatype, DataType) and not m.is_null:
        value = getattr(m, _FIELD[datatype])
        bits = _SIGNED_BITS.get(datatype)
        if bits is not None and value >= 1 << (bits - 1):
            value -= 1 << bits
    props = tuple(
        (k, v.string_value) for k, v in zip(m.properties.keys, m.properties.values) if v.HasField("string_value")
    )
    return Metric(
        name=m.name if m.HasField("name") else None,
        datatype=datatype,
        value=value,
        timestamp_ms=m.timestamp if m.HasField("timestamp") else None,
        alias=m.alias if m.HasField("alias") else None,
        is_historical=m.is_historical,
        properties=props,
    )
