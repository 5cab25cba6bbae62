"""The compiled module is the schema next to it: a hand edit or a stale compile fails here."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from protocols.uplink import sparkplug_b_pb2

SCHEMA = Path(sparkplug_b_pb2.__file__).with_name("sparkplug_b.proto")


def test_the_compiled_module_matches_sparkplug_b_proto(tmp_path: Path):
    out = tmp_path / "set.pb"
    assert protoc.main(["protoc", f"-I{SCHEMA.parent}", f"--descriptor_set_out={out}", str(SCHEMA)]) == 0
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    _drop_json_names(compiled)  # protoc's Python output leaves out the derived JSON names
    loaded = descriptor_pb2.FileDescriptorProto.FromString(sparkplug_b_pb2.DESCRIPTOR.serialized_pb)
    assert loaded == compiled


def _drop_json_names(file: descriptor_pb2.FileDescriptorProto) -> None:
    messages = list(file.message_type)
    while messages:
        message = messages.pop()
        messages.extend(message.nested_type)
        for field in message.field:
            field.ClearField("json_name")


def test_the_field_numbers_a_host_relies_on():
    metric = sparkplug_b_pb2.Payload.Metric.DESCRIPTOR.fields_by_name
    assert {n: metric[n].number for n in ("name", "alias", "timestamp", "datatype", "is_historical", "is_null")} == {
        "name": 1,
        "alias": 2,
        "timestamp": 3,
        "datatype": 4,
        "is_historical": 5,
        "is_null": 7,
    }
    assert (metric["double_value"].number, metric["string_value"].number) == (13, 15)
    payload = sparkplug_b_pb2.Payload.DESCRIPTOR.fields_by_name
    assert (payload["timestamp"].number, payload["metrics"].number, payload["seq"].number) == (1, 2, 3)
    assert sparkplug_b_pb2.DESCRIPTOR.package == "org.eclipse.tahu.protobuf"
