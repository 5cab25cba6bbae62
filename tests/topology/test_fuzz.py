"""Fuzzing the topology loader: whatever the file holds, a list of problems or a valid model.

Hypothesis generates random YAML trees, random text and mutations of the repository's
topology.yaml (keys deleted, values of the wrong type, huge or hostile values, random text
spliced in). The loader must never raise anything but `TopologyError`, and every problem
must be one short line at a line of the file. The example counts are bounded so that the
whole module runs in a few seconds.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battery.site import Topology
from topology import loader
from topology.loader import TopologyError, load_topology

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "topology.yaml").read_text()
DEMO = yaml.safe_load(DEMO_TEXT)
LONGEST_MESSAGE = 400
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML 1.1 also breaks lines at NEL, LS and PS

FUZZ = settings(
    max_examples=60,
    deadline=None,  # a shared test machine can pause any example
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SCHEMA_KEYS = sorted(
    {"gateway", "buses", "upses", "strings", "battery", "master_controller", "services", "storage"}
    | {k for name in dir(loader) if name.endswith("_KEYS") for k in getattr(loader, name)}
)
# Pieces of YAML spliced in as a value: each one once crashed a loader or could.
HOSTILE_YAML = [
    "9" * 5000, "0x" + "f" * 5000, "0b" + "1" * 100, "1:" * 50 + "1", "1e999", "-.inf", ".nan", "2001-13-45",
    "2001-12-14t21:59:43.1" + "0" * 2000, "[" * 200 + "]" * 200, "{a: " * 50 + "1" + "}" * 50, "*nowhere",
    "&loop [*loop]", "!!python/object/apply:os.system [true]", "!custom x", "!!binary aGVsbG8=", "!!set {a}",
    "'" + "x" * 20_000 + "'", "\"\\u0000\"", "~", "[]", "{}", "''", "'²'", "'127.0.0.1:²'", "'socket://h:99999'",
    "'/dev/" + "x" * 3000 + "'", "'sim://'", "'public'", "yes", "0o17", "+12_345", "-0",
]  # fmt: skip
MARK = "fuzz-splice-"  # a dumped placeholder, replaced by raw YAML after the dump

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40), st.sampled_from(SCHEMA_KEYS),
    st.integers(1000, 3000).map(lambda n: "a" * n),
)  # fmt: skip
keys = st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=20))
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=20,
)


def assert_problems_or_model(path: Path) -> None:
    """The property: a Topology, or TopologyError whose problems are short lines of the file."""
    try:
        topology = load_topology(path)
    except TopologyError as error:
        assert error.problems, "a TopologyError without problems"
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = len(YAML_LINE_BREAK.findall(text)) + 1
        for problem in error.problems:
            assert problem.file == str(path)
            assert problem.line is None or 1 <= problem.line <= lines, problem
            assert problem.message and "\n" not in problem.message, problem
            assert len(problem.message) < LONGEST_MESSAGE, problem.message[:200]
        return
    assert isinstance(topology, Topology)
    assert pickle.loads(pickle.dumps(topology)) == topology  # an Init message must carry it


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "topology.yaml"


@FUZZ
@given(tree=trees)
def test_random_yaml_trees(fuzz_file: Path, tree: Any) -> None:
    fuzz_file.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert_problems_or_model(fuzz_file)


@FUZZ
@given(tree=st.dictionaries(st.sampled_from(SCHEMA_KEYS[:8]), trees, max_size=6))
def test_random_trees_under_the_top_level_keys(fuzz_file: Path, tree: Any) -> None:
    fuzz_file.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert_problems_or_model(fuzz_file)


def _places(node: Any, path: tuple = ()) -> list[tuple]:
    """Every key or index path inside the demo's data."""
    found = [path] if path else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += _places(child, (*path, key))
    return found


PLACES = _places(DEMO)


def _mutate(data: Any, place: tuple, how: str, value: Any) -> None:
    """Delete or replace the value at `place`, if an earlier mutation left it there."""
    *parents, last = place
    holder = data
    for key in parents:
        if not _holds(holder, key):
            return
        holder = holder[key]
    if not _holds(holder, last):
        return
    if how == "delete":
        del holder[last]
    else:
        holder[last] = value


def _holds(holder: Any, key: Any) -> bool:
    if isinstance(holder, dict):
        return key in holder
    return isinstance(holder, list) and isinstance(key, int) and key < len(holder)


@FUZZ
@given(
    mutations=st.lists(
        st.tuples(
            st.sampled_from(PLACES),
            st.sampled_from(["delete", "replace"]),
            st.one_of(trees, st.sampled_from(range(len(HOSTILE_YAML))).map(lambda n: f"{MARK}{n}")),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutations_of_the_demo_topology(fuzz_file: Path, mutations: list) -> None:
    data = yaml.safe_load(DEMO_TEXT)
    for place, how, value in mutations:
        _mutate(data, place, how, value)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
    for n, raw in enumerate(HOSTILE_YAML):
        text = text.replace(f"{MARK}{n}\n", raw + "\n")
    fuzz_file.write_text(text)
    assert_problems_or_model(fuzz_file)


@FUZZ
@given(
    splices=st.lists(
        st.tuples(st.integers(0, len(DEMO_TEXT)), st.integers(0, 40), st.text(max_size=30)), min_size=1, max_size=3
    )
)
def test_random_text_spliced_into_the_demo_file(fuzz_file: Path, splices: list) -> None:
    text = DEMO_TEXT
    for at, cut, inserted in splices:
        text = text[:at] + inserted + text[at + cut :]
    fuzz_file.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_problems_or_model(fuzz_file)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes(fuzz_file: Path, raw: bytes) -> None:
    fuzz_file.write_bytes(raw)
    assert_problems_or_model(fuzz_file)


def test_the_unmutated_demo_is_a_model(fuzz_file: Path) -> None:
    fuzz_file.write_text(DEMO_TEXT)
    assert isinstance(load_topology(fuzz_file), Topology)
