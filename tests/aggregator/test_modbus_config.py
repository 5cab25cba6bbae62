"""The `modbus:` section of the aggregator's configuration: defaults, and every problem as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.modbus_config import ModbusViewConfig
from topology.problems import TopologyError

HEAD = """\
broker:
  host: 127.0.0.1
  port: 1883
postgres:
  dsn: postgresql://btms@127.0.0.1:5432/btms
"""


def write(tmp_path: Path, modbus: str) -> Path:
    path = tmp_path / "aggregator.yaml"
    path.write_text(HEAD + modbus, encoding="utf-8")
    return path


def problems(tmp_path: Path, modbus: str) -> list[str]:
    path = write(tmp_path, modbus)
    with pytest.raises(TopologyError) as error:
        load_config(path)
    return [str(p).replace(str(path), "FILE") for p in error.value.problems]


def test_no_section_or_a_disabled_one_serves_no_modbus(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).modbus is None
    assert load_config(write(tmp_path, "modbus:\n  enabled: false\n  port: 5021\n")).modbus is None


def test_the_section_with_its_defaults_and_the_listed_gateways(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "modbus:\n  port: 5021\n")).modbus == ModbusViewConfig(port=5021)
    config = load_config(write(tmp_path, "modbus:\n  host: 0.0.0.0\n  gateways: [gw-2, gw-1]\n")).modbus
    assert config is not None and config.host == "0.0.0.0" and config.port == 5020
    assert config.gateways == ("gw-2", "gw-1")  # the listed order is the units' order


def test_each_problem_names_the_file_and_the_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "modbus:\n"  # line 6
        "  port: 70000\n"
        "  gateways:\n"
        "    - gw-1\n"
        "    - gw/2\n"  # line 10
        "    - gw-1\n"
        "  idle_timeout: 5\n",
    )
    assert found == [
        "FILE:7: modbus.port: 70000 is more than 65535, the largest allowed",
        "FILE:10: modbus.gateways[1]: 'gw/2' contains '/', which MQTT topics reserve",
        "FILE:11: modbus.gateways[2]: 'gw-1' is listed twice (each gateway is one unit id)",
        "FILE:12: modbus.idle_timeout: unknown key (did you mean 'idle_timeout_s'?); allowed keys here: "
        "enabled, host, port, gateways, max_connections, idle_timeout_s",
    ]


def test_more_gateways_than_unit_ids_are_refused(tmp_path: Path) -> None:
    listed = "".join(f"    - gw{n}\n" for n in range(100))
    assert problems(tmp_path, "modbus:\n  gateways:\n" + listed) == [
        "FILE:8: modbus.gateways: 100 gateways are more than 99, the unit ids 1..99"
    ]
