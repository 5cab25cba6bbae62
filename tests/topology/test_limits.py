"""The loader's size limits: hostile files get FILE:LINE problems quickly; real sites never do.

Each hostile file (tests/hostile_topologies.py) once raised a traceback or took minutes and
gigabytes; each must now give one problem at its line, in well under a second.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from battery.alarms.limits import OVERRIDE_RANGES
from tests.hostile_topologies import ADMIN_LINE, DEMO_TEXT, NAME_LINE, alias_bomb, all_hostile, demo_with_gateway_line
from topology import limits
from topology.loader import TopologyError, check_topology, load_topology
from topology.problems import Problem, shown_problems

LONGEST_MESSAGE = 400  # characters; a message quotes at most a shortened piece of the file


def write(tmp_path: Path, text: str, name: str = "topology.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("hostile", all_hostile(), ids=lambda h: h.name)
def test_each_hostile_file_is_one_problem_at_its_line_in_bounded_time(tmp_path: Path, hostile) -> None:
    path = write(tmp_path, hostile.text)
    started = time.monotonic()
    problems = check_topology(path)
    assert time.monotonic() - started < 2.0
    assert [p.line for p in problems] == [hostile.line], problems[:3]
    assert hostile.says in problems[0].message
    assert len(problems[0].message) < LONGEST_MESSAGE


def test_the_nesting_limit_is_exact(tmp_path: Path) -> None:
    def admin_port_nested(lists: int) -> list[Problem]:
        return check_topology(write(tmp_path, demo_with_gateway_line("admin_port: " + "[" * lists + "]" * lists)))

    (within,) = admin_port_nested(limits.MAX_NESTING_DEPTH - 2)  # the file and gateway are 2 levels
    assert within.message.startswith("gateway.admin_port: must be a whole number; got a list")
    (past,) = admin_port_nested(limits.MAX_NESTING_DEPTH - 1)
    assert past.line == ADMIN_LINE
    assert past.message.startswith("mappings and lists nest more than 32 levels deep here")


def test_nesting_counts_what_an_alias_repeats(tmp_path: Path) -> None:
    half = limits.MAX_NESTING_DEPTH // 2  # 16 lists in &deep, and *deep inside 16 more: 35 levels in all
    deep, around_alias = "[" * half + "]" * half, "[" * (half - 1) + "*deep" + "]" * (half - 1)
    text = demo_with_gateway_line(f"admin_port: [&deep {deep}, {around_alias}]")
    (problem,) = check_topology(write(tmp_path, text))
    assert problem.line == ADMIN_LINE and "nest more than 32 levels" in problem.message


def test_a_small_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    # 200 x 200 strings: the old loader read all 40,000 and reported 120,000 problems.
    bomb = alias_bomb(copies=200)
    assert len(bomb.text) < 4000
    (problem,) = check_topology(write(tmp_path, bomb.text))
    assert problem.line == bomb.line
    assert problem.message.startswith(f"the file holds more than {limits.MAX_VALUES} values")


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    (problem,) = check_topology(write(tmp_path, demo_with_gateway_line("admin_port: &loop [1, *loop]")))
    assert problem.line == ADMIN_LINE
    assert problem.message == "the alias *loop is inside the value of its own anchor; it would repeat forever"


def test_aliases_without_or_with_two_anchors_are_named(tmp_path: Path) -> None:
    (undefined,) = check_topology(write(tmp_path, demo_with_gateway_line("admin_port: *" + "p" * 1000)))
    assert undefined.line == ADMIN_LINE and undefined.message.startswith("the alias *pppp")
    assert "has no anchor" in undefined.message and len(undefined.message) < LONGEST_MESSAGE
    (twice,) = check_topology(write(tmp_path, demo_with_gateway_line("admin_port: [&a 1, &a 2]")))
    assert (twice.line, twice.message) == (ADMIN_LINE, f"the anchor &a is defined twice (first at line {ADMIN_LINE})")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0b" + "1" * 40, "a number of 42 characters is too long (at most 32)"),
        ("1:" * 20 + "1", "a number of 41 characters is too long"),  # YAML 1.1 base 60
        ("0." + "5" * 40, "a number of 42 characters is too long"),
        ("2001-13-45", "the date 2001-13-45 cannot be read: month must be in 1..12"),
    ],
)
def test_numbers_too_long_to_be_a_setting_and_impossible_dates_are_problems(tmp_path: Path, value, says) -> None:
    (problem,) = check_topology(write(tmp_path, demo_with_gateway_line(f"admin_port: {value}")))
    assert problem.line == ADMIN_LINE and says in problem.message


def test_long_numbers_in_alarm_overrides_are_problems(tmp_path: Path) -> None:
    overrides = "        alarm_overrides: {cell_temperature_high_c: 4" + "0" * 5000 + "}\n"
    text = DEMO_TEXT.replace("        climate_sensor: true\n", "        climate_sensor: true\n" + overrides, 1)
    (problem,) = check_topology(write(tmp_path, text))
    assert "alarm_overrides.cell_temperature_high_c: a number of 5001 characters is too long" in problem.message


def test_texts_have_a_length_limit_and_messages_quote_them_shortened(tmp_path: Path) -> None:
    long = "x" * (limits.MAX_TEXT_LENGTH + 1)
    text = DEMO_TEXT.replace("  snmp:\n    enabled: false\n", f"  snmp:\n    enabled: false\n    host: {long}\n"
                             f"    trap_receivers: [{long}]\n", 1)  # fmt: skip
    text = text.replace("  path: var ", f"  {'k' * 500}: 1\n  path: var ", 1)  # PyYAML allows keys of 1024
    problems = check_topology(write(tmp_path, text))
    assert [p.message.split(":")[0] for p in problems] == [
        "services.snmp.host",
        "services.snmp.trap_receivers[0]",
        f"storage.{'k' * limits.MAX_QUOTED_LENGTH}... (500 characters)",
    ]
    assert "is too long: at most 1024 characters" in problems[0].message
    assert all(len(p.message) < LONGEST_MESSAGE for p in problems)


def test_a_key_with_a_line_break_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    (problem,) = check_topology(write(tmp_path, DEMO_TEXT.replace("storage:\n", 'storage:\n  "pa\\nth": x\n', 1)))
    assert problem.message.startswith("storage.pa\\nth: unknown key (did you mean 'path'?)")


def test_a_name_of_200_characters_is_accepted_and_201_refused(tmp_path: Path) -> None:
    limit = limits.MAX_NAME_LENGTH
    named = load_topology(write(tmp_path, DEMO_TEXT.replace("Demo data center", "N" * limit, 1)))
    assert named.gateway.name == "N" * limit
    (problem,) = check_topology(write(tmp_path, DEMO_TEXT.replace("Demo data center", "N" * (limit + 1), 1)))
    assert problem.line == NAME_LINE and "is too long: at most 200 characters" in problem.message


def test_a_port_in_unicode_digits_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    receivers = "    trap_community: nms-traps-7\n    trap_receivers: ['192.0.2.10:\u00b2']\n"
    text = DEMO_TEXT.replace("  snmp:\n    enabled: false\n", "  snmp:\n    enabled: false\n" + receivers, 1)
    (problem,) = check_topology(write(tmp_path, text))
    assert problem.message == "services.snmp.trap_receivers: '192.0.2.10:\u00b2' is not HOST:PORT"


def test_a_file_over_the_size_limit_is_one_problem_without_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEMO_TEXT + "#" * limits.MAX_FILE_BYTES + "\n")
    (problem,) = check_topology(path)
    assert problem.line is None
    assert str(problem) == f"{path}: {problem.message}"
    assert problem.message.startswith("the file is larger than 1048576 bytes (1 MiB)")


def test_at_most_100_problems_are_shown_then_how_many_more(tmp_path: Path) -> None:
    unknown = "".join(f"  unknown_{n}: 1\n" for n in range(250))
    text = DEMO_TEXT.replace("storage:\n", "storage:\n" + unknown, 1)
    with pytest.raises(TopologyError) as caught:
        load_topology(write(tmp_path, text))
    problems = caught.value.problems
    assert len(problems) == 250
    lines = shown_problems(problems)
    assert lines[:-1] == [str(p) for p in problems[: limits.MAX_PROBLEMS_SHOWN]]
    assert lines[-1] == "... and 150 more problems"
    assert str(caught.value).splitlines() == lines


def test_a_message_lists_at_most_10_known_ids(tmp_path: Path) -> None:
    buses = "".join(f"  - {{id: rs{n}, port: /dev/ttyUSB{n}}}\n" for n in range(25))
    text = DEMO_TEXT.replace('  - id: sim\n    port: "sim://demo"', buses + '  - id: sim\n    port: "sim://demo"', 1)
    text = text.replace("        bus: sim\n", "        bus: nowhere\n", 1)
    (problem,) = check_topology(write(tmp_path, text))
    listed = ", ".join(f"rs{n}" for n in range(10))
    assert problem.message.endswith(f"no bus has the id 'nowhere' (buses: {listed} and 16 more)")


# -- the limits leave room for every real site ------------------------------------------------------


def fully_equipped_site() -> str:
    """The largest gateway the hardware allows: 32 UPSes of one string with every option and
    every alarm override, a master controller with 4 IO modules and all 32 IOs assigned,
    every service configured, names of 60 characters."""
    overrides = {name: round((lo + hi) / 2, 1) for name, (_, lo, hi) in OVERRIDE_RANGES.items()}
    overrides.pop("cell_voltage_low_v"), overrides.pop("string_voltage_low_v")  # keep low below high
    upses = [
        {"id": f"UPS-{n:02d}", "index": n, "name": f"UPS {n:02d} of hall B, row 3, fed from the north switchboard",
         "strings": [{"id": f"S{n:02d}", "index": n, "name": f"String {n:02d} of UPS {n:02d}, rack 4, shelf 2-7",
                      "bus": "rs-a" if n <= 16 else "rs-b", "address": n,
                      "battery": {"nominal_voltage": 2, "capacity_ah": 1500, "count": 120},
                      "hall_range_a": 2000, "climate_sensor": True, "insulation_sensor": True,
                      "alarm_overrides": overrides}]}
        for n in range(1, 33)
    ]  # fmt: skip
    data = {
        "gateway": {"id": "gw-hall-b", "name": "Data center hall B, battery room 1 and 2", "admin_port": 19500},
        "buses": [{"id": bus, "port": f"/dev/ttyUSB{n}", "baudrate": 115200, "parity": "N", "stopbits": 1,
                   "timeout_s": 0.2, "scan_period_s": 1.0, "miss_limit": 3} for n, bus in enumerate(("rs-a", "rs-b"))],
        "upses": upses,
        "master_controller": {
            "bus": "rs-a", "address": 200,
            "io_modules": [{"id": f"lc{m}", "address": 200 + m} for m in range(1, 5)],
            "outputs": [{"module": f"lc{1 + (n - 1) // 8}", "output": 1 + (n - 1) % 8, "function": "disconnect",
                         "string": f"S{n:02d}"} for n in range(1, 33)],
            "inputs": [{"module": f"lc{1 + (n - 1) // 8}", "input": 1 + (n - 1) % 8, "alarm": "leakage under rack",
                        "string": f"S{n:02d}"} for n in range(1, 33)],
        },
        "services": {
            "web": {"enabled": True, "host": "0.0.0.0", "port": 8443, "tls_cert": "/etc/btms/cert.pem",
                    "tls_key": "/etc/btms/key.pem"},
            "modbus": {"enabled": True, "host": "0.0.0.0", "port": 502, "write_enabled": True,
                       "write_clients": ["192.0.2.10", "192.0.2.11"]},
            "snmp": {"enabled": True, "host": "0.0.0.0", "port": 161, "read_community": "a-secret-you-choose",
                     "trap_receivers": ["192.0.2.20:162"], "trap_community": "traps-secret", "notify_type": "inform",
                     "v3_users": [{"name": "nms", "auth_key": "auth-secret-1", "priv_key": "priv-secret-1"}]},
        },
        "storage": {"path": "/var/lib/btms", "retention_days": 365, "min_free_mb": 1024, "commit_interval_s": 60},
    }  # fmt: skip
    return yaml.safe_dump(data, sort_keys=False)


def test_the_largest_real_site_is_far_within_every_limit(tmp_path: Path) -> None:
    text = fully_equipped_site()
    topology = load_topology(write(tmp_path, text))
    assert len(topology.strings) == 32 and len(topology.master_controller.inputs) == 32
    assert len(text.encode()) * 10 < limits.MAX_FILE_BYTES
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    values, deepest = _values_and_depth(root)
    assert values * 4 < limits.MAX_VALUES, values
    assert deepest * 4 < limits.MAX_NESTING_DEPTH, deepest


def _values_and_depth(node: yaml.Node, depth: int = 0) -> tuple[int, int]:
    """Values (nodes, keys included) and levels of mappings and lists of a tree without aliases."""
    if isinstance(node, yaml.ScalarNode):
        return 1, depth
    children = node.value if isinstance(node, yaml.SequenceNode) else [part for pair in node.value for part in pair]
    counted = [_values_and_depth(child, depth + 1) for child in children]
    return 1 + sum(c for c, _ in counted), max([depth + 1] + [d for _, d in counted])
