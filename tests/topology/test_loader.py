"""topology.yaml loader: the demo loads, and every kind of problem is reported at its line.

The fixtures tests/data/topologies/problems_*.yaml mark each line that must get a problem with
`# expect: TEXT` (several per line: `A | B`); a line without a mark must get none.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from battery.site import Topology
from tests.support import REPO as ROOT
from tests.support import TEST_DATA
from topology.loader import Problem, TopologyError, check_topology, load_topology

FIXTURES = ROOT / "tests" / "data" / "topologies"
DEMO = ROOT / "topology.yaml"

STRING = (
    "{id: S%d, bus: rs1, address: %d, battery: {nominal_voltage: 12, capacity_ah: 100, count: 40}, hall_range_a: 500}"
)


def expectations(path: Path) -> dict[int, list[str]]:
    """line -> the texts its problems must contain, from the `# expect:` marks of a fixture."""
    out: dict[int, list[str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.search(r"\s# expect: (.*)$", line)  # not the header that explains the mark
        if match:
            out[number] = [part.strip() for part in match.group(1).split(" | ")]
    return out


def write(tmp_path: Path, text: str, name: str = "topology.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def site(strings: list[str], *, extra: str = "") -> str:
    """A valid file around the given string entries (flow mappings), for limit tests."""
    body = "\n".join(f"      - {s}" for s in strings)
    return (
        "gateway: {id: gw1}\n"
        "buses: [{id: rs1, port: /dev/ttyUSB0}]\n"
        "upses:\n"
        "  - id: U1\n"
        "    strings:\n"
        f"{body}\n{extra}"
    )


# -- the demo and valid files --------------------------------------------------------------


def test_demo_topology_loads_as_described() -> None:
    t = load_topology(DEMO)
    assert isinstance(t, Topology)
    assert (t.gateway.id, t.gateway.name) == ("gw1", "Demo data center")
    assert [b.id for b in t.buses] == ["sim"] and t.buses[0].port == "sim://demo"
    assert t.buses[0].is_simulated and t.buses[0].scan_period_s == 1.0
    assert [(u.id, u.index, [s.id for s in u.strings]) for u in t.upses] == [
        ("UPS-A", 1, ["A1", "A2"]),
        ("UPS-B", 2, ["B1", "B2"]),
    ]
    assert [(s.index, s.bus, s.address, s.ups_id) for s in t.strings] == [
        (1, "sim", 1, "UPS-A"), (2, "sim", 2, "UPS-A"), (3, "sim", 3, "UPS-B"), (4, "sim", 4, "UPS-B"),
    ]  # fmt: skip
    for s in t.strings:
        assert (s.battery.nominal_voltage, s.battery.count, s.battery.capacity_ah) == (12, 40, 100.0)
        assert (s.hall_range_a, s.climate_sensor, s.insulation_sensor) == (500, True, False)
    mc = t.master_controller
    assert mc is not None and (mc.bus, mc.address) == ("sim", 100)
    assert [(m.id, m.address) for m in mc.io_modules] == [("lc1", 101)]
    assert [(o.output, o.function, o.string) for o in mc.outputs] == [
        (1, "disconnect", "A1"), (2, "disconnect", "A2"), (3, "disconnect", "B1"),
        (4, "disconnect", "B2"), (8, "siren", None),
    ]  # fmt: skip
    assert [(i.input, i.alarm) for i in mc.inputs] == [(1, "leakage"), (2, "fire")]
    web, modbus, snmp = t.services.web, t.services.modbus, t.services.snmp
    assert (web.host, web.port, modbus.host, modbus.port) == ("127.0.0.1", 8080, "127.0.0.1", 5020)
    assert modbus.write_enabled is False and snmp.enabled is False and snmp.read_community is None
    assert (t.storage.path, t.storage.retention_days) == ("var", 365)
    assert t.storage_dir() == ROOT / "var"


def test_check_of_the_demo_finds_nothing() -> None:
    assert check_topology(DEMO) == []


def test_minimal_file_takes_documented_defaults() -> None:
    t = load_topology(FIXTURES / "minimal.yaml")
    assert t.gateway.name == "gw-min" and t.gateway.admin_port == 19500
    bus = t.buses[0]
    assert (bus.baudrate, bus.parity, bus.stopbits, bus.timeout_s, bus.scan_period_s, bus.miss_limit) == (
        115200, "N", 1, 0.2, 1.0, 3,
    )  # fmt: skip
    s = t.strings[0]
    assert (s.index, s.name, s.climate_sensor, s.insulation_sensor, s.alarm_overrides) == (1, "S1", False, False, ())
    assert t.upses[0].index == 1 and t.upses[0].name == "U1"
    assert t.master_controller is None
    assert t.services.web.enabled and t.services.modbus.enabled and not t.services.snmp.enabled
    assert t.storage.min_free_mb == 1024
    assert (t.services.modbus.max_connections, t.services.modbus.idle_timeout_s) == (32, 60.0)


def test_modbus_connection_limits_are_read(tmp_path: Path) -> None:
    text = (FIXTURES / "minimal.yaml").read_text() + "services:\n  modbus: {max_connections: 4, idle_timeout_s: 15}\n"
    modbus = load_topology(write(tmp_path, text)).services.modbus
    assert (modbus.max_connections, modbus.idle_timeout_s) == (4, 15.0)


def test_topology_survives_pickling_for_init_messages() -> None:
    t = load_topology(DEMO)
    assert pickle.loads(pickle.dumps(t)) == t


def test_omitted_indexes_are_numbered_in_file_order(tmp_path: Path) -> None:
    text = site([STRING % (1, 1), STRING % (2, 2)]) + ("  - id: U2\n    strings:\n      - " + STRING % (3, 3) + "\n")
    t = load_topology(write(tmp_path, text))
    assert [s.index for s in t.strings] == [1, 2, 3]
    assert [u.index for u in t.upses] == [1, 2]


def test_implicit_index_that_collides_is_reported_as_numbered_in_file_order(tmp_path: Path) -> None:
    explicit = STRING.replace("{id: S%d,", "{id: S%d, index: 2,")
    path = write(tmp_path, site([explicit % (1, 1), STRING % (2, 2)]))
    (problem,) = check_topology(path)
    assert problem.line == 7
    assert "string index 2 (numbered in file order) is already used at line 6" in problem.message


def test_yaml_aliases_may_share_a_battery_type(tmp_path: Path) -> None:
    text = site(
        [
            "{id: S1, bus: rs1, address: 1, hall_range_a: 500,"
            " battery: &vrla {nominal_voltage: 12, capacity_ah: 90, count: 30}}",
            "{id: S2, bus: rs1, address: 2, battery: *vrla, hall_range_a: 500}",
        ]
    )
    t = load_topology(write(tmp_path, text))
    assert t.strings[0].battery == t.strings[1].battery


# -- every kind of problem, at its line --------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "problems_keys_types.yaml",
        "problems_ranges.yaml",
        "problems_duplicates.yaml",
        "problems_references.yaml",
        "problems_services.yaml",
        "problems_services_snmp.yaml",
        "problems_services_uplink.yaml",
    ],
)
def test_each_problem_is_reported_at_its_line(fixture: str) -> None:
    path = FIXTURES / fixture
    expected = expectations(path)
    problems = check_topology(path)
    got: dict[int, list[str]] = {}
    for p in problems:
        assert p.file == str(path)
        got.setdefault(p.line, []).append(p.message)
    assert sorted(got) == sorted(expected), "\n".join(str(p) for p in problems)
    for line, texts in expected.items():
        assert len(got[line]) == len(texts), (line, got[line])
        for text in texts:
            assert any(text in message for message in got[line]), (line, text, got[line])


def test_many_problems_are_all_reported_sorted_by_line() -> None:
    path = FIXTURES / "problems_ranges.yaml"
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    problems = caught.value.problems
    assert len(problems) == sum(len(v) for v in expectations(path).values()) >= 30
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert str(caught.value).splitlines() == [str(p) for p in problems]
    assert problems == check_topology(path)


def test_problem_prints_as_file_line_message() -> None:
    p = Problem("topology.yaml", 23, "strings[2].battery.count: 130 is more than 120")
    assert str(p) == "topology.yaml:23: strings[2].battery.count: 130 is more than 120"


def test_the_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, site([STRING % (1, 300)]))
    monkeypatch.chdir(tmp_path)
    (problem,) = check_topology("topology.yaml")
    assert str(problem).startswith("topology.yaml:6: upses[0].strings[0].address: 300 is more than 247")


def test_yaml_syntax_error_is_one_problem_at_the_line_pyyaml_names() -> None:
    path = FIXTURES / "syntax_error.yaml"
    (problem,) = check_topology(path)
    assert problem.line == 6
    assert problem.message.startswith("YAML syntax error: mapping values are not allowed here")


def test_a_second_yaml_document_is_a_syntax_error(tmp_path: Path) -> None:
    (problem,) = check_topology(write(tmp_path, "gateway: {id: a}\n---\ngateway: {id: b}\n"))
    assert problem.line == 2
    assert problem.message == (
        "YAML syntax error: expected a single document in the stream, but found another document"
    )


def test_unreadable_files_are_one_problem(tmp_path: Path) -> None:
    (missing,) = check_topology(tmp_path / "nope.yaml")
    assert missing.line == 1 and "cannot read the file" in missing.message
    (empty,) = check_topology(write(tmp_path, "# only a comment\n"))
    assert "the file is empty" in empty.message
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"gateway:\n  name: Caf\xe9\n")
    (not_utf8,) = check_topology(latin1)
    assert (not_utf8.line, not_utf8.message) == (2, "the file is not UTF-8 text")
    (not_a_mapping,) = check_topology(write(tmp_path, "- a\n- b\n", "list.yaml"))
    assert not_a_mapping.message.startswith("the file: must be a mapping with the keys gateway, buses")


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    text = site([STRING % (1, 1)]).replace(
        "gateway: {id: gw1}", f'gateway: {{id: gw1, name: !!python/object/apply:os.system ["touch {marker}"]}}'
    )
    (problem,) = check_topology(write(tmp_path, text))
    assert problem.line == 1 and "is not allowed" in problem.message
    assert not marker.exists()


def test_missing_sections_are_reported_once(tmp_path: Path) -> None:
    problems = check_topology(write(tmp_path, "storage: {path: var}\n"))
    assert [p.message for p in problems] == [
        "gateway: is missing",
        "buses: is missing or empty",
        "upses: is missing or empty",
    ]


# -- hardware limits ----------------------------------------------------------------------------


def test_more_than_32_strings_is_reported_at_the_33rd(tmp_path: Path) -> None:
    strings = [STRING % (n, n) for n in range(1, 34)]
    problems = check_topology(write(tmp_path, site(strings)))
    (limit,) = problems  # the string numbered 33 in file order is not reported twice
    assert limit.line == 6 + 32
    assert "this is string 33; a BM-GW gateway supports at most 32 strings" in limit.message


def test_more_than_32_upses_is_reported_at_the_33rd(tmp_path: Path) -> None:
    upses = "".join(f"  - {{id: U{n}, strings: [{STRING % (n, n)}]}}\n" for n in range(1, 34))
    text = "gateway: {id: gw1}\nbuses: [{id: rs1, port: /dev/ttyUSB0}]\nupses:\n" + upses
    messages = {(p.line, p.message.split(":")[0]) for p in check_topology(write(tmp_path, text))}
    assert (3 + 33, "upses[32]") in messages  # the 33rd UPS ...
    assert (3 + 33, "upses[32].strings[0]") in messages  # ... carries the 33rd string
    problems = check_topology(write(tmp_path, text))
    assert any("supports at most 32 UPSes" in p.message for p in problems)


def test_more_than_4_io_modules_is_reported_at_the_5th(tmp_path: Path) -> None:
    modules = "".join(f"    - {{id: m{n}, address: {100 + n}}}\n" for n in range(1, 6))
    extra = "master_controller:\n  bus: rs1\n  address: 100\n  io_modules:\n" + modules
    path = write(tmp_path, site([STRING % (1, 1)], extra=extra))
    (problem,) = check_topology(path)
    assert problem.line == 11 + 4
    assert "at most 4 BM-LC IO modules (32 IOs)" in problem.message


# -- alarm limit overrides (names owned by the alarm rules) -------------------------------------


def test_alarm_overrides_are_checked_by_the_alarm_rules(tmp_path: Path) -> None:
    overrides = STRING.replace("hall_range_a: 500}", "hall_range_a: 500, alarm_overrides: {%s}}")
    entries = [
        "cell_voltage_high_v: 14.4, string_soc_low_pct: 40",  # line 6: valid
        "cell_voltage_hihg_v: 14",  # line 7: unknown name
        "cell_soc_low_pct: 150",  # line 8: out of the rule's range
        "cell_voltage_low_v: 14, cell_voltage_high_v: 13",  # line 9: low above high
        "cell_temperature_high_c: true",  # line 10: not a number
    ]
    path = write(tmp_path, site([overrides % (n, n, e) for n, e in enumerate(entries, start=1)]))
    problems = check_topology(path)
    assert [p.line for p in problems] == [7, 8, 9, 10], problems
    unknown, out_of_range, low_high, not_a_number = (p.message for p in problems)
    assert unknown.startswith(
        "upses[0].strings[1].alarm_overrides.cell_voltage_hihg_v: unknown alarm limit; "
        "the limits a string can override are: "
    )
    assert "cell_voltage_high_v" in unknown
    assert out_of_range.startswith("upses[0].strings[2].alarm_overrides: cell_soc_low_pct = 150")
    assert low_high.startswith("upses[0].strings[3].alarm_overrides: cell_voltage_low_v (14.0) must be below")
    assert not_a_number == (
        "upses[0].strings[4].alarm_overrides.cell_temperature_high_c: must be a number; got the truth value true"
    )
    good = write(tmp_path, site([overrides % (1, 1, entries[0])]), "ok.yaml")
    overridden = load_topology(good).strings[0].alarm_overrides
    assert overridden == (("cell_voltage_high_v", 14.4), ("string_soc_low_pct", 40.0))


def test_snmp_v3_users_are_loaded_and_short_keys_refused(tmp_path):
    from topology.loader import check_topology, load_topology

    base = (TEST_DATA / "topologies" / "minimal.yaml").read_text()
    good = base + (
        "services:\n  snmp:\n    enabled: true\n    v3_users:\n"
        "      - {name: nms, auth_key: auth-secret-1, priv_key: priv-secret-1}\n"
    )
    path = tmp_path / "good.yaml"
    path.write_text(good)
    topology = load_topology(path)
    snmp = topology.services.snmp
    assert [u.name for u in snmp.v3_users] == ["nms"] and snmp.read_community is None
    shown = repr(topology)  # Thespian logs the repr of an Init message whose handler fails
    assert "auth-secret-1" not in shown and "priv-secret-1" not in shown and "auth_key='***'" in shown
    bad = good.replace("priv-secret-1", "short")
    path.write_text(bad)
    problems = check_topology(path)
    assert [p.line for p in problems] == [len(bad.splitlines())]
    assert "priv_key: must be at least 8 characters" in problems[0].message


def test_traps_need_a_community_and_not_a_well_known_one(tmp_path):
    from topology.loader import check_topology

    base = (TEST_DATA / "topologies" / "minimal.yaml").read_text()
    users = "    v3_users:\n      - {name: nms, auth_key: auth-secret-1, priv_key: priv-secret-1}\n"
    path = tmp_path / "t.yaml"
    path.write_text(
        base + "services:\n  snmp:\n    enabled: true\n" + users + "    trap_receivers: ['127.0.0.1:162']\n"
    )
    assert any("trap_community" in p.message for p in check_topology(path))
    path.write_text(
        base
        + "services:\n  snmp:\n    enabled: true\n"
        + users
        + "    trap_receivers: ['127.0.0.1:162']\n    trap_community: public\n"
    )
    assert any("well-known" in p.message for p in check_topology(path))
    path.write_text(
        base
        + "services:\n  snmp:\n    enabled: true\n"
        + users
        + "    trap_receivers: ['127.0.0.1:162']\n    trap_community: nms-traps-7\n"
    )
    assert check_topology(path) == []
