"""Compile protocols/uplink/sparkplug_b.proto into protocols/uplink/sparkplug_b_pb2.py.

Needs grpcio-tools (the test extras), which carries protoc. The generated module checks at
import that the protobuf runtime is at least the version it was generated for; pyproject.toml
pins protobuf accordingly. tests/protocols/uplink/test_schema.py fails when the module and the
schema disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "protocols" / "uplink"

if __name__ == "__main__":
    status = protoc.main(["protoc", f"-I{PACKAGE}", f"--python_out={PACKAGE}", str(PACKAGE / "sparkplug_b.proto")])
    if status:
        sys.exit(f"protoc failed with status {status}")
    print(f"wrote {(PACKAGE / 'sparkplug_b_pb2.py').relative_to(ROOT)}")
